/**
 * The handler API: what runs inside a job — TrueNAS's `@job` decorator and job object.
 * A handler is an async function of a {@link JobContext}: it reports progress, honours pause
 * points and speed, and is cancelled at its next pause point. Options give it a lock, a
 * description derived from its params, secret params, and finalize hooks.
 */
import type { z } from 'zod';
import type { OnError } from '../../machines/index.js';
import type { JobPipes, PipeOptions } from '../pipes/api.js';

export type { InputCount, JobPipes, PipeInput, PipeOptions, PipeOutput } from '../pipes/api.js';

/** Thrown at a pause point once the job is cancelled; a handler should let it propagate. */
export class JobCancelledError extends Error {
  constructor() {
    super('Operation canceled');
    this.name = 'JobCancelledError';
  }
}

/** How a converging job's ready phase ended. */
export type ReadyOutcome = 'complete' | 'cancel';

/** A job's own log (kept with the job; JobInfo carries an excerpt). Secret params are masked. */
export interface JobLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What finalize hooks see. `scratch` is the object the handler filled in. */
export interface FinalizeContext<P = Record<string, unknown>> {
  readonly id: string;
  readonly owner: string;
  readonly type: string;
  readonly params: P;
  readonly scratch: Record<string, unknown>;
  /** The job was soft-cancelled in ready: finish without putting the result in place. */
  readonly softCancelled: boolean;
  readonly log: JobLog;
}

/**
 * Finalize hooks, QEMU's: `prepare` is the fallible first half (it may be async; a failure
 * aborts the whole transaction); then `commit` (success) or `abort` (failure, cancel), then
 * `clean`. These three are synchronous and must not fail, as in QEMU: do slow or fallible work
 * in the handler or in `prepare`, and leave only renames and removals for them.
 */
export interface JobHooks<P> {
  prepare?(job: FinalizeContext<P>): Promise<void>;
  commit?(job: FinalizeContext<P>): void;
  abort?(job: FinalizeContext<P>): void;
  clean?(job: FinalizeContext<P>): void;
}

/** A job started by another job (TrueNAS's `wrap`): its id and its final JobInfo. */
export interface WrappedJob {
  id: string;
  result: unknown;
}

export interface JobContext<P = Record<string, unknown>> {
  readonly id: string;
  readonly owner: string;
  readonly type: string;
  readonly params: P;
  /** The on-error policy the job was started with. */
  readonly onError: OnError;
  /** The job's current speed limit (units per second; 0 = unlimited), as set at start or by job-set-speed. */
  readonly speed: number;
  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal;
  /** The job's own log. */
  readonly log: JobLog;
  /**
   * Set when the handler runs again after a service restart (types with `resumable`): the
   * progress the job had reached. `scratch` holds what the handler put there before.
   */
  readonly resumed?: { readonly progress?: { readonly current: number; readonly total: number } };
  /** Shared with the finalize hooks: put there what commit and abort need (e.g. a temp path). */
  readonly scratch: Record<string, unknown>;
  /**
   * Report progress; `current` never goes back. Call it as often as you like: the statechart
   * gets at most one update per 50 ms, and the last one before ready, done or failed.
   */
  progress(current: number, total: number): void;
  /** Say what the job is doing (TrueNAS's set_description). */
  setDescription(description: string): void;
  /** Wait while the job is paused; throws {@link JobCancelledError} once it is cancelled. */
  pausePoint(): Promise<void>;
  /** Account `units` of work against the job's speed, sleeping as the limit says; then a pause point. */
  throttle(units: number): Promise<void>;
  /** Sleep `ms`, cut short by cancel; then a pause point. */
  sleep(ms: number): Promise<void>;
  /**
   * Enter `ready` (the work has converged) and wait until job-complete — `'complete'` — or a
   * soft cancel — `'cancel'`: finish without completing. A forced cancel throws.
   */
  ready(): Promise<ReadyOutcome>;
  /**
   * An I/O error, handled by the job's on-error policy: emits JOB_ERROR; `report` throws
   * `error` (the job fails); `stop` pauses the job as a user pause and returns once it is
   * resumed; `ignore` returns at once. Returning means: retry the operation.
   */
  ioError(operation: 'read' | 'write', error: unknown): Promise<void>;
  /**
   * Start another job as the same owner, wait for it, and mirror its progress into this one
   * (TrueNAS's `wrap`). Resolves to its result; throws its error. Cancelling this job cancels it.
   */
  wrap(type: string, params?: Record<string, unknown>): Promise<WrappedJob>;
  /**
   * The job's input files, read in order, and its output (TrueNAS's `job.pipes`): what the
   * caller uploaded and downloads. Empty for a job started without pipes.
   */
  readonly pipes: JobPipes;
}

export type JobHandler<P = Record<string, unknown>> = (job: JobContext<P>) => Promise<unknown>;

export interface JobOptions<P> {
  /** The schema of the job's params; errors are reported with QEMU's texts. */
  params: z.ZodType<P>;
  /** The job's description when the caller gives none, derived from its params. */
  description?: (params: P) => string;
  /** Jobs with the same lock name run one at a time, the rest queue FIFO (TrueNAS's `lock`). */
  lock?: string | ((params: P) => string);
  /**
   * How many jobs of one owner may wait for one lock; past that, job-start answers with the
   * id of that owner's last queued job instead of a new one (TrueNAS's `lock_queue_size`).
   * Never another owner's job.
   */
  lockQueueSize?: number;
  /** Params whose values are masked in JobInfo and in logs. */
  secrets?: readonly string[];
  /**
   * After a service restart, a job of this type whose work was going is run again (its
   * handler sees {@link JobContext.resumed}); otherwise it fails with `Interrupted by service
   * restart`. @defaultValue false
   */
  resumable?: boolean;
  hooks?: JobHooks<P>;
  /** The input files and output the type takes (TrueNAS's `pipes`); job-start checks its `pipes` argument against them. */
  pipes?: PipeOptions<P>;
}

/** A job type: its name, options and handler. */
export interface JobType<P = Record<string, unknown>> extends JobOptions<P> {
  readonly type: string;
  readonly handler: JobHandler<P>;
}

/**
 * Declare a job type.
 * @example
 * const sleep = defineJob('sleep', { params: z.strictObject({ ms: z.number() }) }, async (job) => {
 *   await job.sleep(job.params.ms);
 * });
 */
export function defineJob<P>(type: string, options: JobOptions<P>, handler: JobHandler<P>): JobType<P> {
  return { type, ...options, handler };
}
