/**
 * The inside of a running job: turns the commands of the job statechart (pause, resume,
 * cancel, complete, set-speed) into the behaviour of a {@link JobContext}, and reports back.
 */
import type { WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import { JobCancelledError } from './handler.js';
import type { JobContext, JobHandler, ReadyOutcome } from './handler.js';
import { RateLimiter } from './rate-limit.js';

export class WorkControl {
  readonly #abort = new AbortController();
  readonly #limiter: RateLimiter;
  #paused: boolean;
  /** The pause points parked while paused: resume (or cancel) wakes every one. */
  readonly #parked = new Set<() => void>();
  #readyWaiter: ((outcome: ReadyOutcome) => void) | undefined;
  #completeRequested = false;
  #softCancelled = false;
  #current = 0;
  #stopped = false;

  constructor(
    readonly input: WorkInput,
    private readonly report: (event: WorkReport) => void,
  ) {
    this.#paused = input.paused;
    this.#limiter = new RateLimiter(input.speed);
  }

  /** Handle a command from the statechart. */
  command(command: WorkCommand): void {
    switch (command.type) {
      case 'pause':
        this.#paused = true;
        return;
      case 'resume':
        this.#paused = false;
        for (const wake of [...this.#parked]) wake();
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
          this.#softCancelled = true;
          this.#readyWaiter?.('cancel');
        }
        return;
    }
  }

  /** The statechart stopped the work (the job concluded): cancel whatever is left. */
  stop(): void {
    this.#stopped = true;
    this.#cancel();
  }

  /** Run `handler` after the first pause point; report done or failed. */
  async run<P>(handler: JobHandler<P>, params: P): Promise<void> {
    try {
      await this.pausePoint();
      const result = await handler(this.#context(params));
      this.#send({ type: 'work.done', result });
    } catch (err) {
      this.#send({ type: 'work.failed', error: err instanceof Error ? err.message : String(err) });
    }
  }

  async pausePoint(): Promise<void> {
    this.#throwIfCancelled();
    while (this.#paused) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#parked.delete(wake);
          this.#abort.signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#parked.add(wake);
        this.#abort.signal.addEventListener('abort', wake, { once: true });
      });
      this.#throwIfCancelled();
    }
  }

  #context<P>(params: P): JobContext<P> {
    const { id, owner, type } = this.input;
    return {
      id,
      owner,
      type,
      params,
      signal: this.#abort.signal,
      progress: (current, total) => {
        this.#current = Math.max(this.#current, current);
        this.#send({ type: 'work.progress', current: this.#current, total });
      },
      setDescription: (description) => this.#send({ type: 'work.description', description }),
      pausePoint: () => this.pausePoint(),
      throttle: async (units) => {
        await this.#limiter.consume(units, this.#abort.signal);
        await this.pausePoint();
      },
      sleep: async (ms) => {
        await sleep(ms, this.#abort.signal);
        await this.pausePoint();
      },
      ready: () => this.#ready(),
    };
  }

  async #ready(): Promise<ReadyOutcome> {
    await this.pausePoint();
    if (this.#softCancelled) return 'cancel';
    if (this.#completeRequested) return 'complete';
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
