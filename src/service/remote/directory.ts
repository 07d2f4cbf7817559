/**
 * The remote workers a service knows. It listens to their heartbeats (the types each runs,
 * its capacity and load), declares a worker gone when its heartbeats stop — its jobs fail
 * with `Worker '<id>' stopped responding` — picks the least busy live worker for each job,
 * routes the workers' reports to their jobs, and heartbeats itself so that workers can tell
 * when it is gone. docs/workers.md has the wire and the timing.
 */
import { randomBytes } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { JobType } from '../../runtime/handler.js';
import type { JobTypes } from '../../runtime/registry.js';
import type { WorkCommand, WorkInput, WorkReport } from '../../../machines/index.js';
import type { RemoteRunner, Run, Work } from '../../runtime/runtime.js';
import { Heartbeat, Report, decode, onMessage, send, tokensAfter, workerSubjects } from '../../protocol/worker.js';
import type { HeartbeatInfo, ServiceBeat } from '../../protocol/worker.js';
import { RemoteJob } from './remote-job.js';
import type { Dispatcher, WorkerRef } from './remote-job.js';
import { AnnouncedTypes, TypesWithWorkers } from './remote-types.js';
import type { RemoteTypeSource } from './remote-types.js';
import { ownedKey as key } from '../../protocol/owned-key.js';
import { busy, hooksOf, newWorkerEntry, summary } from './worker-entry.js';
import type { WorkerEntry, WorkerSummary } from './worker-entry.js';

export interface WorkerSettings {
  /**
   * A worker not heard from for this long is gone and its jobs fail; never less than three
   * of the worker's own heartbeat intervals. @defaultValue 3000
   */
  timeoutMs?: number;
  /** How long a worker has to accept a job. @defaultValue the timeout */
  dispatchTimeoutMs?: number;
  /** How long a worker's prepare hook may take. @defaultValue 60000 */
  prepareTimeoutMs?: number;
  /** How often the service heartbeats to the workers. @defaultValue 1000 */
  heartbeatMs?: number;
  /**
   * A service that keeps its jobs across restarts: how long past their service timeout
   * workers keep its jobs running for it to come back and re-attach them (announced in its
   * heartbeats). Ignored without persistence. @defaultValue 30000
   */
  reattachMs?: number;
}

/** A new service instance id (random). */
export const newServiceId = (): string => `svc-${randomBytes(6).toString('hex')}`;

export interface WorkerDirectoryOptions extends WorkerSettings {
  nc: NatsConnection;
  prefix: string;
  /** This service instance's id; a service that keeps its jobs across restarts keeps it too. @defaultValue a new one */
  svc?: string;
  /** The types this service runs in-process: those always win over a worker's. */
  local: JobTypes;
  logger: Logger;
}

/** Liveness checks run this often: a dead worker is noticed within timeout + SWEEP_MS. */
export const SWEEP_MS = 250;


export class WorkerDirectory implements Dispatcher, RemoteTypeSource, RemoteRunner {
  /** This service instance's id in worker subjects. */
  readonly svc: string;
  /** The local types, and the stand-ins for the types live workers announce. */
  readonly types: JobTypes;
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly dispatchTimeoutMs: number;
  readonly prepareTimeoutMs: number;
  readonly reattachMs: number;
  readonly #heartbeatMs: number;
  readonly #workers = new Map<string, WorkerEntry>();
  readonly #jobs = new Map<string, RemoteJob>();
  readonly #announced = new AnnouncedTypes(this);
  readonly #subs: Subscription[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #lastSweep = performance.now();
  #closed = false;
  /**
   * Jobs left running on their workers while this instance goes on (their partition moved to
   * another instance, which re-attaches them): until when their reports are not answered with `stop`.
   */
  readonly #leftRunning = new Map<string, number>();
  /** Jobs are being restored: a report for a job not known (yet) is not answered with `stop`. */
  #restoring = true;

  constructor(opts: WorkerDirectoryOptions) {
    this.svc = opts.svc ?? newServiceId();
    this.nc = opts.nc;
    this.prefix = opts.prefix;
    this.logger = opts.logger.child({ svc: this.svc });
    this.timeoutMs = opts.timeoutMs ?? 3000;
    this.dispatchTimeoutMs = opts.dispatchTimeoutMs ?? this.timeoutMs;
    this.prepareTimeoutMs = opts.prepareTimeoutMs ?? 60_000;
    this.#heartbeatMs = opts.heartbeatMs ?? 1000;
    this.reattachMs = opts.reattachMs ?? 0;
    this.types = new TypesWithWorkers(opts.local, this);
  }

