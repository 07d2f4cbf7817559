/**
 * One live job's run as the runtime keeps it, and the shapes around it: the work that runs
 * it, what handlers may ask of the service, what a store keeps of it. Types only (and the
 * few functions that read a run): the runtime, its work and its handler context all use them.
 */
import type { OnError, WorkCommand } from '../../machines/index.js';
import type { PipeSource } from '../pipes/api.js';
import type { FinalizeContext, JobHooks, JobType } from './handler.js';
import type { JobLogBuffer } from './job-log.js';
import type { SavedRun } from '../persist/records.js';
import { redact } from './job-log.js';

/** What a job's handler may ask of the service: other jobs (for `wrap`). */
export interface JobsApi {
  /** Start a job owned by `owner`; returns its id. Throws on bad params. */
  start(owner: string, type: string, params: Record<string, unknown>): string;
  /** Resolves with the job's final JobInfo once it concludes. */
  wait(owner: string, id: string): Promise<{ error?: string; result?: unknown }>;
  /** Force-cancel a job, if it can be. */
  cancel(owner: string, id: string): void;
  /** Follow a job's progress; returns a function that stops following. */
  onProgress(owner: string, id: string, listener: (current: number, total: number) => void): () => void;
}

/** One live job, from creation until it is forgotten: everything its work reads of it. */
export interface Run {
  readonly id: string;
  readonly owner: string;
  readonly type: JobType<unknown>;
  readonly params: Record<string, unknown>;
  readonly onError: OnError;
  readonly scratch: Record<string, unknown>;
  readonly log: JobLogBuffer;
  softCancelled: boolean;
  /** The job's pipes, when it was started with some. */
  readonly pipes?: PipeSource | undefined;
  /** Lets its handler start and wait for other jobs (wrap); none on a worker. */
  readonly jobs?: JobsApi | undefined;
  /** The job's work, from start until it is stopped. */
  work?: Work;
  /** Releases the job's lock; called at clean (or when the work stops). */
  release?: () => void;
  /** Restored after a restart: the remote worker its work was dispatched to, as its record says. */
  restoredWorker?: string;
}

/** What a run is opened with besides the job's input: where it reaches beyond itself. */
export interface RunLinks {
  pipes?: PipeSource | undefined;
  jobs?: JobsApi | undefined;
  /** Gets every line of the job's log (the log pipe). */
  logLines?: ((line: string) => void) | undefined;
}

/** A job's running work, as the statechart drives it: in-process a WorkControl. */
export interface Work {
  /** Handle a command from the statechart. */
  command(command: WorkCommand): void;
  /** Run the work; resolves once it has reported its outcome (never rejects). */
  run(): Promise<void>;
  /** The id of the remote worker running it, if it runs on one. */
  readonly workerId?: string;
  /** The statechart stopped the work (the job concluded or the service stops). */
  stop(): void;
  /**
   * The service stops but keeps the job, to restore it at its next start: let the work go on
   * where it runs, if it can (a remote worker keeps it for the service to re-attach it).
   * Without it, {@link stop}.
   */
  detach?(): void;
}

/** What JobInfo shows of a run: its params (secrets masked) and its log excerpt. */
export type RunInfo = { params?: Record<string, unknown>; 'logs-excerpt'?: string };

export function runInfo(run: Run): RunInfo {
  const excerpt = run.log.excerpt();
  return { params: redact(run.params, run.type.secrets), ...(excerpt !== undefined && { 'logs-excerpt': excerpt }) };
}

/** The lock a job of `type` with `params` takes, if its type has one. */
export function lockOf(type: JobType<unknown> | undefined, params: Record<string, unknown>): string | undefined {
  const lock = type?.lock;
  return typeof lock === 'function' ? lock(params) : lock;
}

/**
 * Run a job's commit, abort or clean hook. They must not fail; if one does — by throwing, or
 * by rejecting, since TypeScript lets an async function stand for a void one — the job's log
 * says so, and nothing else happens (an unhandled rejection would end the process).
 */
export function runHook(run: Run, name: Exclude<keyof JobHooks<unknown>, 'prepare'>): void {
  const hook = run.type.hooks?.[name];
  if (!hook) return;
  const failed = (err: unknown) => run.log.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  try {
    const returned: unknown = hook(finalizeContext(run));
    if (returned instanceof Promise) returned.catch(failed);
  } catch (err) {
    failed(err);
  }
}

/** What a type's finalize hooks see of a run. */
export function finalizeContext(run: Run): FinalizeContext<unknown> {
  return {
    id: run.id,
    owner: run.owner,
    type: run.type.type,
    params: run.params,
    scratch: run.scratch,
    softCancelled: run.softCancelled,
    log: run.log,
  };
}
