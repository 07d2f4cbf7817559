/**
 * The jobstate service: a NATS micro service (`$SRV.PING/INFO/STATS`) with one endpoint per
 * command, publishing every job event.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import type { Service } from '@nats-io/services';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../protocol/errors.js';
import { DEFAULT_PREFIX } from '../protocol/subjects.js';
import type { JobTypes } from '../runtime/registry.js';
import { JobRuntime } from '../runtime/runtime.js';
import { PipeHub } from '../pipes/hub.js';
import type { PipeSettings } from '../pipes/settings.js';
import { InFlight, addEndpoints } from './endpoints.js';
import { EventPublisher } from './events.js';
import { JobManager } from './jobs.js';
import { DEFAULT_PERSISTENCE, DEFAULT_RETENTION } from '../persist/settings.js';
import type { PersistenceSettings, Retention } from '../persist/settings.js';
import type { JobStore } from '../persist/job-store.js';
import { instanceId, openStore, readKept, setAsideAll } from '../persist/open.js';
import { WorkerDirectory, newServiceId } from './remote/directory.js';
import { DEFAULT_REATTACH_MS, NODE_ID_RE } from '../protocol/worker.js';
import type { WorkerSettings } from './remote/directory.js';
import { payloadBounds, resolveLimits } from '../protocol/limits.js';
import type { Limits } from '../protocol/limits.js';
import { ServiceMetrics, serveMetrics } from './metrics.js';
import { DownloadTokens } from '../persist/download-tokens.js';
import type { Ownership } from '../cluster/ownership.js';

export interface JobServiceOptions {
  nc: NatsConnection;
  types: JobTypes;
  logger: Logger;
  /** @defaultValue 'jobs' */
  prefix?: string;
  /** @defaultValue ['admin'] */
  admins?: Iterable<string>;
  /** Limits on payloads, descriptions, params and live jobs per owner. @defaultValue DEFAULT_LIMITS */
  limits?: Partial<Limits>;
  /**
   * Remote workers (docs/workers.md): the types they announce are accepted and their jobs
   * dispatched to them; `false` turns this off. @defaultValue {}
   */
  workers?: WorkerSettings | false;
  /**
   * Keeping jobs across restarts in JetStream (a KV bucket of job records, a stream of every
   * event); `false`: jobs live in memory only. @defaultValue DEFAULT_PERSISTENCE
   */
  persistence?: Partial<PersistenceSettings> | false;
  /** How long concluded jobs are kept before they are dismissed. @defaultValue DEFAULT_RETENTION */
  retention?: Partial<Retention>;
  /**
   * Input and output pipes over JetStream (docs/protocol.md, Pipes): their limits and times;
   * `false` turns them off. @defaultValue DEFAULT_PIPE_SETTINGS
   */
  pipes?: Partial<PipeSettings> | false;
  /** Where the service counts for Prometheus (docs/http.md). @defaultValue a registry of its own */
  metrics?: ServiceMetrics;
  /** The partitions served here: commands of the others are forwarded to their instances. @defaultValue none: every command answered here */
  ownership?: Ownership;
  /** How long a forwarded command waits for its partition to be served somewhere, ms. @defaultValue 15000 */
  forwardWaitMs?: number;
}

/** How often retention is applied, and delete markers of removed jobs are purged. */
const SWEEP_EVERY_MS = 60_000;
const PURGE_DELETES_EVERY_MS = 60 * 60 * 1000;

export const SERVICE_NAME = 'jobstate';
export const SERVICE_VERSION = '0.1.0';

export class JobService implements AsyncDisposable {
  readonly jobs: JobManager;
  /** The service's numbers for Prometheus. */
  readonly metrics: ServiceMetrics;
  /** The remote workers this service knows, unless turned off. */
  readonly workers: WorkerDirectory | undefined;
  readonly #service: Service;
  readonly #inFlight: InFlight;
  readonly #logger: Logger;
  readonly #store: JobStore | undefined;
  readonly #timers: NodeJS.Timeout[];
  #closing: Promise<void> | undefined;
  readonly #pipes: PipeHub | undefined;
  readonly #metricsSub: Subscription;

  private constructor(parts: {
    jobs: JobManager;
    workers: WorkerDirectory | undefined;
    service: Service;
    inFlight: InFlight;
    logger: Logger;
    store: JobStore | undefined;
    pipes: PipeHub | undefined;
    timers: NodeJS.Timeout[];
    metrics: ServiceMetrics;
    metricsSub: Subscription;
  }) {
    this.#metricsSub = parts.metricsSub;
    this.jobs = parts.jobs;
    this.metrics = parts.metrics;
    this.workers = parts.workers;
    this.#service = parts.service;
    this.#inFlight = parts.inFlight;
    this.#logger = parts.logger;
    this.#store = parts.store;
    this.#pipes = parts.pipes;
    this.#timers = parts.timers;
  }

