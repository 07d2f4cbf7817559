/**
 * The worker SDK: a program registers job types (the same `defineJob` types the service runs
 * in-process) and runs the jobs of those types that services dispatch to it over NATS. The
 * statechart stays in the service; see docs/workers.md for the wire.
 *
 * @example
 * const worker = await JobWorker.start({ nc, prefix: 'jobs', types: [resizeJob], concurrency: 4 });
 * process.once('SIGTERM', () => void worker.close());
 */
import { randomBytes } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { JobTypes } from '../runtime/registry.js';
import { LockManager } from '../runtime/locks.js';
import type { WorkPlace } from '../runtime/work-control.js';
import { DEFAULT_PREFIX } from '../protocol/subjects.js';
import { Slots } from './slots.js';
import { JobMessage, OK, RunRequest, ServiceBeat, decode, errorText, failure, onMessage, respond, send, tokensAfter, workerSubjects } from '../protocol/worker.js';
import type { AttachReply, Heartbeat } from '../protocol/worker.js';
import { WorkerJob } from './worker-job.js';
import { ofService, serviceJobKey } from './job-keys.js';
import { announcedTypes, listed, withSlots } from './worker-types.js';
import type { JobTypeList } from './worker-types.js';

export interface JobWorkerOptions<Ps extends readonly unknown[] = readonly unknown[]> {
  /** The worker's connection; it stays open after {@link JobWorker.close}. */
  nc: NatsConnection;
  /** @defaultValue 'jobs' */
  prefix?: string;
  /** The job types this worker runs. */
  types: JobTypes | JobTypeList<Ps>;
  /** How many jobs run at once; more wait for a slot, first come first served. @defaultValue 64 */
  concurrency?: number;
  /** The worker's id is `<name>-<random>`, new for every start. @defaultValue 'worker' */
  name?: string;
  /** How often the worker announces itself. @defaultValue 1000 */
  heartbeatMs?: number;
  /**
   * How long a service may stay silent before the jobs it dispatched here are cancelled
   * (at least three of its heartbeat intervals). A service that keeps its jobs across
   * restarts announces a re-attach window (`reattach-ms`): its jobs are kept that much longer,
   * for it to come back. @defaultValue 3000
   */
  serviceTimeoutMs?: number;
  logger?: Logger;
}

/** Liveness checks run this often. */
const SWEEP_MS = 250;

interface ServiceState {
  seen: number;
  intervalMs: number;
  /** How long its jobs are kept after its timeout, for it to come back (it announced so). */
  reattachMs: number;
  /** It is past its timeout: its jobs wait for it to come back. */
  away: boolean;
}

