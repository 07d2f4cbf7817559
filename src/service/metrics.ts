/**
 * The service's numbers for Prometheus (prom-client): jobs by status and type, commands by
 * name and result with their latency, events published, job store write latency, pipe bytes.
 * The HTTP server serves them at `/metrics` (in-process next to the service; a standalone one
 * asks the service over NATS, `<prefix>.metrics`: docs/http.md).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface JobCounts {
  /** Jobs by status and type. */
  counts(): Iterable<{ status: string; type: string; count: number }>;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly commands: Counter<'command' | 'result'>;
  readonly commandSeconds: Histogram<'command'>;
  readonly events: Counter<'event'>;
  readonly storeWriteSeconds: Histogram;
  readonly pipeBytes: Counter<'direction'>;
  #jobs: JobCounts | undefined;

  constructor() {
    const registers = [this.registry];
    const jobs = () => this.#jobs;
    new Gauge({
      name: 'jobstate_jobs',
      help: 'Jobs the service holds, by status and type',
      labelNames: ['status', 'type'],
      registers,
      collect() {
        this.reset();
        for (const { status, type, count } of jobs()?.counts() ?? []) this.set({ status, type }, count);
      },
    });
    this.commands = new Counter({ name: 'jobstate_commands_total', help: 'Commands answered, by name and result (ok, or the error class)', labelNames: ['command', 'result'], registers });
    this.commandSeconds = new Histogram({
      name: 'jobstate_command_duration_seconds',
      help: 'Time from a command arriving to its reply, by name',
      labelNames: ['command'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.events = new Counter({ name: 'jobstate_events_published_total', help: 'Job events published, by event name', labelNames: ['event'], registers });
    this.storeWriteSeconds = new Histogram({
      name: 'jobstate_store_write_duration_seconds',
      help: 'Time a job record write to the JetStream job store takes',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.pipeBytes = new Counter({ name: 'jobstate_pipe_bytes_total', help: "Bytes through jobs' pipes: in (read by jobs from their inputs), out (written by jobs to outputs and logs)", labelNames: ['direction'], registers });
  }

  /** Where the jobs gauge counts from (the service's job manager). */
  countJobsOf(jobs: JobCounts): void {
    this.#jobs = jobs;
  }

  /** The metrics in Prometheus text format. */
  async text(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** The subject a standalone HTTP server asks a service's metrics on (docs/http.md). */
export const metricsSubject = (prefix: string) => `${prefix}.svc.metrics`;

/** Answer `<prefix>.svc.metrics` with the Prometheus text (once the service answers commands). */
export function serveMetrics(nc: NatsConnection, prefix: string, metrics: ServiceMetrics, logger: Logger): Subscription {
  return nc.subscribe(metricsSubject(prefix), {
    queue: 'jobstate',
    callback: (err, msg) => {
      if (err) return;
      metrics
        .text()
        .then(({ text }) => msg.respond(text))
        .catch((e: unknown) => logger.warn({ err: e }, 'metrics request failed'));
    },
  });
}