  /** Start serving on `nc`. */
  static async start(opts: JobServiceOptions): Promise<JobService> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    const metrics = opts.metrics ?? new ServiceMetrics();
    const limits = resolveLimits(opts.limits);
    const publisher = new EventPublisher(opts.nc, prefix);
    const persistence = opts.persistence === false ? undefined : { ...DEFAULT_PERSISTENCE, ...opts.persistence };
    const store = persistence && (await openStore(opts.nc, prefix, persistence, { logger: opts.logger, onWrite: (seconds) => metrics.storeWriteSeconds.observe(seconds) }));
    // A service that keeps its jobs keeps its instance id too: its workers go on with its jobs
    // across a restart (docs/workers.md, Service restarts).
    const svc = store && (await instanceId(store, { make: newServiceId, valid: (id) => NODE_ID_RE.test(id), logger: opts.logger }));
    const workers =
      opts.workers === false
        ? undefined
        : new WorkerDirectory({
            nc: opts.nc,
            prefix,
            local: opts.types,
            logger: opts.logger,
            ...opts.workers,
            ...(store
              ? { svc, reattachMs: opts.workers?.reattachMs ?? DEFAULT_REATTACH_MS }
              : { reattachMs: 0 }),
          });
    const runtime = new JobRuntime(workers?.types ?? opts.types, { logger: opts.logger, remote: workers });
    const pipes = opts.pipes === false ? undefined : new PipeHub({ nc: opts.nc, prefix, logger: opts.logger, settings: opts.pipes ?? {}, onBytes: (direction, bytes) => metrics.pipeBytes.inc({ direction }, bytes) });
    const admins = new Set(opts.admins ?? ['admin']);
    const jobs = new JobManager({
      runtime,
      admins,
      publish: (event) => {
        publisher.publish(event);
        metrics.events.inc({ event: event.type });
      },
      shown: (owner, id) => publisher.flushProgress(owner, id),
      logger: opts.logger,
      limits,
      ...(store && { store, saveTimeoutMs: persistence.saveTimeoutMs }),
      ...(pipes && { pipes }),
    });
    // Listening to the workers before the jobs are restored: a restored job's worker answers
    // its re-attach, and reports from then on.
    await workers?.start();
    if (store) {
      const started = performance.now();
      const { records, told } = await readKept(store, opts.nc, prefix, opts.logger);
      const read = performance.now();
      const { restored, rejected } = jobs.restore(records, told);
      await setAsideAll(store, rejected, opts.logger);
      const ms = Math.round(performance.now() - started);
      opts.logger.info({ restored, records: records.length, setAside: rejected.length, ms, readMs: Math.round(read - started) }, 'jobs restored');
    }
    const retention = { ...DEFAULT_RETENTION, ...opts.retention };
    jobs.sweep(retention);
    const timers = [setInterval(() => jobs.sweep(retention), SWEEP_EVERY_MS)];
    if (store) {
      const purge = () =>
        store.purgeDeletes(PURGE_DELETES_EVERY_MS).catch((err: unknown) => opts.logger.warn({ err }, 'job store: purging delete markers failed'));
      timers.push(setInterval(purge, PURGE_DELETES_EVERY_MS));
    }
    for (const timer of timers) timer.unref();
    const service = await new Svcm(opts.nc).add({
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      description: 'Job lifecycle service: QEMU job model over NATS',
      metadata: { prefix },
    });
    const inFlight = new InFlight();
    // The broker's max_payload bounds every reply; it is read at each reply, as a reconnect may reach another server.
    const maxReply = () => opts.nc.info?.max_payload ?? limits.maxPayload;
    const downloads = new DownloadTokens(opts.nc, prefix);
    const bounds = payloadBounds(limits);
    const routing = opts.ownership && { nc: opts.nc, ownership: opts.ownership, admins, ...(opts.forwardWaitMs !== undefined && { waitMs: opts.forwardWaitMs }) };
    addEndpoints(service, { prefix, jobs, logger: opts.logger, maxPayload: limits.maxPayload, bounds, maxReply, downloads, metrics, ...(pipes && { pipes }), ...(routing && { routing }) }, inFlight);
    const metricsSub = serveMetrics(opts.nc, prefix, metrics, opts.logger);
    // The endpoints' subscriptions are registered with the server once this resolves.
    await opts.nc.flush();
    // The restored jobs get their work back while the service already answers (remote ones
    // re-attach to their workers, who until then are not told to drop jobs it does not know).
    void jobs
      .resumeRestored()
      .catch((err: unknown) => opts.logger.error({ err }, 'giving restored jobs their work back failed'))
      .finally(() => workers?.restored());
    opts.logger.info({ prefix, instance: service.info().id, persistence: store !== undefined }, 'jobstate service started');
    metrics.countJobsOf(jobs);
    return new JobService({ jobs, workers, service, inFlight, logger: opts.logger, store, pipes, timers, metrics, metricsSub });
  }

  /** Resolves once the service has stopped. */
  get closed(): Promise<void> {
    return this.#service.stopped.then(() => undefined);
  }

  /** Stop taking commands, answer those in flight, stop the endpoints and the jobs. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const draining = this.#inFlight.drain();
      this.jobs.rejectWaiters(new ShuttingDownError());
      await draining;
      await this.#service.stop();
      this.#metricsSub.unsubscribe();
      for (const timer of this.#timers) clearInterval(timer);
      // No more reports from workers: what is saved next is what a restart brings back (and
      // re-attaches on the workers, which go on meanwhile).
      this.workers?.close();
      // Everything changed so far is saved; the jobs' work then stops, except work on remote
      // workers when the jobs are kept (a restart brings the jobs back as they are now).
      await this.#store?.flush();
      this.#store?.close();
      this.jobs.stopAll();
      this.#pipes?.close();
      this.#logger.info('jobstate service stopped');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
