/**
 * The inside of a running job: turns the commands of the job statechart (pause, resume,
 * cancel, complete, set-speed) into the behaviour of a {@link JobContext} — pause points,
 * the rate limit, ready/complete, the on-error policy, locks, wrap — and reports back.
 */
import type { WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import { OnError } from '../../machines/index.js';
import { JobCancelledError } from './handler.js';
import type { JobContext, ReadyOutcome, WrappedJob } from './handler.js';
import { HandlerContext } from './handler-context.js';
import type { HandlerWork } from './handler-context.js';
import type { LockManager } from './locks.js';
import { RateLimiter } from './rate-limit.js';
import { lockOf } from './run.js';
import type { Run, Work } from './run.js';

/** What a job's work needs from the place it runs in (the service's runtime, or a worker). */
export interface WorkPlace {
  /** The locks its jobs share. */
  readonly locks: LockManager;
}

/** How often progress reaches the statechart at most (JOB_PROGRESS is published at most every 100 ms). */
export const PROGRESS_EVERY_MS = 50;

export class WorkControl implements Work, HandlerWork {
  readonly #abort = new AbortController();
  readonly #limiter: RateLimiter;
  #paused: boolean;
  /** The pause points parked while paused: resume (or cancel) wakes every one (made at the first). */
  #parked: Set<() => void> | undefined;
  #readyWaiter: ((outcome: ReadyOutcome) => void) | undefined;
  #completeRequested = false;
  #current = 0;
  #total = 0;
  #progressSentAt = -Infinity;
  /** Set while a progress report is held back. */
  #progressTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The handler returned or threw. */
  #settled = false;

  constructor(
    readonly input: WorkInput,
    private readonly job: Run,
    private readonly place: WorkPlace,
    private readonly report: (event: WorkReport) => void,
    /** Set when the handler runs again after a service restart. */
    private readonly resumed?: JobContext['resumed'],
  ) {
    this.#paused = input.paused;
    this.#limiter = new RateLimiter(input.speed);
  }

  /** Handle a command from the statechart. */
  command(command: WorkCommand): void {
    switch (command.type) {
      case 'pause':
        this.#paused = true;
        this.#flushProgress();
        return;
      case 'resume':
        this.#paused = false;
        for (const wake of [...(this.#parked ?? [])]) wake();
        return;
      case 'set-speed':
        this.#limiter.setSpeed(command.speed);
        return;
      case 'complete':
        this.#completeRequested = true;
        this.#readyWaiter?.('complete');
        return;
      case 'cancel':
        if (command.force) this.#cancel();
        else {
          this.job.softCancelled = true;
          this.#readyWaiter?.('cancel');
        }
        return;
    }
  }

  /** The statechart stopped the work (the job concluded or the service stops). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#progressTimer);
    // Work that already ended has nothing left to cancel (and an abort costs an error object).
    if (!this.#settled) this.#cancel();
    this.job.release?.();
  }

  /** Take the job's lock (if its type has one), then run its handler after the first pause point. */
  async run(): Promise<void> {
    try {
      await this.#lock();
      await this.pausePoint();
      const result = await this.job.type.handler(new HandlerContext(this, this.job, this.resumed));
      // Work whose output was not stored did not succeed: the job fails with the pipe's error.
      await this.job.pipes?.outputStored();
      this.#settled = true;
      this.#flushProgress();
      this.#send({ type: 'work.done', result });
    } catch (err) {
      this.#settled = true;
      this.#flushProgress();
      this.#send({ type: 'work.failed', error: err instanceof Error ? err.message : String(err) });
    }
  }

  async pausePoint(): Promise<void> {
    this.#throwIfCancelled();
    while (this.#paused) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#parked?.delete(wake);
          this.#abort.signal.removeEventListener('abort', wake);
          resolve();
        };
        (this.#parked ??= new Set()).add(wake);
        this.#abort.signal.addEventListener('abort', wake, { once: true });
      });
      this.#throwIfCancelled();
    }
  }

  async #lock(): Promise<void> {
    const name = lockOf(this.job.type, this.job.params);
    if (name === undefined) return;
    const { locks } = this.place;
    const holder = locks.holder(name);
    if (holder !== undefined) this.job.log.info(`waiting for lock '${name}'`);
    try {
      this.job.release = await locks.acquire(name, this.job.id, this.job.owner, this.#abort.signal);
    } catch {
      throw new JobCancelledError();
    }
  }

  // What follows is the handler's side: its JobContext (handler-context.ts) calls these.

  /** The abort signal of the work: aborted when the job is cancelled. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The job's current speed limit. */
  get speed(): number {
    return this.#limiter.speed;
  }

  setDescription(description: string): void {
    this.#send({ type: 'work.description', description });
  }

  async throttle(units: number): Promise<void> {
    await this.#limiter.consume(units, this.#abort.signal);
    await this.pausePoint();
  }

  async sleep(ms: number): Promise<void> {
    await sleep(ms, this.#abort.signal);
    await this.pausePoint();
  }

  /** Enter ready (see {@link JobContext.ready}). */
  async ready(): Promise<ReadyOutcome> {
    await this.pausePoint();
    if (this.job.softCancelled) return 'cancel';
    if (this.#completeRequested) return 'complete';
    this.#flushProgress();
    this.#send({ type: 'work.ready' });
    const outcome = await new Promise<ReadyOutcome>((resolve) => {
      this.#readyWaiter = resolve;
      this.#abort.signal.addEventListener('abort', () => resolve('cancel'), { once: true });
    });
    this.#readyWaiter = undefined;
    // Pausing in ready (standby) holds the job here until it is resumed.
    await this.pausePoint();
    return outcome;
  }

  async ioError(operation: 'read' | 'write', error: unknown): Promise<void> {
    const action = this.job.onError;
    const message = error instanceof Error ? error.message : String(error);
    this.job.log.warn(`${operation} error (${action}): ${message}`);
    this.#send({ type: 'work.error', operation, action });
    if (action === OnError.report) throw error instanceof Error ? error : new Error(message);
    // 'stop': the statechart has paused the job as a user pause; wait here for job-resume.
    await this.pausePoint();
  }

  async wrap(type: string, params: Record<string, unknown>): Promise<WrappedJob> {
    const jobs = this.job.jobs;
    if (!jobs) throw new Error('wrap needs the job service');
    const { owner } = this.job;
    const id = jobs.start(owner, type, params);
    this.job.log.info(`started job '${id}' (${type}) and waits for it`);
    const unfollow = jobs.onProgress(owner, id, (current, total) => {
      this.#current = Math.max(this.#current, current);
      this.#send({ type: 'work.progress', current: this.#current, total });
    });
    const cancel = () => jobs.cancel(owner, id);
    this.#abort.signal.addEventListener('abort', cancel, { once: true });
    try {
      const info = await jobs.wait(owner, id);
      this.#throwIfCancelled();
      if (info.error !== undefined) throw new Error(info.error);
      return { id, result: info.result };
    } finally {
      unfollow();
      this.#abort.signal.removeEventListener('abort', cancel);
    }
  }

  /**
   * Progress goes to the statechart at most every {@link PROGRESS_EVERY_MS} (a copy reports
   * per chunk; the statechart needs far fewer); the last value is flushed before the work
   * reports ready, done or failed, and whenever the job pauses.
   */
  progress(current: number, total: number): void {
    this.#current = Math.max(this.#current, current);
    this.#total = total;
    const wait = PROGRESS_EVERY_MS - (performance.now() - this.#progressSentAt);
    if (wait > 0 && this.#current < total) {
      // Held, and sent when its time comes if nothing else sends it first.
      this.#progressTimer ??= setTimeout(() => this.#flushProgress(), wait);
      return;
    }
    this.#sendProgress();
  }

  #flushProgress(): void {
    if (this.#progressTimer !== undefined) this.#sendProgress();
  }

  #sendProgress(): void {
    clearTimeout(this.#progressTimer);
    this.#progressTimer = undefined;
    this.#progressSentAt = performance.now();
    this.#send({ type: 'work.progress', current: this.#current, total: this.#total });
  }

  #cancel(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort(new JobCancelledError());
  }

  #throwIfCancelled(): void {
    if (this.#abort.signal.aborted) throw new JobCancelledError();
  }

  #send(event: WorkReport): void {
    if (!this.#stopped) this.report(event);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
