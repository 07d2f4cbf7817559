/**
 * The jobstate service: a NATS micro service (`$SRV.PING/INFO/STATS`) with one endpoint per
 * command, publishing every job event.
 */
import type { Subscription } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import type { Service } from '@nats-io/services';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../protocol/errors.js';
import { DEFAULT_PREFIX } from '../protocol/subjects.js';
import type { JobServiceOptions } from './service-options.js';
import { JobRuntime } from '../runtime/runtime.js';
import { PipeHub } from '../pipes/hub.js';
import { addEndpoints } from './endpoints.js';
import type { Endpoints } from './endpoints.js';
import { InFlight } from './in-flight.js';
import { EventPublisher } from './events.js';
import { JobManager } from './jobs.js';
import { DEFAULT_PERSISTENCE, DEFAULT_RETENTION } from '../persist/settings.js';
import type { JobStore } from '../persist/job-store.js';
import { instanceId, openStore, storePartitions } from '../persist/open.js';
import { LeasedOwnership, ownsEverything } from '../cluster/ownership.js';
import { DEFAULT_PARTITIONS } from '../cluster/partition.js';
import { partitionOfKey, servingHooks } from './partition-serving.js';
import { WorkerDirectory, newServiceId } from './remote/directory.js';
import { DEFAULT_REATTACH_MS, NODE_ID_RE } from '../protocol/worker.js';
import { payloadBounds, resolveLimits } from '../protocol/limits.js';
import { ServiceMetrics, serveMetrics } from './metrics.js';
import { DownloadTokens } from '../persist/download-tokens.js';

export type { JobServiceOptions } from './service-options.js';

