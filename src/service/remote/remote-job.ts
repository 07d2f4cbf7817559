/**
 * The service's side of one job that runs on a remote worker: the `work` the statechart
 * drives. It picks a worker and dispatches the job to it — or, for a job restored after a
 * service restart, re-attaches it on the worker it ran on — relays the statechart's commands
 * (held until the worker has accepted the job, so they always follow it), relays the
 * worker's reports back, forwards the finalize hooks, and fails the job when the worker is
 * declared gone.
 */
import type { Logger } from 'pino';
import type { WorkCommand, WorkInput, WorkReport } from '../../../machines/index.js';
import { INTERRUPTED } from '../../runtime/interrupted-work.js';
import type { Run, Work } from '../../runtime/runtime.js';
import { AttachReply, decode, errorText, replyError } from '../../protocol/worker.js';
import type { HeartbeatInfo, JobMessage, Report, RunRequest } from '../../protocol/worker.js';
import { askAttach, askPrepare, askRun, tell } from './worker-calls.js';
import type { WorkerLink } from './worker-calls.js';

/** What a remote job needs to know of a worker. */
export interface WorkerRef {
  readonly id: string;
  /** The finalize hooks the worker announced for a type. */
  hooks(type: string): ReadonlySet<string>;
}

/** What a remote job needs of the worker directory. */
export interface Dispatcher extends WorkerLink {
  readonly logger: Logger;
  /** How long workers keep this service's jobs for it to come back after its timeout (0: it does not keep jobs). */
  readonly reattachMs: number;
  /** The best live worker for `type`, except those in `skip`. */
  pick(type: string, skip: ReadonlySet<string>): WorkerRef | undefined;
  /** The job is (or no longer is) on `worker`. */
  attach(worker: WorkerRef, job: RemoteJob): void;
  detach(worker: WorkerRef, job: RemoteJob): void;
  /** The job is let go here (`leftRunning`: its work goes on on its worker, for a re-attach): forget it. */
  release(job: RemoteJob, leftRunning?: boolean): void;
  /** `worker` did not answer at all: forget it. */
  unreachable(worker: WorkerRef): void;
  /** A worker's heartbeat, as the reply to `attach` carries it. */
  heardFrom(beat: HeartbeatInfo): void;
}

/** How the work of a job restored after a service restart is taken up again on its worker. */
export interface Reattach {
  /** The worker the job's record names. */
  worker: WorkerRef;
  /** The work had already ended before the restart: only the finalize hooks are left. */
  settled: boolean;
  /** The commands that bring the worker in line with the statechart as it is now (pause or resume, speed, cancel). */
  sync: () => WorkCommand[];
}

export class RemoteJob implements Work {
  #worker: WorkerRef | undefined;
  #accepted = false;
  readonly #held: JobMessage[] = [];
  #settled = false;
  #stopped = false;
  /** Stopped here but left running on the worker (the service stops and keeps its jobs). */
  #detached = false;
  /** Why the worker can no longer be reached, once it was declared gone. */
  #gone: string | undefined;
  readonly #onGone = new Set<(error: string) => void>();
  /** A re-attach whose answer has not come yet. */
  #attaching = false;
  /** Resolves once a re-attach has its answer, whatever it is. */
  readonly #attached: Promise<void> | undefined;
  #attachedNow: () => void = () => undefined;

  /** With `reattach`, the job was restored after a service restart and is taken up on its worker instead of dispatched. */
  constructor(
    readonly input: WorkInput,
    readonly job: Run,
    private readonly report: (event: WorkReport) => void,
    private readonly dispatcher: Dispatcher,
    private readonly reattach?: Reattach,
  ) {
    if (reattach) {
      this.#worker = reattach.worker;
      this.#settled = reattach.settled;
      this.#attaching = true;
      this.#attached = new Promise((resolve) => (this.#attachedNow = resolve));
    }
  }

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
      if (this.reattach) await this.#reattach(this.reattach);
      else await this.#dispatch();
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

  /**
   * The service stops but keeps the job (a restart restores it): forget the job here and
   * leave its work running on the worker, which keeps it for the service's re-attach window.
   */
  detach(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#detached = true;
    this.dispatcher.release(this, true);
  }

