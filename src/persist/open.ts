/**
 * Opening what a service keeps in JetStream for its prefix (names.ts): the event stream and the
 * job store's bucket, each created if need be, and the service's instance id kept in that
 * bucket. A service that cannot have them does not start: it says why, and how to run without.
 * Then reading what they keep, at start, and setting aside the records that cannot be restored.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ensureEventStream, lastProgress } from './event-stream.js';
import type { ToldProgress } from './event-stream.js';
import { JobStore } from './job-store.js';
import type { JobStoreOptions } from './job-store.js';
import { storeNames } from './names.js';
import { SERVICE_INSTANCE_KEY } from './records.js';
import type { Rejected, StoredRecord } from './records.js';
import type { PersistenceSettings } from './settings.js';

/**
 * The job store and the event stream of `prefix`, created if need be; `onWrite` gets each
 * write's time, seconds; `mayWrite` and `onConflict`: the partitions served here (write-behind.ts).
 */
export async function openStore(nc: NatsConnection, prefix: string, settings: PersistenceSettings, opts: JobStoreOptions): Promise<JobStore> {
  const names = storeNames(prefix);
  try {
    await ensureEventStream(nc, names.stream, prefix, { maxAgeMs: settings.eventsMaxAgeMs, maxBytes: settings.eventsMaxBytes, replicas: opts.replicas ?? 1 });
    return await JobStore.open(nc, names.bucket, { ...opts, events: { stream: names.stream, prefix } });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new StoreUnavailableError(why, err);
  }
}

/**
 * The service's instance id: `given` (JOBS_INSTANCE_ID: several instances share one store, each
 * with its own), else the one its store keeps, `make()` at the first start. One that is
 * not `valid` is set aside and replaced (its workers' jobs then cannot re-attach: they fail
 * as after a restart without a store).
 */
export async function instanceId(
  store: JobStore,
  opts: { make: () => string; valid: (id: string) => boolean; logger: Logger; given?: string | undefined },
): Promise<string> {
  if (opts.given !== undefined) return opts.given;
  const valid = (v: unknown): v is string => typeof v === 'string' && opts.valid(v);
  return store.getOrCreate(SERVICE_INSTANCE_KEY, opts.make, valid, (revision, reason) => {
    opts.logger.error({ key: SERVICE_INSTANCE_KEY, revision, reason }, 'job store: the service instance id is not one; set aside, a new one made');
  });
}

/** Where the store keeps the number of partitions its jobs are spread over (fixed at its first start). */
export const PARTITIONS_KEY = 'meta.partitions';

/**
 * The number of partitions of this store: `wanted` is written at its first start; another value
 * later is refused with a {@link PartitionsMismatchError} (the jobs' partitions would all move).
 */
export async function storePartitions(store: JobStore, wanted: number, logger: Logger): Promise<number> {
  const valid = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
  const kept = await store.getOrCreate(PARTITIONS_KEY, () => wanted, valid, (revision, reason) => {
    logger.error({ key: PARTITIONS_KEY, revision, reason }, 'job store: the number of partitions is not one; set aside, written again');
  });
  if (kept !== wanted) throw new PartitionsMismatchError(kept, wanted);
  return kept;
}

/** JOBS_PARTITIONS differs from the number the store was created with. */
export class PartitionsMismatchError extends Error {
  constructor(
    readonly stored: number,
    readonly wanted: number,
  ) {
    super(
      `Invalid setting JOBS_PARTITIONS: it is ${wanted}, but this prefix's job store was created with ${stored} partitions (key ${PARTITIONS_KEY}); ` +
        `set JOBS_PARTITIONS=${stored} (every instance of a prefix must use the same number), or start over with a new JOBS_PREFIX`,
    );
    this.name = 'PartitionsMismatchError';
  }
}

/**
 * What is kept, read at once at start: every record of the store, and the progress clients
 * were last told (events, JobInfo) by `<owner>.<id>`, which may be ahead of what was saved: a
 * restored job comes back with at least that. Without it (the event stream unreadable), jobs
 * come back with the progress saved.
 */
export async function readKept(
  store: JobStore,
  nc: NatsConnection,
  prefix: string,
  logger: Logger,
): Promise<{ records: StoredRecord[]; told: Map<string, ToldProgress> }> {
  const [records, told] = await Promise.all([
    store.loadAll(),
    lastProgress(nc, storeNames(prefix).stream, prefix).catch((err: unknown) => {
      logger.warn({ err }, 'the progress last told could not be read from the event stream; jobs come back with the progress saved');
      return new Map<string, ToldProgress>();
    }),
  ]);
  return { records, told };
}

/** Set aside the records that cannot be restored, one after the other; one that fails stays in place. */
export async function setAsideAll(store: JobStore, rejected: Iterable<Rejected>, logger: Logger): Promise<void> {
  for (const r of rejected) {
    await store.setAside(r.key, r.revision).catch((err: unknown) => logger.warn({ err, key: r.key }, 'job store: setting a record aside failed; it stays in place'));
  }
}

/** The job store or the event stream cannot be had (JetStream off, or no permission). */
export class StoreUnavailableError extends Error {
  constructor(why: string, cause: unknown) {
    super(`Cannot keep jobs in JetStream (${why}): enable JetStream on the nats-server, or set JOBS_PERSIST=false to keep jobs in memory only`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
