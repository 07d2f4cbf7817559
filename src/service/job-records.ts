/**
 * What the job store keeps (src/persist/job-store.ts): one record per job under
 * `job.<owner>.<id>`, one per grouped transaction under `txn.<owner>.<id>`, and the service's
 * instance id under `service.instance`. A job's record is its actor's persisted snapshot and
 * what the runtime keeps beside it; a transaction's is its actor's snapshot without its
 * members, who have records of their own.
 */
import type { SavedRun } from '../runtime/runtime.js';

export const jobKey = (owner: string, id: string): string => `job.${owner}.${id}`;
/**
 * The service's instance id (`svc` in the worker subjects), kept so that a restarted service
 * is the same instance to its workers, which then go on reporting to it.
 */
export const SERVICE_INSTANCE_KEY = 'service.instance';
export const txnKey = (owner: string, id: string): string => `txn.${owner}.${id}`;

/** The record format; a record of another version is not restored (and says so in the log). */
export const RECORD_VERSION = 1;

export interface JobRecord {
  v: typeof RECORD_VERSION;
  /** Creation order (query-jobs lists the newest first). */
  seq: number;
  /** The job actor's persisted snapshot (`getPersistedSnapshot()`). */
  snapshot: PersistedSnapshot;
  run?: SavedRun;
}

export interface TxnRecord {
  v: typeof RECORD_VERSION;
  seq: number;
  /** The member ids, in order. */
  members: string[];
  /** The transaction actor's persisted snapshot, its `children` left out. */
  snapshot: PersistedSnapshot;
}

/** A persisted XState snapshot, as the store holds it (JSON). */
export interface PersistedSnapshot {
  status: string;
  value: unknown;
  context: Record<string, unknown>;
  children?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What a key names, or undefined for a key that is not the service's. */
export function parseKey(key: string): { kind: 'job' | 'txn'; owner: string; id: string } | undefined {
  const [kind, owner, id, ...rest] = key.split('.');
  if ((kind !== 'job' && kind !== 'txn') || !owner || !id || rest.length > 0) return undefined;
  return { kind, owner, id };
}
