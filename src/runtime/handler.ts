/**
 * The handler API: what runs inside a job (TrueNAS's `@job` method and its job object).
 * A handler is an async function of a {@link JobContext}; it reports progress, honours pause
 * points and speed, and is cancelled at its next pause point.
 */
import type { z } from 'zod';

/** Thrown at a pause point once the job is cancelled; a handler should let it propagate. */
export class JobCancelledError extends Error {
  constructor() {
    super('Operation canceled');
    this.name = 'JobCancelledError';
  }
}

/** How a converging job's ready phase ended. */
export type ReadyOutcome = 'complete' | 'cancel';

export interface JobContext<P = Record<string, unknown>> {
  readonly id: string;
  readonly owner: string;
  readonly type: string;
  readonly params: P;
  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal;
  /** Report progress; `current` never goes back. */
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
}

export type JobHandler<P = Record<string, unknown>> = (job: JobContext<P>) => Promise<unknown>;

/** A job type: its name, the schema of its params, and its handler. */
export interface JobType<P = Record<string, unknown>> {
  readonly type: string;
  readonly params: z.ZodType<P>;
  readonly handler: JobHandler<P>;
}

/**
 * Declare a job type.
 * @example
 * const sleep = defineJob('sleep', z.strictObject({ ms: z.number() }), async (job) => {
 *   await job.sleep(job.params.ms);
 * });
 */
export function defineJob<P>(type: string, params: z.ZodType<P>, handler: JobHandler<P>): JobType<P> {
  return { type, params, handler };
}