export class JobWorker implements AsyncDisposable {
  /** This worker's id, as it appears in subjects, heartbeats and error texts. */
  readonly id: string;
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #types: JobTypes;
  /** Each type's params as JSON Schema, for the heartbeat (computed once). */
  readonly #schemas = new Map<string, Record<string, unknown>>();
  /** Where its jobs' work runs: the locks they share (no statechart here). */
  readonly #place: WorkPlace = { locks: new LockManager() };
  readonly #slots: Slots;
  readonly #logger: Logger;
  readonly #heartbeatMs: number;
  readonly #serviceTimeoutMs: number;
  readonly #jobs = new Map<string, WorkerJob>();
  /** Services by id: when each was last heard from, its heartbeat interval and re-attach window. */
  readonly #services = new Map<string, ServiceState>();
  readonly #subs: Subscription[] = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #lastSweep = performance.now();
  #closing: Promise<void> | undefined;
  #closed!: () => void;
  /** Resolves once the worker has stopped. */
  readonly closed = new Promise<void>((resolve) => (this.#closed = resolve));

  private constructor(opts: JobWorkerOptions<readonly unknown[]>, types: JobTypes) {
    this.id = `${opts.name ?? 'worker'}-${randomBytes(5).toString('hex')}`;
    this.#nc = opts.nc;
    this.#prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.#logger = (opts.logger ?? pino({ level: 'silent' })).child({ worker: this.id });
    this.#heartbeatMs = opts.heartbeatMs ?? 1000;
    this.#serviceTimeoutMs = opts.serviceTimeoutMs ?? 3000;
    this.#slots = new Slots(opts.concurrency ?? 64);
    this.#types = withSlots(types, this.#slots);
    for (const { type, params } of types.describe()) this.#schemas.set(type, params);
  }

  /** Start announcing the types and taking jobs; resolves once the first heartbeat is out. */
  static async start<const Ps extends readonly unknown[]>(opts: JobWorkerOptions<Ps>): Promise<JobWorker> {
    const types = opts.types instanceof JobTypes ? opts.types : listed(opts.types);
    if (!/^[A-Za-z0-9_-]{1,48}$/.test(opts.name ?? 'worker')) throw new Error(`Invalid worker name '${opts.name}'`);
    const worker = new JobWorker(opts, types);
    await worker.#start();
    return worker;
  }

  /** How many jobs have not finished their work (running or waiting for a slot). */
  get load(): number {
    let load = 0;
    for (const job of this.#jobs.values()) if (!job.settled) load++;
    return load;
  }

  async #start(): Promise<void> {
    const nc = this.#nc;
    this.#subs.push(nc.subscribe(workerSubjects.inbox(this.#prefix, this.id), { callback: onMessage((msg) => this.#onMessage(msg)) }));
    this.#subs.push(nc.subscribe(workerSubjects.serviceBeats(this.#prefix), { callback: onMessage((msg) => this.#onServiceBeat(msg)) }));
    this.#timers.push(setInterval(() => this.#beat(), this.#heartbeatMs).unref(), setInterval(() => this.#sweep(), SWEEP_MS).unref());
    await nc.flush();
    this.#beat();
    await nc.flush();
    this.#logger.info({ server: nc.getServer(), prefix: this.#prefix, types: this.#types.names(), capacity: this.#slots.capacity }, 'worker started');
  }

  /**
   * Stop: announce that this worker is leaving, stop taking messages, fail its running jobs
   * with `Worker '<id>' shut down`, and undo every job it still has (abort and clean hooks,
   * once its handler has ended). The connection stays open. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#timers) clearInterval(timer);
      this.#beat(true);
      for (const sub of this.#subs) sub.unsubscribe();
      const jobs = [...this.#jobs.values()];
      this.#jobs.clear();
      await Promise.all(jobs.map((job) => job.abandon(`Worker '${this.id}' shut down`)));
      if (!this.#nc.isClosed()) await this.#nc.flush().catch(() => undefined);
      this.#logger.info('worker stopped');
      this.#closed();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #beat(closing = false): void {
    send(this.#nc, workerSubjects.heartbeat(this.#prefix, this.id), JSON.stringify(this.#heartbeat(closing)));
  }

  #heartbeat(closing = false): Heartbeat {
    return {
      worker: this.id,
      types: announcedTypes(this.#types, this.#schemas),
      capacity: this.#slots.capacity,
      load: this.load,
      'interval-ms': this.#heartbeatMs,
      ...(closing && { closing }),
    };
  }

  #onMessage(msg: Msg): void {
    const head = `${this.#prefix}.wrk.to.${this.id}.`;
    if (msg.subject === `${head}run`) return this.#onRun(msg);
    const tokens = tokensAfter(`${head}job.`, msg.subject, 3);
    if (tokens) this.#onJobMessage(msg, tokens[0]!, tokens[1]!, tokens[2]!);
  }

  #onRun(msg: Msg): void {
    const request = decode(RunRequest, msg.data);
    if (!request) return respond(this.#nc, msg, failure('Invalid run request'));
    this.#heard(request.svc, undefined, request['reattach-ms']);
    if (this.#closing) return respond(this.#nc, msg, failure(`Worker '${this.id}' is shutting down`));
    const type = this.#types.get(request.type);
    if (!type) return respond(this.#nc, msg, failure(`Worker '${this.id}' has no job type '${request.type}'`));
    let params: Record<string, unknown>;
    try {
      params = this.#types.parseParams(request.type, request.params);
    } catch (err) {
      return respond(this.#nc, msg, failure(errorText(err)));
    }
    const k = serviceJobKey(request.svc, request.owner, request.id);
    if (this.#jobs.has(k)) return respond(this.#nc, msg, failure(`Job '${request.id}' already runs on worker '${this.id}'`));
    const { owner, id } = request;
    const job = new WorkerJob(request, type, params, this.#place, (svc, data) => send(this.#nc, workerSubjects.report(this.#prefix, svc, this.id, owner, id), data), this.#logger);
    this.#jobs.set(k, job);
    respond(this.#nc, msg, OK);
    void job.start();
  }

  #onJobMessage(msg: Msg, svc: string, owner: string, id: string): void {
    this.#heard(svc);
    const message = decode(JobMessage, msg.data);
    const k = serviceJobKey(svc, owner, id);
    const job = this.#jobs.get(k) ?? (message?.type === 'attach' ? this.#handOver(k, svc, owner, id) : undefined);
    if (!message || !job) {
      if (msg.reply) respond(this.#nc, msg, failure(message ? `Worker '${this.id}' has no job '${id}'` : 'Invalid job message'));
      return;
    }
    switch (message.type) {
      case 'prepare':
        job.prepare().then(
          () => respond(this.#nc, msg, OK),
          (err: unknown) => respond(this.#nc, msg, failure(errorText(err))),
        );
        return;
      case 'commit':
      case 'abort':
        job.hook(message.type);
        return;
      case 'clean':
        job.hook('clean');
        this.#forget(k, job);
        return;
      case 'stop':
        this.#forget(k, job);
        return;
      case 'attach': {
        // The service restarted, or another instance took the job over: tell it what it may have missed.
        const reply: AttachReply = { return: { reports: job.state(), worker: this.#heartbeat() } };
        this.#logger.info({ svc, job: id, owner }, 'job re-attached by its service');
        respond(this.#nc, msg, reply);
        return;
      }
      default:
        job.command(message);
    }
  }

  /** Another instance of the service (one trusted service) serving the job's partition now re-attaches it: re-keyed to `k`, it reports to `svc`. */
  #handOver(k: string, svc: string, owner: string, id: string): WorkerJob | undefined {
    for (const [from, job] of this.#jobs) {
      if (!from.endsWith(`\u0000${owner}\u0000${id}`)) continue;
      this.#jobs.delete(from);
      this.#jobs.set(k, job);
      this.#logger.info({ svc, from: job.svc, job: id, owner }, 'job handed over to another instance of its service');
      job.handOver(svc);
      return job;
    }
    return undefined;
  }

  #forget(k: string, job: WorkerJob): void {
    job.stop();
    this.#jobs.delete(k);
  }

