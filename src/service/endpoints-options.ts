/** What the command endpoints (endpoints.ts) are set up with, and what they give the service back. */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import type { DownloadTokens } from '../persist/download-tokens.js';
import type { PipeHub } from '../pipes/hub.js';
import type { PayloadBounds } from '../protocol/validate.js';
import type { JobManager } from './jobs.js';
import type { ServiceMetrics } from './metrics.js';

/** Partitions and instances: which partitions are served here, and how to reach the others. */
export interface RoutingOptions {
  nc: NatsConnection;
  ownership: Ownership;
  /** Callers who may address every owner's jobs: their query-jobs without `owner` is gathered. */
  admins: ReadonlySet<string>;
  /** How long a command waits for its partition to be served somewhere, ms. @defaultValue FORWARD_WAIT_MS */
  waitMs?: number;
  /** How many other instances are live: a stopping instance alone answers its waits 503 instead of handing them over. */
  others?: () => number;
  /** This instance's id: with others live, it takes commands sent straight to it, and tells callers it serves so (`Jobs-Instance`). */
  instance?: string;
}

export interface EndpointsOptions {
  prefix: string;
  jobs: JobManager;
  logger: Logger;
  /** The largest payload taken, in bytes (JOBS_MAX_PAYLOAD). */
  maxPayload: number;
  /** How many keys and array elements a payload may hold. @defaultValue DEFAULT_BOUNDS */
  bounds?: PayloadBounds;
  /** The pipes, whose readiness job-start waits for. */
  pipes?: PipeHub;
  /** The largest reply the connection may send, in bytes: its server's max_payload. @defaultValue 1048576 */
  maxReply?: () => number;
  /** Where job-download's URLs are kept. */
  downloads: DownloadTokens;
  /** Counts commands by name and result, and their latency. */
  metrics?: ServiceMetrics;
  /** Forward commands of partitions served elsewhere; none: every command is answered here. */
  routing?: RoutingOptions;
}

/** What the service does with its endpoints once they stop. */
export interface Endpoints {
  /** Stop taking the commands sent straight to this instance: they are answered "not served" from now on, and clients send them on the public subjects. */
  stopDirect(): Promise<void>;
  /** Hand the clients' pending job-waits to the instances serving their jobs now (after this one let its partitions go). */
  handOverWaits(): Promise<void>;
  /** Stop answering forwarded commands: the last thing before the connection goes. */
  close(): Promise<void>;
}
