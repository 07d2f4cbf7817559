/**
 * The jobstate service: a NATS micro service (`$SRV.PING/INFO/STATS`) with one endpoint per
 * command, publishing every job event.
 */
import type { NatsConnection } from '@nats-io/transport-node';
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
import { WorkerDirectory } from './remote/directory.js';
import type { WorkerSettings } from './remote/directory.js';
import { resolveLimits } from './limits.js';
import type { Limits } from './limits.js';

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
   * Input and output pipes over JetStream (docs/protocol.md, Pipes): their limits and times;
   * `false` turns them off. @defaultValue DEFAULT_PIPE_SETTINGS
   */
  pipes?: Partial<PipeSettings> | false;
}

export const SERVICE_NAME = 'jobstate';
export const SERVICE_VERSION = '0.1.0';

export class JobService implements AsyncDisposable {
  readonly jobs: JobManager;
  /** The remote workers this service knows, unless turned off. */
  readonly workers: WorkerDirectory | undefined;
  readonly #service: Service;
  readonly #inFlight: InFlight;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;
  #pipes: PipeHub | undefined;

  private constructor(jobs: JobManager, workers: WorkerDirectory | undefined, service: Service, inFlight: InFlight, logger: Logger) {
    this.jobs = jobs;
    this.workers = workers;
    this.#service = service;
    this.#inFlight = inFlight;
    this.#logger = logger;
  }

  /** Start serving on `nc`. */
  static async start(opts: JobServiceOptions): Promise<JobService> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    const limits = resolveLimits(opts.limits);
    const publisher = new EventPublisher(opts.nc, prefix);
    const workers =
      opts.workers === false ? undefined : new WorkerDirectory({ nc: opts.nc, prefix, local: opts.types, logger: opts.logger, ...opts.workers });
    const runtime = new JobRuntime(workers?.types ?? opts.types, { logger: opts.logger });
    runtime.remote = workers?.work;
    const pipes = opts.pipes === false ? undefined : new PipeHub({ nc: opts.nc, prefix, logger: opts.logger, settings: opts.pipes ?? {} });
    const jobs = new JobManager({
      runtime,
      admins: new Set(opts.admins ?? ['admin']),
      publish: (event) => publisher.publish(event),
      logger: opts.logger,
      limits,
      ...(pipes && { pipes }),
    });
    const service = await new Svcm(opts.nc).add({
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      description: 'Job lifecycle service: QEMU job model over NATS',
      metadata: { prefix },
    });
    await workers?.start();
    const inFlight = new InFlight();
    addEndpoints(service, { prefix, jobs, logger: opts.logger, maxPayload: limits.maxPayload, ...(pipes && { pipes }) }, inFlight);
    opts.logger.info({ prefix, instance: service.info().id }, 'jobstate service started');
    const started = new JobService(jobs, workers, service, inFlight, opts.logger);
    started.#pipes = pipes;
    return started;
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
      this.jobs.stopAll();
      this.workers?.close();
      this.#pipes?.close();
      this.#logger.info('jobstate service stopped');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
