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
import { InFlight, addEndpoints } from './endpoints.js';
import { EventPublisher } from './events.js';
import { JobManager } from './jobs.js';

export interface JobServiceOptions {
  nc: NatsConnection;
  types: JobTypes;
  logger: Logger;
  /** Where each job's whole log is written; unset: memory only. */
  logDir?: string;
  /** @defaultValue 'jobs' */
  prefix?: string;
  /** @defaultValue ['admin'] */
  admins?: Iterable<string>;
}

export const SERVICE_NAME = 'jobstate';
export const SERVICE_VERSION = '0.1.0';

export class JobService implements AsyncDisposable {
  readonly jobs: JobManager;
  readonly #service: Service;
  readonly #inFlight: InFlight;
  readonly #logger: Logger;
  #closing: Promise<void> | undefined;

  private constructor(jobs: JobManager, service: Service, inFlight: InFlight, logger: Logger) {
    this.jobs = jobs;
    this.#service = service;
    this.#inFlight = inFlight;
    this.#logger = logger;
  }

  /** Start serving on `nc`. */
  static async start(opts: JobServiceOptions): Promise<JobService> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    const publisher = new EventPublisher(opts.nc, prefix);
    const runtime = new JobRuntime(opts.types, { logger: opts.logger, ...(opts.logDir !== undefined && { logDir: opts.logDir }) });
    const jobs = new JobManager({
      runtime,
      admins: new Set(opts.admins ?? ['admin']),
      publish: (event) => publisher.publish(event),
      logger: opts.logger,
    });
    const service = await new Svcm(opts.nc).add({
      name: SERVICE_NAME,
      version: SERVICE_VERSION,
      description: 'Job lifecycle service: QEMU job model over NATS',
      metadata: { prefix },
    });
    const inFlight = new InFlight();
    addEndpoints(service, { prefix, jobs, logger: opts.logger }, inFlight);
    opts.logger.info({ prefix, instance: service.info().id }, 'jobstate service started');
    return new JobService(jobs, service, inFlight, opts.logger);
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
      this.#logger.info('jobstate service stopped');
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
