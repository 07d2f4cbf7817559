/**
 * Opening what a service keeps in JetStream for its prefix (names.ts): the event stream and the
 * job store's bucket, each created if need be, and the service's instance id kept in that
 * bucket. A service that cannot have them does not start: it says why, and how to run without.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ensureEventStream } from './event-stream.js';
import { JobStore } from './job-store.js';
import { storeNames } from './names.js';
import { SERVICE_INSTANCE_KEY } from './records.js';
import type { PersistenceSettings } from './settings.js';

/** The job store and the event stream of `prefix`, created if need be; `onWrite` gets each write's time, seconds. */
export async function openStore(
  nc: NatsConnection,
  prefix: string,
  settings: PersistenceSettings,
  opts: { logger: Logger; onWrite?: (seconds: number) => void },
): Promise<JobStore> {
  const names = storeNames(prefix);
  try {
    await ensureEventStream(nc, names.stream, prefix, { maxAgeMs: settings.eventsMaxAgeMs, maxBytes: settings.eventsMaxBytes });
    return await JobStore.open(nc, names.bucket, { ...opts, events: { stream: names.stream, prefix } });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreUnavailableError(why, err);
  }
}

/**
 * The service's instance id as its store keeps it, `make()` at the first start. One that is
 * not `valid` is set aside and replaced (its workers' jobs then cannot re-attach: they fail
 * as after a restart without a store).
 */
export async function instanceId(
  store: JobStore,
  opts: { make: () => string; valid: (id: string) => boolean; logger: Logger },
): Promise<string> {
  const valid = (v: unknown): v is string => typeof v === 'string' && opts.valid(v);
  return store.getOrCreate(SERVICE_INSTANCE_KEY, opts.make, valid, (revision, reason) => {
    opts.logger.error({ key: SERVICE_INSTANCE_KEY, revision, reason }, 'job store: the service instance id is not one; set aside, a new one made');
  });
}

/** The job store or the event stream cannot be had (JetStream off, or no permission). */
export class StoreUnavailableError extends Error {
  constructor(why: string, cause: unknown) {
    super(`Cannot keep jobs in JetStream (${why}): enable JetStream on the nats-server, or set JOBS_PERSIST=false to keep jobs in memory only`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
