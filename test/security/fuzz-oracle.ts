/**
 * What the service must answer to a fuzzed request, decided before it is sent, and the
 * verdict on the reply once every reply is in (a verb may legitimately find a job that an
 * earlier request of the same caller started while both were in flight).
 */
import { ACCOUNT_RE, Command } from '../../src/protocol/subjects.js';
import { commandArgs } from '../../src/protocol/schemas.js';
import { decodePayload, validate } from '../../src/protocol/validate.js';
import type { Fuzzed } from './fuzz-gen.js';

/** Exactly this error; or arguments that pass validation, whose outcome depends on state. */
export type Expectation =
  | { kind: 'error'; code: number; desc: string; why: 'caller' | 'size' | 'invalid' }
  | { kind: 'valid'; args: { id?: string; owner?: string; 'timeout-ms'?: number } };

export function expectationFor(f: Fuzzed, maxPayload: number): Expectation {
  if (!ACCOUNT_RE.test(f.caller)) return { kind: 'error', code: 400, desc: 'Invalid caller in the command subject', why: 'caller' };
  if (f.payload.length > maxPayload) return { kind: 'error', code: 400, desc: `Payload is too large (max ${maxPayload} bytes)`, why: 'size' };
  try {
    const args = validate(commandArgs[f.command], decodePayload(f.payload)) as Extract<Expectation, { kind: 'valid' }>['args'];
    // Keep only what the verdict needs, bounded: the test holds thousands of these.
    const clip = (s: string | undefined) => (s !== undefined && s.length > 200 ? '(long)' : s);
    const id = clip(args.id);
    const owner = clip(args.owner);
    const timeout = args['timeout-ms'];
    return {
      kind: 'valid',
      args: { ...(id !== undefined && { id }), ...(owner !== undefined && { owner }), ...(timeout !== undefined && { 'timeout-ms': timeout }) },
    };
  } catch (err) {
    return { kind: 'error', code: 400, desc: (err as Error).message.slice(0, 4096), why: 'invalid' };
  }
}

/** A job-wait that may take as long as a job: sent aside, answered once the jobs are ended. */
export function mayBlock(f: Fuzzed, e: Expectation): boolean {
  if (f.command !== Command.jobWait || e.kind !== 'valid') return false;
  const own = e.args.owner === undefined || e.args.owner === f.caller;
  const timeout = e.args['timeout-ms'];
  return own && (timeout === undefined || timeout > 1000);
}

export interface Reply {
  /** The header code, or 'ok' for a success. */
  outcome: string;
  desc?: string;
  value?: unknown;
}

/** Parse a raw reply; throws with what is wrong with its shape. */
export function parseReply(body: string, headers: Record<string, string>): Reply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`reply is not JSON: ${body.slice(0, 200)}`);
  }
  const keys = typeof parsed === 'object' && parsed !== null ? Object.keys(parsed).join() : '';
  if (keys === 'return') {
    if (headers['Nats-Service-Error-Code'] !== undefined) throw new Error('a success with an error code header');
    return { outcome: 'ok', value: (parsed as { return: unknown }).return };
  }
  if (keys !== 'error') throw new Error(`neither return nor error: ${body.slice(0, 200)}`);
  const error = (parsed as { error: { class?: unknown; desc?: unknown } }).error;
  if (Object.keys(error).sort().join() !== 'class,desc' || error.class !== 'GenericError' || typeof error.desc !== 'string') {
    throw new Error(`bad error object: ${body.slice(0, 200)}`);
  }
  const code = headers['Nats-Service-Error-Code'];
  if (code === undefined || headers['Nats-Service-Error'] === undefined) throw new Error('an error without the service headers');
  if (/[\r\n]/.test(headers['Nats-Service-Error'])) throw new Error('a multi-line Nats-Service-Error header');
  return { outcome: code, desc: error.desc };
}

const BY_ID: readonly Command[] = [
  Command.jobPause,
  Command.jobResume,
  Command.jobCancel,
  Command.jobComplete,
  Command.jobFinalize,
  Command.jobDismiss,
  Command.jobSetSpeed,
  Command.jobLog,
  Command.jobDownloadLog,
];

/**
 * What is wrong with `reply` as the answer to `f`, or undefined. `started` holds every id the
 * caller had a job started under during the whole run.
 */
export function verdict(f: Pick<Fuzzed, 'command' | 'caller'>, e: Expectation, reply: Reply, started: ReadonlySet<string>): string | undefined {
  const is = (outcome: string, desc?: string) => reply.outcome === outcome && (desc === undefined || reply.desc === desc);
  const got = () => `got ${reply.outcome}${reply.desc === undefined ? '' : ` ${JSON.stringify(reply.desc.slice(0, 160))}`}`;
  if (e.kind === 'error') return is(String(e.code), e.desc) ? undefined : `expected ${e.code} ${JSON.stringify(e.desc.slice(0, 160))}, ${got()}`;

  const foreign = e.args.owner !== undefined && e.args.owner !== f.caller;
  const known = e.args.id !== undefined && started.has(e.args.id);
  switch (f.command) {
    case Command.queryJobs: {
      if (!is('ok') || !Array.isArray(reply.value)) return `expected a list, ${got()}`;
      const jobs = reply.value as Array<{ owner?: unknown }>;
      if (jobs.some((j) => j.owner !== f.caller)) return `listed another owner's job to ${f.caller}`;
      if (foreign && jobs.length > 0) return `a foreign owner filter listed ${jobs.length} jobs`;
      return undefined;
    }
    case Command.queryJobTypes: {
      // The same for everyone: the types, nobody's jobs.
      if (!is('ok') || !Array.isArray(reply.value)) return `expected the list of job types, ${got()}`;
      const types = reply.value as Array<{ type?: unknown; runs?: unknown; params?: unknown }>;
      return types.every((t) => typeof t.type === 'string' && (t.runs === 'local' || t.runs === 'remote') && typeof t.params === 'object')
        ? undefined
        : `expected {type, runs, params} entries, ${got()}`;
    }
    case Command.jobStart:
    case Command.transaction:
      return is('ok') || is('400') || is('409') ? undefined : `expected a start, 400 or 409, ${got()}`;
    case Command.jobWait:
      if (foreign || !known) return is('404', 'Job not found') ? undefined : `expected Job not found, ${got()}`;
      return is('ok') || is('404', 'Job not found') || is('408', `Timed out waiting for job '${e.args.id}'`) ? undefined : `expected a JobInfo, 404 or 408, ${got()}`;
    default:
      if (!BY_ID.includes(f.command)) return `unknown command ${f.command}`;
      if (foreign || !known) return is('404', 'Job not found') ? undefined : `expected Job not found, ${got()}`;
      return is('ok') || is('404', 'Job not found') || is('409') || is('400', "Parameter 'speed' expects a non-negative value")
        ? undefined
        : `expected success, 404, 409 or a negative speed, ${got()}`;
  }
}