/** How often retention is applied, and delete markers of removed jobs are purged. */
const SWEEP_EVERY_MS = 60_000;
const PURGE_DELETES_EVERY_MS = 60 * 60 * 1000;
/** How long a start waits for its share of the partitions (a dead instance's leases come later, once stale). */
const START_SERVING_WAIT_MS = 3000;

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
  readonly #endpoints: Endpoints;
  readonly #logger: Logger;
  readonly #store: JobStore | undefined;
  readonly #timers: NodeJS.Timeout[];
  #closing: Promise<void> | undefined;
  readonly #pipes: PipeHub | undefined;
  readonly #metricsSub: Subscription;
  readonly #ownership: LeasedOwnership | undefined;

  private constructor(parts: {
    ownership: LeasedOwnership | undefined;
    jobs: JobManager;
    workers: WorkerDirectory | undefined;
    service: Service;
    inFlight: InFlight;
    endpoints: Endpoints;
    logger: Logger;
    store: JobStore | undefined;
    pipes: PipeHub | undefined;
    timers: NodeJS.Timeout[];
    metrics: ServiceMetrics;
    metricsSub: Subscription;
  }) {
    this.#metricsSub = parts.metricsSub;
    this.#ownership = parts.ownership;
    this.jobs = parts.jobs;
    this.metrics = parts.metrics;
    this.workers = parts.workers;
    this.#service = parts.service;
    this.#inFlight = parts.inFlight;
    this.#endpoints = parts.endpoints;
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
    const partitions = opts.ownership?.partitions ?? opts.partitions ?? DEFAULT_PARTITIONS;
    const store: JobStore | undefined =
      persistence &&
      (await openStore(opts.nc, prefix, persistence, {
        ...(opts.replicas !== undefined && { replicas: opts.replicas }),
        logger: opts.logger,
        onWrite: (seconds) => metrics.storeWriteSeconds.observe(seconds),
        // A job record is written only while its partition is served here (its lease valid by
        // the clock); one refused for its revision means another instance has it now. `leased`
        // is made below, before any job exists to be written.
        mayWrite: (key): boolean => {
          const p = partitionOfKey(key, partitions);
          return p < 0 || !leased || leased.mayWrite(p);
        },
        onConflict: (key) => {
          const p = partitionOfKey(key, partitions);
          if (p >= 0) void leased?.stale(p, key);
        },
      }));
    if (store) await storePartitions(store, partitions, opts.logger);
    // A service that keeps its jobs keeps its instance id too: its workers go on with its jobs
    // across a restart (docs/workers.md, Service restarts).
    const svc = store && (await instanceId(store, { make: newServiceId, valid: (id) => NODE_ID_RE.test(id), logger: opts.logger, given: opts.instanceId }));
    const leased: LeasedOwnership | undefined =
      store && svc !== undefined && !opts.ownership
        ? new LeasedOwnership({ prefix, id: svc, partitions, logger: opts.logger, ...(opts.replicas !== undefined && { replicas: opts.replicas }), ...opts.cluster })
        : undefined;
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
    const pipes = opts.pipes === false ? undefined : new PipeHub({ nc: opts.nc, prefix, logger: opts.logger, settings: { ...opts.pipes, ...(opts.replicas !== undefined && { replicas: opts.replicas }) }, onBytes: (direction, bytes) => metrics.pipeBytes.inc({ direction }, bytes) });
    const admins = new Set(opts.admins ?? ['admin']);
    const ownership = opts.ownership ?? leased ?? ownsEverything(partitions);
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
      ...(store && persistence && { store, saveTimeoutMs: persistence.saveTimeoutMs }),
      ...(pipes && { pipes }),
      ownership,
    });
    // Listening to the workers before the jobs are restored: a restored job's worker answers
    // its re-attach, and reports from then on.
    await workers?.start();
    // Jobs restored before the endpoints answer get their work back once they do (below);
    // those of partitions gained later, at once.
    let answering = false;
    const resume = () =>
      void jobs
        .resumeRestored()
        .catch((err: unknown) => opts.logger.error({ err }, 'giving restored jobs their work back failed'))
        .finally(() => workers?.restored());
    if (store && leased) {
      const hooks = servingHooks({ nc: opts.nc, prefix, partitions, store, jobs, logger: opts.logger, restored: () => answering && resume() });
      await leased.start(opts.nc, hooks).catch((err: unknown) => {
        store.close();
        throw err;
      });
      // One instance alone holds every partition at once; with others, its share (a stale
      // holder's partitions follow once their leases run out).
      if (!(await leased.ready(START_SERVING_WAIT_MS))) {
        const served = leased.served().length;
        const why = served === 0 ? ` (none yet: another instance's leases are stale only after ~12 s; or the service's NATS user may not write $KV.${prefix}_leases.>)` : '';
        opts.logger.warn({ served, partitions }, `not every partition of this instance is served yet; the rest follow as their leases free up${why}`);
      }
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
    const downloads = new DownloadTokens(opts.nc, prefix, undefined, opts.replicas);
    const bounds = payloadBounds(limits);
    // Commands of owners served elsewhere are forwarded (endpoints.ts); one instance alone answers all.
    const routing = (opts.ownership || leased) && {
      nc: opts.nc,
      ownership,
      admins,
      ...(opts.forwardWaitMs !== undefined && { waitMs: opts.forwardWaitMs }),
      ...(leased && { others: () => leased.others(), instance: leased.id }),
    };
    const endpoints = addEndpoints(service, { prefix, jobs, logger: opts.logger, maxPayload: limits.maxPayload, bounds, maxReply, downloads, metrics, ...(pipes && { pipes }), ...(routing && { routing }) }, inFlight);
    const metricsSub = serveMetrics(opts.nc, prefix, metrics, opts.logger);
    // The endpoints' subscriptions are registered with the server once this resolves.
    await opts.nc.flush();
    // The restored jobs get their work back while the service already answers (remote ones
    // re-attach to their workers, who until then are not told to drop jobs it does not know).
    answering = true;
    resume();
    opts.logger.info({ prefix, instance: service.info().id, persistence: store !== undefined, ...(leased && { id: leased.id, partitions, served: leased.served().length }) }, 'jobstate service started');
    metrics.countJobsOf(jobs);
    return new JobService({ ownership: leased, jobs, workers, service, endpoints, inFlight, logger: opts.logger, store, pipes, timers, metrics, metricsSub });
  }

  /** Resolves once the service has stopped. */
  get closed(): Promise<void> {
    return this.#service.stopped.then(() => undefined);
  }

  /** Stop taking commands, answer those in flight, stop the endpoints and the jobs. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Out of the queue group first: new commands go to the other instances (none failed in a
      // rolling restart); those already delivered here are answered as usual.
      await this.#service.stop();
      await this.#endpoints.stopDirect();
      const draining = this.#inFlight.drain();
      this.jobs.rejectWaiters(new ShuttingDownError());
      await draining;
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
      // Graceful handover: the partitions' next owners read what was just saved.
      await this.#ownership?.close();
      // ...and the clients' waits pending here go to them (with other instances; else they were answered 503).
      await this.#endpoints.handOverWaits();
      this.#ownership?.finish();
      await this.#endpoints.close();
      this.#pipes?.close();
      this.#logger.info('jobstate service stopped');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
