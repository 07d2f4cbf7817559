/**
 * Replay wire paths against a live service over NATS, with the SDK: each step's command is
 * sent, its reply compared, and the events published for the path's jobs compared with the
 * expected ones, job by job, in order. The first difference ends the path and is reported
 * exactly: path, step, command, what was expected, what came. Every job a path started is
 * cancelled and dismissed afterwards, whatever happened.
 */
import type { Subscription } from '@nats-io/transport-node';
import { JobEventName } from '../../machines/index.js';
import { JobsError } from '../sdk/index.js';
import type { CommandArgs, JobsClient } from '../sdk/index.js';
import type { Command } from '../protocol/subjects.js';
import { ANY_ERROR } from './twin.js';
import type { WireEvent, WireReply, WireStep } from './twin.js';
import type { WirePath } from './paths.js';

export interface Mismatch {
  /** The path's name ({@link WirePath.name}). */
  path: string;
  /** The step, from 1. */
  step: number;
  /** The command of that step and its arguments. */
  command: string;
  args: Record<string, unknown>;
  /** `reply`, `event` (a different or missing event), `extra event` (one that should not come). */
  what: 'reply' | 'event' | 'extra event';
  expected: unknown;
  got: unknown;
  /** One line: `#12 hold: … step 3 job-dismiss {"id":"x"}: reply expected …, got …`. */
  message: string;
}

export interface PathResult {
  path: WirePath;
  /** How many steps matched (all of them when it passed). */
  passed: number;
  mismatch?: Mismatch;
}

export interface ReplayOptions {
  /** Paths replayed at once. @defaultValue 8 */
  concurrency?: number;
  /** How long the events of one step may take to come. @defaultValue 5000 */
  settleMs?: number;
  /** After a path, how long to watch for events that should not come. @defaultValue 25 */
  quietMs?: number;
  /** Called after each path. */
  onResult?: (result: PathResult) => void;
}

type Got = { ok: true; return: unknown } | { ok: false; code: number; message: string };

