/**
 * The service's side of one job that runs on a remote worker: the `work` the statechart
 * drives. It picks a worker and dispatches the job to it, relays the statechart's commands
 * (held until the worker has accepted the job, so they always follow it), relays the
 * worker's reports back, forwards the finalize hooks, and fails the job when the worker is
 * declared gone.
 */
import { RequestError } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { WorkCommand, WorkInput, WorkReport } from '../../../machines/index.js';
import type { Run, Work } from '../../runtime/runtime.js';
import { errorText, replyError, send, workerSubjects } from '../../worker/wire.js';
import type { JobMessage, Report, RunRequest } from '../../worker/wire.js';

/** What a remote job needs to know of a worker. */
export interface WorkerRef {
  readonly id: string;
  /** The finalize hooks the worker announced for a type. */
  hooks(type: string): ReadonlySet<string>;
}

/** What a remote job needs of the worker directory. */
export interface Dispatcher {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly svc: string;
  readonly logger: Logger;
  readonly dispatchTimeoutMs: number;
  readonly prepareTimeoutMs: number;
  /** The best live worker for `type`, except those in `skip`. */
  pick(type: string, skip: ReadonlySet<string>): WorkerRef | undefined;
  /** The job is (or no longer is) on `worker`. */
  attach(worker: WorkerRef, job: RemoteJob): void;
  detach(worker: WorkerRef, job: RemoteJob): void;
  /** The job's work was stopped: forget it. */
  release(job: RemoteJob): void;
  /** `worker` did not answer at all: forget it. */
  unreachable(worker: WorkerRef): void;
}

export class RemoteJob implements Work {
  #worker: WorkerRef | undefined;
  #accepted = false;
  readonly #held: JobMessage[] = [];
  #settled = false;
  #stopped = false;
  /** Why the worker can no longer be reached, once it was declared gone. */
  #gone: string | undefined;
  readonly #onGone = new Set<(error: string) => void>();

  constructor(
    readonly input: WorkInput,
    readonly job: Run,
    private readonly report: (event: WorkReport) => void,
    private readonly dispatcher: Dispatcher,
  ) {}

  /** The worker the job was dispatched to, if any. */
  get worker(): WorkerRef | undefined {
    return this.#worker;
  }

  /** The id of the worker the job was dispatched to, if any. */
  get workerId(): string | undefined {
    return this.#worker?.id;
  }

  /** The work has reported its outcome. */
  get settled(): boolean {
    return this.#settled;
  }

  async run(): Promise<void> {
    try {
      await this.#dispatch();
    } catch (err) {
      this.#fail(errorText(err));
    }
  }

  command(command: WorkCommand): void {
    this.#tell(command);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#accepted) this.#tell({ type: 'stop' });
    this.dispatcher.release(this);
  }

  /** A report from the job's worker; false if the job no longer takes any (the worker should drop it). */
  onReport(report: Report): boolean {
    if (this.#stopped || this.#gone !== undefined) return false;
    // Reports can overtake the dispatch's reply (a quick job is done before it is processed).
    this.#accept();
    if (report.type === 'log') {
      this.job.log[report.level](report.message, report.fields);
      return true;
    }
    if (this.#settled) return true;
    if (report.type === 'work.done' || report.type === 'work.failed') this.#settled = true;
    this.report(report);
    return true;
  }

  /** The worker was declared gone: fail the work (if still going) with `error`, drop the hooks. */
  workerGone(error: string): void {
    if (this.#gone !== undefined) return;
    // In case it is only cut off and comes back: it must not go on with a job that failed here.
    if (this.#accepted) this.#tell({ type: 'stop' });
    this.#gone = error;
    this.#fail(error);
    for (const reject of this.#onGone) reject(error);
  }

  /**
   * The worker's prepare hook, if it announced one: a request, whose failure aborts the
   * transaction. Fails at once when the worker is gone.
   */
  async prepare(): Promise<void> {
    const worker = this.#worker;
    if (!worker || !this.#accepted) return;
    // Its commit could not reach it either: better abort than report a success that is not.
    if (this.#gone !== undefined) throw new Error(this.#gone);
    if (!worker.hooks(this.input.type).has('prepare')) return;
    const { nc, prefix, svc, prepareTimeoutMs } = this.dispatcher;
    const subject = workerSubjects.job(prefix, worker.id, svc, this.input.owner, this.input.id);
    let onGone: ((error: string) => void) | undefined;
    const gone = new Promise<never>((_, reject) => {
      onGone = (error) => reject(new Error(error));
      this.#onGone.add(onGone);
    });
    try {
      const reply = await Promise.race([
        nc.request(subject, JSON.stringify({ type: 'prepare' }), { timeout: prepareTimeoutMs }).catch((err: unknown) => {
          throw new Error(
            noResponders(err)
              ? `Worker '${worker.id}' stopped responding`
              : `Worker '${worker.id}' did not finish prepare of job '${this.input.id}' within ${prepareTimeoutMs} ms`,
          );
        }),
        gone,
      ]);
      const error = replyError(reply);
      if (error !== undefined) throw new Error(error);
    } finally {
      if (onGone) this.#onGone.delete(onGone);
    }
  }

  /** commit, abort or clean: fire and forget. */
  hook(name: 'commit' | 'abort' | 'clean'): void {
    this.#tell({ type: name });
  }

  async #dispatch(): Promise<void> {
    const { nc, prefix, svc, dispatchTimeoutMs } = this.dispatcher;
    const { id, owner, type, params, speed, onError, paused } = this.input;
    const request: RunRequest = { svc, id, owner, type, params, speed, 'on-error': onError, paused };
    const tried = new Set<string>();
    for (;;) {
      if (this.#stopped) return;
      const worker = this.dispatcher.pick(type, tried);
      if (!worker) return this.#fail(`No worker for job type '${type}' is available`);
      tried.add(worker.id);
      this.#worker = worker;
      this.dispatcher.attach(worker, this);
      let reply;
      try {
        reply = await nc.request(workerSubjects.run(prefix, worker.id), JSON.stringify(request), { timeout: dispatchTimeoutMs });
      } catch (err) {
        if (noResponders(err)) {
          // Nobody got it: that worker is gone; try the next one.
          this.dispatcher.detach(worker, this);
          this.#worker = undefined;
          this.dispatcher.unreachable(worker);
          continue;
        }
        // It may have got it: make sure it drops it.
        this.#accepted = true;
        this.#tell({ type: 'stop' });
        return this.#fail(`Worker '${worker.id}' did not accept job '${id}' within ${dispatchTimeoutMs} ms`);
      }
      const error = replyError(reply);
      if (error !== undefined) return this.#fail(error);
      this.dispatcher.logger.debug({ job: id, owner, worker: worker.id }, 'job dispatched');
      this.#accept();
      if (this.#stopped) this.#tell({ type: 'stop' });
      return;
    }
  }

  /** The worker has the job: send what was held for it, in order. */
  #accept(): void {
    if (this.#accepted) return;
    this.#accepted = true;
    for (const message of this.#held.splice(0)) this.#tell(message);
  }

  #tell(message: JobMessage): void {
    const worker = this.#worker;
    if (this.#gone !== undefined) return;
    if (!this.#accepted) {
      if (!this.#stopped) this.#held.push(message);
      return;
    }
    const { nc, prefix, svc } = this.dispatcher;
    if (worker) send(nc, workerSubjects.job(prefix, worker.id, svc, this.input.owner, this.input.id), JSON.stringify(message));
  }

  #fail(error: string): void {
    if (this.#settled || this.#stopped) return;
    this.#settled = true;
    this.report({ type: 'work.failed', error });
  }
}

function noResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}
