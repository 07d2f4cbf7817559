/**
 * jobctl's exit codes, and the translation of every failure (service error replies, NATS
 * connection, permission and request errors) into one line that says what to do.
 */
import { errors } from '@nats-io/transport-node';
import { JOB_ID_RULE } from '../protocol/subjects.js';
import { JobsError, PipeError } from '../sdk/index.js';

export const ExitCode = {
  ok: 0,
  /** The job failed or was cancelled; or the service refused the command (404, 408, 409). */
  failed: 1,
  /** Bad command line, or arguments the service rejected (400). */
  usage: 2,
  /** No NATS server, no service on the prefix, no answer in time, or the service shutting down (503). */
  unreachable: 3,
  /** The NATS server refused the credentials, or a publish or subscription (permissions). */
  denied: 4,
  /** An internal error of the service (500) or of jobctl itself. */
  internal: 5,
  /** A second Ctrl-C: jobctl stopped waiting. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_HELP: Array<[string, string]> = [
  ['0', 'success'],
  ['1', 'the job failed or was cancelled, or the service refused the command (not found, wrong state, wait timed out)'],
  ['2', 'usage error: bad command line, or arguments the service rejected'],
  ['3', 'cannot reach the service: no NATS server, no service on that prefix, no answer in time, shutting down'],
  ['4', 'permission denied by the NATS server (credentials, or a subject the account may not use)'],
  ['5', 'internal error (of the service or of jobctl)'],
  ['130', 'interrupted: a second Ctrl-C while waiting'],
];

/** A failure with the text to print (after `jobctl: `) and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Where {
  server: string;
  serverSource: string;
  prefix: string;
  timeoutMs: number;
}

const CODE_EXIT: Record<number, ExitCode> = { 400: ExitCode.usage, 404: ExitCode.failed, 408: ExitCode.failed, 409: ExitCode.failed, 413: ExitCode.failed, 503: ExitCode.unreachable };

/** Any error as a {@link CliError}. */
export function toCliError(err: unknown, where: Where): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof JobsError) return new CliError(explain(err), CODE_EXIT[err.code] ?? ExitCode.internal);
  const chain = causes(err);
  const denied = chain.find((e): e is InstanceType<typeof errors.PermissionViolationError> => e instanceof errors.PermissionViolationError);
  if (denied) {
    const verb = denied.operation === 'publish' ? 'publish to' : 'subscribe to';
    return new CliError(`permission denied: the NATS server does not let this account ${verb} '${denied.subject}'`, ExitCode.denied);
  }
  const auth = chain.find((e) => e instanceof errors.AuthorizationError || e instanceof errors.UserAuthenticationExpiredError);
  if (auth) {
    return new CliError(`NATS at ${where.server} refused the credentials (${auth.message}): check --user, --password/JOBS_PASSWORD or --creds`, ExitCode.denied);
  }
  // A transfer that failed: the job's error, a digest that did not match, a job that is gone.
  if (err instanceof PipeError) return new CliError(err.message, ExitCode.failed);
  const noResponders = chain.find((e): e is InstanceType<typeof errors.NoRespondersError> => e instanceof errors.NoRespondersError);
  if (noResponders) {
    return new CliError(
      `no jobstate service answers on prefix '${where.prefix}' at ${where.server} (no responders for ${noResponders.subject}): ` +
        `start it with 'jobctl serve' (JOBS_PREFIX=${where.prefix}), or pass the prefix it uses with --prefix`,
      ExitCode.unreachable,
    );
  }
  if (chain.some((e) => e instanceof errors.TimeoutError)) {
    return new CliError(`the service did not answer within ${where.timeoutMs} ms (at ${where.server}, prefix '${where.prefix}'): raise --timeout, or check the service`, ExitCode.unreachable);
  }
  if (chain.some((e) => e instanceof errors.ConnectionError || isSocketError(e))) return unreachable(where);
  const e = err instanceof Error ? err : new Error(String(err));
  return new CliError(`internal error: ${e.message}`, ExitCode.internal);
}

/**
 * The service's text (QEMU's, kept as the start of the line) with what jobctl knows besides:
 * the id of a job that is not there, the rule an invalid id broke.
 */
function explain(err: JobsError): string {
  if (err.message === 'Job not found' && err.id !== undefined) return `Job not found: no job '${err.id}' (see 'jobctl query')`;
  if (err.message.startsWith("Invalid job ID '")) return `${err.message}: ${JOB_ID_RULE}`;
  return err.message;
}

/** The message for a NATS server that cannot be reached. */
export function unreachable(where: Where): CliError {
  const from = where.serverSource === '--server' ? '' : ` (from ${where.serverSource})`;
  return new CliError(
    `cannot reach NATS at ${where.server}${from}: is the service running? Start it with 'npm start' or 'jobctl serve', or set NATS_URL`,
    ExitCode.unreachable,
  );
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && out.length < 8; e = e instanceof Error ? e.cause : undefined) out.push(e);
  return out;
}

function isSocketError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT)$/.test(code);
}