  #onServiceBeat(msg: Msg): void {
    const beat = decode(ServiceBeat, msg.data);
    if (beat) this.#heard(beat.svc, beat['interval-ms'], beat['reattach-ms'] ?? 0);
  }

  /** A service is alive (its heartbeat or a message from it); what it announced is kept until it says otherwise. */
  #heard(svc: string, intervalMs?: number, reattachMs?: number): void {
    const known = this.#services.get(svc);
    if (known?.away) this.#logger.info({ svc }, 'the service is back: its jobs go on');
    this.#services.set(svc, {
      seen: performance.now(),
      intervalMs: intervalMs ?? known?.intervalMs ?? 0,
      reattachMs: reattachMs ?? known?.reattachMs ?? 0,
      away: false,
    });
  }

  /**
   * Cancel the jobs of services that stopped heartbeating (their statecharts are gone), after
   * the re-attach window of a service that keeps its jobs across restarts.
   */
  #sweep(): void {
    const now = performance.now();
    const late = now - this.#lastSweep > 4 * SWEEP_MS;
    this.#lastSweep = now;
    // After this process stalled, the heartbeats that came meanwhile are still queued: look next time.
    if (late) return;
    for (const [svc, state] of this.#services) {
      const silent = now - state.seen;
      const timeout = Math.max(this.#serviceTimeoutMs, 3 * state.intervalMs);
      if (silent <= timeout) continue;
      if (silent <= timeout + state.reattachMs) {
        if (!state.away) {
          state.away = true;
          const jobs = [...this.#jobs.keys()].filter((k) => k.startsWith(ofService(svc))).length;
          if (jobs > 0) this.#logger.warn({ svc, jobs, reattachMs: state.reattachMs }, 'the service stopped responding: its jobs wait for it to come back');
        }
        continue;
      }
      this.#services.delete(svc);
      for (const [k, job] of this.#jobs) {
        if (!k.startsWith(ofService(svc))) continue;
        this.#logger.warn({ svc, job: job.run.id, owner: job.run.owner }, 'the service stopped responding: job cancelled');
        this.#jobs.delete(k);
        void job.abandon(`Service '${svc}' stopped responding`);
      }
    }
  }
}