  /** A report from the job's worker; false if the job no longer takes any (the worker should drop it). */
  onReport(report: Report): boolean {
    if (this.#stopped || this.#gone !== undefined) return false;
    // Reports can overtake the dispatch's reply (a quick job is done before it is processed);
    // a re-attach waits for its own reply (the state in it, then the held commands).
    if (!this.#attaching) this.#accept();
    this.#take(report);
    return true;
  }

  /** The worker was declared gone: fail the work (if still going) with `error`, drop the hooks. */
  workerGone(error: string): void {
    if (this.#gone !== undefined) return;
    // In case it is only cut off and comes back: it must not go on with a job that failed here.
    if (this.#accepted) this.#tell({ type: 'stop' });
    // Not re-attached yet: the work is as lost as that of a worker gone during the restart.
    this.#lose(this.#attaching ? INTERRUPTED : error);
  }

  /**
   * The worker's prepare hook, if it announced one: a request, whose failure aborts the
   * transaction. Fails at once when the worker is gone (or the job could not be re-attached).
   */
  async prepare(): Promise<void> {
    await this.#attached;
    // Its commit could not reach it either: better abort than report a success that is not.
    if (this.#gone !== undefined) throw new Error(this.#gone);
    const worker = this.#worker;
    if (!worker || !this.#accepted) return;
    if (!worker.hooks(this.input.type).has('prepare')) return;
    let onGone: ((error: string) => void) | undefined;
    const gone = new Promise<never>((_, reject) => {
      onGone = (error) => reject(new Error(error));
      this.#onGone.add(onGone);
    });
    try {
      const reply = await Promise.race([askPrepare(this.dispatcher, worker.id, this.input.owner, this.input.id), gone]);
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
    const { svc, dispatchTimeoutMs } = this.dispatcher;
    const { id, owner, type, params, speed, onError, paused } = this.input;
    const reattachMs = this.dispatcher.reattachMs;
    const request: RunRequest = { svc, id, owner, type, params, speed, 'on-error': onError, paused, ...(reattachMs > 0 && { 'reattach-ms': reattachMs }) };
    const tried = new Set<string>();
    for (;;) {
      if (this.#stopped) return;
      const worker = this.dispatcher.pick(type, tried);
      if (!worker) return this.#fail(`No worker for job type '${type}' is available`);
      tried.add(worker.id);
      this.#worker = worker;
      this.dispatcher.attach(worker, this);
      const reply = await askRun(this.dispatcher, worker.id, request);
      if (reply === 'unreachable') {
        // Nobody got it: that worker is gone; try the next one.
        this.dispatcher.detach(worker, this);
        this.#worker = undefined;
        this.dispatcher.unreachable(worker);
        continue;
      }
      if (reply === 'no-answer') {
        // It may have got it: make sure it drops it.
        this.#accepted = true;
        this.#tell({ type: 'stop' });
        return this.#fail(`Worker '${worker.id}' did not accept job '${id}' within ${dispatchTimeoutMs} ms`);
      }
      const error = replyError(reply);
      if (error !== undefined) return this.#fail(error);
      this.dispatcher.logger.debug({ job: id, owner, worker: worker.id }, 'job dispatched');
      this.#accept();
      if (this.#stopped && !this.#detached) this.#tell({ type: 'stop' });
      return;
    }
  }

  /**
   * Take the job up again on the worker its record names, after a service restart: ask the
   * worker whether it still has the job (`attach`). If it does, the reports in its answer —
   * what the restarted service may have missed — go to the statechart, then the commands
   * held meanwhile and those that bring the worker in line with the statechart go to the
   * worker. If the worker is gone, does not know the job, or does not answer in time, the work
   * fails with `Interrupted by service restart`.
   */
  async #reattach(reattach: Reattach): Promise<void> {
    const { logger } = this.dispatcher;
    const { id, owner } = this.input;
    const worker = reattach.worker;
    const where = { job: id, owner, worker: worker.id };
    const { reply, problem } = await askAttach(this.dispatcher, worker.id, owner, id);
    this.#attaching = false;
    try {
      if (this.#gone !== undefined || this.#stopped) {
        // Declared gone meanwhile, or stopped (the service stops, or the job was dropped).
        if (reply && !this.#detached) tell(this.dispatcher, worker.id, owner, id, { type: 'stop' });
        return;
      }
      const error = reply && replyError(reply);
      const state = reply && error === undefined ? decode(AttachReply, reply.data) : undefined;
      if (!state) {
        logger.warn({ ...where, why: problem ?? error ?? 'an invalid reply' }, 'job not re-attached: its work was interrupted by the restart');
        return this.#lose(INTERRUPTED);
      }
      this.dispatcher.heardFrom(state.return.worker);
      // What it reported while this service was away, as the statechart takes any report (a
      // report it already had changes nothing); commands they cause are held, after the others.
      for (const report of state.return.reports) this.#take(report);
      this.dispatcher.attach(worker, this);
      this.#accept();
      for (const command of reattach.sync()) this.#tell(command);
      logger.info({ ...where, settled: this.#settled }, 'job re-attached on its worker');
    } finally {
      this.#attachedNow();
    }
  }

  /** A report from the worker, to the statechart: log lines to the job's log, work reports until the outcome. */
  #take(report: Report): void {
    if (report.type === 'log') {
      this.job.log[report.level](report.message, report.fields);
      return;
    }
    if (this.#settled) return;
    if (report.type === 'work.done' || report.type === 'work.failed') this.#settled = true;
    this.report(report);
  }

  /** The work can no longer go on: fail it with `error` (if still going), drop the hooks, fail a prepare. */
  #lose(error: string): void {
    this.#gone = error;
    this.#fail(error);
    for (const reject of this.#onGone) reject(error);
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
    if (worker) tell(this.dispatcher, worker.id, this.input.owner, this.input.id, message);
  }

  #fail(error: string): void {
    if (this.#settled || this.#stopped) return;
    this.#settled = true;
    this.report({ type: 'work.failed', error });
  }
}
