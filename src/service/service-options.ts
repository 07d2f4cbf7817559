/** What a jobstate service is started with (JobService.start). */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { LeasedOwnershipOptions, Ownership } from '../cluster/ownership.js';
import type { PipeSettings } from '../pipes/settings.js';
import type { PersistenceSettings, Retention } from '../persist/settings.js';
import type { Limits } from '../protocol/limits.js';
import type { JobTypes } from '../runtime/registry.js';
import type { ServiceMetrics } from './metrics.js';
import type { WorkerSettings } from './remote/directory.js';

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
  /** Partitions the jobs are spread over by owner (fixed when the store is first made). @defaultValue 32 */
  partitions?: number;
  /** This instance's id among those sharing the prefix. @defaultValue the one its store keeps */
  instanceId?: string;
  /** Replicas of every stream and bucket it makes: job store, events, pipes, downloads, leases, members (3 on a 3-node cluster). @defaultValue 1 */
  replicas?: number;
  /** Lease, heartbeat and reconcile timings (docs/cluster.md): tests shorten them. */
  cluster?: Pick<LeasedOwnershipOptions, 'lease' | 'membership' | 'reconcileMs'>;
  /**
   * The partitions served here, decided by the caller (tests): no leases are taken. @defaultValue
   * with a store, the leases this instance holds; without, every partition
   */
  ownership?: Ownership;
  /** How long a forwarded command waits for its partition to be served somewhere, ms. @defaultValue 15000 */
  forwardWaitMs?: number;
}