  /** The runtime's remote work: a {@link RemoteJob} for a run whose type only workers have. */
  work(input: WorkInput, run: Run, report: (event: WorkReport) => void): Work | undefined {
    if (!this.#announced.isStandIn(run.type)) return undefined;
    const job = new RemoteJob(input, run, report, this);
    this.#jobs.set(key(input.owner, input.id), job);
    return job;
  }

  /**
   * The type of a job restored after a restart whose work ran on a worker: the stand-in for
   * `name` (whether or not a live worker announces it yet), its secrets those the job's record
   * kept besides those announced.
   */
  restoredType(name: string, secrets: readonly string[]): JobType<unknown> {
    this.#announced.addSecrets(name, secrets);
    return this.#announced.standIn(name);
  }

  /** The work of a job restored after a restart, taken up again on `worker` (see {@link RemoteJob}). */
  reattach(input: WorkInput, run: Run, report: (event: WorkReport) => void, worker: string, how: { settled: boolean; sync: () => WorkCommand[] }): Work {
    // The worker may not be known yet (its heartbeat, or its answer to `attach`, tells its hooks).
    const ref: WorkerRef = { id: worker, hooks: (type) => hooksOf(this.#workers.get(worker), type) };
    const job = new RemoteJob(input, run, report, this, { worker: ref, ...how });
    this.#jobs.set(key(input.owner, input.id), job);
    return job;
  }

  /** The restored jobs are all known: reports for any other job are answered with `stop` from now on. */
  restored(): void {
    this.#restoring = false;
  }

  async start(): Promise<void> {
    const { nc, prefix } = this;
    this.#subs.push(nc.subscribe(workerSubjects.heartbeats(prefix), { callback: onMessage((msg) => this.#onHeartbeat(msg)) }));
    this.#subs.push(nc.subscribe(workerSubjects.reports(prefix, this.svc), { callback: onMessage((msg) => this.#onReport(msg)) }));
    this.#timers.push(setInterval(() => this.#beat(), this.#heartbeatMs).unref(), setInterval(() => this.#sweep(), SWEEP_MS).unref());
    void this.#graceOnReconnect();
    await nc.flush();
  }

  close(): void {
    this.#closed = true;
    this.#restoring = false;
    for (const timer of this.#timers) clearInterval(timer);
    for (const sub of this.#subs) sub.unsubscribe();
  }

  /** The live workers. */
  list(): WorkerSummary[] {
    return [...this.#workers.values()].map(summary);
  }

  remoteSchema(name: string): Record<string, unknown> | undefined {
    return this.#announced.schema(name);
  }

  remoteNames(): string[] {
    const names = new Set<string>();
    for (const w of this.#workers.values()) if (!w.info.closing) for (const name of w.types.keys()) names.add(name);
    return [...names];
  }

  remoteType(name: string): JobType<unknown> | undefined {
    const announced = [...this.#workers.values()].some((w) => !w.info.closing && w.types.has(name));
    return announced ? this.#announced.standIn(name) : undefined;
  }

  job(owner: string, id: string): RemoteJob | undefined {
    return this.#jobs.get(key(owner, id));
  }

  /** The live worker with the most room for `type` (ties: the one given fewest jobs). */
  pick(type: string, skip: ReadonlySet<string>): WorkerRef | undefined {
    let best: { worker: WorkerEntry; score: number } | undefined;
    for (const worker of this.#workers.values()) {
      if (worker.info.closing || skip.has(worker.id) || !worker.types.has(type)) continue;
      const score = busy(worker) / worker.info.capacity;
      if (!best || score < best.score || (score === best.score && worker.dispatched < best.worker.dispatched)) best = { worker, score };
    }
    if (best) best.worker.dispatched++;
    return best?.worker;
  }

  attach(worker: WorkerRef, job: RemoteJob): void {
    this.#workers.get(worker.id)?.jobs.add(job);
  }

  detach(worker: WorkerRef, job: RemoteJob): void {
    this.#workers.get(worker.id)?.jobs.delete(job);
  }

  release(job: RemoteJob, leftRunning = false): void {
    const k = key(job.input.owner, job.input.id);
    if (this.#jobs.get(k) === job) this.#jobs.delete(k);
    if (leftRunning && !this.#closed) this.#leftRunning.set(k, performance.now() + Math.max(this.reattachMs, this.timeoutMs));
    if (job.worker) this.detach(job.worker, job);
  }

  unreachable(worker: WorkerRef): void {
    const entry = this.#workers.get(worker.id);
    if (entry) this.#gone(entry, 'is unreachable');
  }

  #onHeartbeat(msg: Msg): void {
    const beat = decode(Heartbeat, msg.data);
    const token = tokensAfter(`${this.prefix}.wrk.hb.`, msg.subject, 1)?.[0];
    if (!beat || beat.worker !== token) {
      this.logger.warn({ subject: msg.subject }, 'invalid worker heartbeat ignored');
      return;
    }
    this.heardFrom(beat);
  }

  /** A worker's heartbeat (on its subject, or in its answer to `attach`): it is alive, with these types, capacity and load. */
  heardFrom(beat: HeartbeatInfo): void {
    if (this.#closed) return;
    let entry = this.#workers.get(beat.worker);
    if (!entry) {
      entry = newWorkerEntry(beat);
      this.#workers.set(beat.worker, entry);
      // Jobs restored after a restart that name it: its death now fails them too.
      for (const job of this.#jobs.values()) if (job.worker?.id === beat.worker) entry.jobs.add(job);
      this.logger.info({ worker: beat.worker, types: beat.types.map((t) => t.type), capacity: beat.capacity }, 'worker joined');
    } else if (beat.closing && !entry.info.closing) {
      this.logger.info({ worker: beat.worker }, 'worker leaving');
    }
    entry.info = beat;
    entry.types = new Map(beat.types.map((t) => [t.type, new Set(t.hooks)]));
    entry.seen = performance.now();
    this.#announced.heardFrom(beat);
  }

  #onReport(msg: Msg): void {
    const tokens = tokensAfter(`${this.prefix}.wrk.rpt.${this.svc}.`, msg.subject, 3);
    if (!tokens) return;
    const [worker, owner, id] = tokens as [string, string, string];
    const report = decode(Report, msg.data);
    if (!report) {
      this.logger.warn({ worker, job: id, owner }, 'invalid worker report ignored');
      return;
    }
    const job = this.#jobs.get(key(owner, id));
    if (job?.worker?.id === worker && job.onReport(report)) return;
    // Before the restored jobs are all known, what it says is also in its answer to `attach`.
    if (!job && this.#restoring) return;
    // Another instance re-attaches it: the worker then reports there, and nothing comes here.
    if (!job && (this.#leftRunning.get(key(owner, id)) ?? 0) > performance.now()) return;
    // A job this service no longer has on that worker (it concluded, or the worker was
    // declared gone): tell the worker to drop it.
    send(this.nc, workerSubjects.job(this.prefix, worker, this.svc, owner, id), JSON.stringify({ type: 'stop' }));
  }

  /** Only while it knows workers: a service without any (or without the permissions) sends nothing. */
  #beat(): void {
    if (this.#workers.size === 0) return;
    const beat: ServiceBeat = { svc: this.svc, 'interval-ms': this.#heartbeatMs, ...(this.reattachMs > 0 && { 'reattach-ms': this.reattachMs }) };
    send(this.nc, workerSubjects.serviceBeat(this.prefix, this.svc), JSON.stringify(beat));
  }

  /** Declare gone the workers not heard from in time. */
  #sweep(): void {
    const now = performance.now();
    const late = now - this.#lastSweep > 4 * SWEEP_MS;
    this.#lastSweep = now;
    // After this process stalled, the heartbeats that came meanwhile are still queued: look next time.
    if (late) return;
    for (const [k, until] of this.#leftRunning) if (until <= now) this.#leftRunning.delete(k);
    for (const worker of this.#workers.values()) {
      if (now - worker.seen > Math.max(this.timeoutMs, 3 * worker.info['interval-ms'])) this.#gone(worker, 'stopped responding');
    }
  }

  #gone(worker: WorkerEntry, why: string): void {
    this.#workers.delete(worker.id);
    this.logger.warn({ worker: worker.id, jobs: worker.jobs.size }, `worker ${why}`);
    for (const job of worker.jobs) job.workerGone(`Worker '${worker.id}' stopped responding`);
  }

  /** After this service's own connection was down, give every worker a fresh timeout. */
  async #graceOnReconnect(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (this.#closed) return;
      if (status.type !== 'reconnect') continue;
      const now = performance.now();
      for (const worker of this.#workers.values()) worker.seen = now;
    }
  }
}