async function send(client: JobsClient, step: WireStep): Promise<Got> {
  try {
    return { ok: true, return: await client.request(step.command as Command, step.args as CommandArgs<Command>) };
  } catch (err) {
    if (err instanceof JobsError) return { ok: false, code: Number(err.code), message: err.message };
    return { ok: false, code: 0, message: `no reply: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function replyMatches(expected: WireReply, got: Got): boolean {
  if (expected.ok !== got.ok) return false;
  if (!expected.ok) return !got.ok && got.code === expected.code && got.message === expected.message;
  if (expected.return === undefined) return true;
  const ret = (got as { return: unknown }).return as Record<string, unknown> | undefined;
  return Object.entries(expected.return).every(([k, v]) => JSON.stringify(ret?.[k]) === JSON.stringify(v));
}

/** An event as received, as compared: the expected fields, and `error` whether expected or not. */
export function eventMatches(expected: WireEvent, got: WireEvent): boolean {
  if (expected.event !== got.event || expected.id !== got.id) return false;
  for (const [k, v] of Object.entries(expected.data)) {
    if (k === 'error' && v === ANY_ERROR) {
      if (typeof got.data.error !== 'string') return false;
    } else if (JSON.stringify(got.data[k]) !== JSON.stringify(v)) return false;
  }
  return expected.event !== JobEventName.completed || 'error' in expected.data === 'error' in got.data;
}

const brief = (e: WireEvent | undefined): string => (e ? `${e.event} ${JSON.stringify(e.data)}` : 'nothing');

/** The events of a path's jobs as they come, by job id (JOB_PROGRESS left out). */
class Inbox {
  readonly byJob = new Map<string, WireEvent[]>();
  /** Why a subscription ended (e.g. the broker refused it). */
  error: string | undefined;
  readonly #subs: Subscription[] = [];
  #wake: (() => void) | undefined;

  constructor(client: JobsClient, ids: readonly string[]) {
    for (const id of ids) {
      this.byJob.set(id, []);
      const sub = client.nc.subscribe(`${client.prefix}.evt.${client.user}.${id}.*`, {
        callback: (err, msg) => {
          if (err) {
            this.error ??= `the subscription to ${client.prefix}.evt.${client.user}.${id}.* failed: ${err.message}`;
            this.#wake?.();
            return;
          }
          const env = msg.json<{ event: JobEventName; data: Record<string, unknown> }>();
          if (env.event === JobEventName.progress) return;
          this.byJob.get(id)!.push({ id, event: env.event, data: env.data });
          this.#wake?.();
        },
      });
      this.#subs.push(sub);
    }
  }

  /** Until every job has at least `counts` events, or `ms` have passed. */
  async until(counts: ReadonlyMap<string, number>, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    const enough = () => this.error !== undefined || [...counts].every(([id, n]) => this.byJob.get(id)!.length >= n);
    while (!enough()) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  close(): void {
    for (const sub of this.#subs) sub.unsubscribe();
  }
}

/** Replay one path; resolves to how far it matched and the first mismatch. */
export async function replayPath(client: JobsClient, path: WirePath, options: ReplayOptions = {}): Promise<PathResult> {
  const settleMs = options.settleMs ?? 5000;
  const inbox = new Inbox(client, path.jobs);
  await client.nc.flush();
  const expected = new Map(path.jobs.map((id) => [id, [] as WireEvent[]]));
  const fail = (i: number, what: Mismatch['what'], exp: unknown, got: unknown): PathResult => {
    const step = path.steps[i]!;
    const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
    return {
      path,
      passed: i,
      mismatch: {
        path: path.name,
        step: i + 1,
        command: step.command,
        args: step.args,
        what,
        expected: exp,
        got,
        message: `${path.name}: step ${i + 1} ${step.command} ${JSON.stringify(step.args)}: ${what} expected ${text(exp)}, got ${text(got)}`,
      },
    };
  };
  /** The first difference between what came and what is expected so far. */
  const compare = (i: number, final: boolean): PathResult | undefined => {
    if (inbox.error) return fail(i, 'event', 'the events of the step', inbox.error);
    for (const [id, exp] of expected) {
      const got = inbox.byJob.get(id)!;
      for (let k = 0; k < exp.length; k++) {
        const g = got[k];
        if (!g || !eventMatches(exp[k]!, g)) {
          return fail(i, 'event', `${id}: ${brief(exp[k])} (event ${k + 1} of the job)`, `${id}: ${brief(got[k])}`);
        }
      }
      if (got.length > exp.length) {
        return fail(i, 'extra event', `${id}: ${final ? 'nothing more after the last step' : 'nothing more after this step'}`, `${id}: ${brief(got[exp.length])}`,
        );
      }
    }
    return undefined;
  };
  try {
    for (const [i, step] of path.steps.entries()) {
      const got = await send(client, step);
      if (!replyMatches(step.reply, got)) {
        const show = (r: WireReply | Got) => (r.ok ? 'ok' : `error ${r.code} '${r.message}'`);
        return fail(i, 'reply', show(step.reply), show(got));
      }
      for (const e of step.events) expected.get(e.id)!.push(e);
      await inbox.until(new Map([...expected].map(([id, evs]) => [id, evs.length])), settleMs);
      const diff = compare(i, false);
      if (diff) return diff;
    }
    await new Promise((resolve) => setTimeout(resolve, options.quietMs ?? 25));
    return compare(path.steps.length - 1, true) ?? { path, passed: path.steps.length };
  } finally {
    inbox.close();
    await cleanUp(client, path.jobs);
  }
}

/** Cancel, wait for and dismiss every job of a path, ignoring refusals (it may be gone already). */
export async function cleanUp(client: JobsClient, ids: readonly string[]): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.then(() => undefined, () => undefined);
  await Promise.all(ids.map((id) => quiet(client.cancel(id, { force: true }))));
  await Promise.all(
    ids.map(async (id) => {
      await quiet(client.wait(id, { timeoutMs: 10_000 }));
      await quiet(client.dismiss(id));
    }),
  );
}

/** Replay every path, `concurrency` at a time; results in the paths' order. */
export async function replayPaths(client: JobsClient, paths: readonly WirePath[], options: ReplayOptions = {}): Promise<PathResult[]> {
  const results: PathResult[] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < paths.length; i = next++) {
      results[i] = await replayPath(client, paths[i]!, options);
      options.onResult?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  return results;
}
