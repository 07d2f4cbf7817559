/**
 * What the service does when partitions come and go (cluster/ownership.ts calls these): a gained
 * batch reads the store once and restores exactly the records of owners in those partitions, as
 * a restart does; a lost partition's jobs are dropped without writing.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { ServingHooks } from '../cluster/ownership.js';
import { partitionOf } from '../cluster/partition.js';
import type { JobStore } from '../persist/job-store.js';
import { readKept, setAsideAll } from '../persist/open.js';
import { ASIDE_PREFIX, SERVICE_INSTANCE_KEY, parseKey } from '../persist/records.js';
import type { JobManager } from './jobs.js';

/**
 * The partition a store key belongs to: its owner's. Keys of no form the service writes go with
 * partition 0 (whoever serves it sets them aside); the store's own values (instance id,
 * `meta.*`) and records set aside belong to none (-1).
 */
export function partitionOfKey(key: string, partitions: number): number {
  if (key === SERVICE_INSTANCE_KEY || key.startsWith(ASIDE_PREFIX) || key.startsWith('meta.')) return -1;
  const parsed = parseKey(key);
  return parsed ? partitionOf(parsed.owner, partitions) : 0;
}

/** How long a graceful handover waits for a partition's last changes to be saved. */
const HANDOVER_SAVE_MS = 5000;

export interface ServingParts {
  nc: NatsConnection;
  prefix: string;
  partitions: number;
  store: JobStore;
  jobs: JobManager;
  logger: Logger;
  /** After each restore: give the jobs their work back (once the service answers). */
  restored: () => void;
}

export function servingHooks(parts: ServingParts): ServingHooks {
  const { store, jobs, logger } = parts;
  return {
    restore: async (batch, held) => {
      const started = performance.now();
      const { records, told } = await readKept(store, parts.nc, parts.prefix, logger);
      const read = performance.now();
      const partitions = new Set(batch.filter(held));
      const mine = records.filter((r) => partitions.has(partitionOfKey(r.key, parts.partitions)));
      const { restored, rejected } = jobs.restore(mine, told);
      await setAsideAll(store, rejected, logger);
      const ms = Math.round(performance.now() - started);
      logger.info({ restored, records: mine.length, setAside: rejected.length, ms, readMs: Math.round(read - started), partitions: partitions.size }, 'jobs restored');
      parts.restored();
      return [...partitions];
    },
    flush: (partitions) => jobs.flushPartitions(partitions, HANDOVER_SAVE_MS),
    drop: (partitions) => {
      const dropped = jobs.dropPartitions(partitions);
      logger.info({ partitions, jobs: dropped }, 'jobs of partitions served elsewhere now dropped');
    },
  };
}
