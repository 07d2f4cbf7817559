/**
 * What the job store keeps (job-store.ts): one record per job under `job.<owner>.<id>`, one per
 * grouped transaction under `txn.<owner>.<id>`, and the service's instance id under
 * `service.instance`. A job's record is its actor's persisted snapshot and what the runtime
 * keeps of its run beside it ({@link SavedRun}); a transaction's is its actor's snapshot
 * without its members, who have records of their own. Every record carries its format's
 * version. Records read at start are checked here before anything is restored from them
 * ({@link sortRecords}): one that is not a record of its key is rejected (and set aside), one
 * of another version is left in place (a newer service may read it).
 */
import { z } from 'zod';
import type { ToldProgress } from './event-stream.js';

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
  /** The job's event numbering and the events not known to be published (outbox.ts); absent in records of older services. */
  events?: SavedEvents;
}

/** When an event happened, as QMP stamps events: seconds and microseconds since the epoch. */
export interface Timestamp {
  seconds: number;
  microseconds: number;
}

/** An event in a record's outbox. */
export interface SavedEvent {
  seq: number;
  type: string;
  data: unknown;
  at: Timestamp;
}

/** What a job record keeps of its events. */
export interface SavedEvents {
  /** The last number given to an event of the job. */
  seq: number;
  /** The numbered events not known to be published, in order. */
  outbox: SavedEvent[];
}

/** What a job record keeps of the job's run beside its statechart (JobRuntime's `saveRun`/`restore`). */
export interface SavedRun {
  scratch: Record<string, unknown>;
  softCancelled?: boolean;
  log?: SavedLog;
  /** The remote worker the job's work was dispatched to. */
  worker?: string;
  /** For work on a worker: the type's secret params as the workers announced them (masked from the start after a restart). */
  secrets?: string[];
}

/** What survives a restart of a job's log: the excerpt's lines and how many were written. */
export interface SavedLog {
  head: string[];
  tail: string[];
  count: number;
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

/** Keys the service moved its unreadable records to (`aside.<key>`): never read back as jobs. */
export const ASIDE_PREFIX = 'aside.';

const Snapshot = z.looseObject({ status: z.string(), value: z.unknown(), context: z.looseObject({}) });
const JobRecordShape = z.looseObject({
  v: z.literal(RECORD_VERSION),
  seq: z.number().int().nonnegative(),
  snapshot: Snapshot.extend({
    context: z.looseObject({ job: z.looseObject({ id: z.string(), owner: z.string(), type: z.string() }) }),
  }),
  run: z.looseObject({}).optional(),
  events: z
    .looseObject({
      seq: z.number().int().nonnegative(),
      outbox: z.array(z.looseObject({ seq: z.number().int().positive(), type: z.string(), data: z.looseObject({}), at: z.looseObject({ seconds: z.number(), microseconds: z.number() }) })),
    })
    .optional(),
});
const TxnRecordShape = z.looseObject({
  v: z.literal(RECORD_VERSION),
  seq: z.number().int().nonnegative(),
  members: z.array(z.string()).min(1),
  snapshot: Snapshot,
});

/**
 * What is wrong with the record `value` read under `key` (a job's or a transaction's), or
 * undefined if it is one this service can restore. A record of another version is not wrong:
 * {@link otherVersion} tells it apart first.
 */
export function recordProblem(key: string, value: unknown): string | undefined {
  const parsed = parseKey(key);
  if (!parsed) return 'a key of no form the service writes';
  const shape = (parsed.kind === 'job' ? JobRecordShape : TxnRecordShape).safeParse(value);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    return `not a ${parsed.kind} record: ${issue?.path.join('.') || 'the record'}: ${issue?.message}`;
  }
  if (parsed.kind === 'job') {
    const job = (value as JobRecord).snapshot.context.job as { id: string; owner: string };
    if (job.id !== parsed.id || job.owner !== parsed.owner) return `the record is of job '${job.owner}/${job.id}', not of its key's`;
  }
  return undefined;
}

/** The version of a record written by another version of the service, or undefined. */
export function otherVersion(value: unknown): number | undefined {
  const v = (value as { v?: unknown } | null)?.v;
  return typeof v === 'number' && v !== RECORD_VERSION ? v : undefined;
}

/** What a key names, or undefined for a key that is not the service's. */
export function parseKey(key: string): { kind: 'job' | 'txn'; owner: string; id: string } | undefined {
  const [kind, owner, id, ...rest] = key.split('.');
  if ((kind !== 'job' && kind !== 'txn') || !owner || !id || rest.length > 0) return undefined;
  return { kind, owner, id };
}

/** A record read from the store: its value, or `bad` when it is not JSON. */
export interface StoredRecord {
  key: string;
  revision: number;
  value?: unknown;
  bad?: string;
}

/** A record the service cannot restore and moves aside (see {@link ASIDE_PREFIX}). */
export interface Rejected {
  key: string;
  revision: number;
  reason: string;
}

/**
 * The job and transaction records among `entries`, each checked: records that are not
 * JSON, not of a record's shape, under a key of no form the service writes, or of another
 * job than their key's are `rejected`; records of another version are `otherVersions` (left
 * in place: a newer service may read them); the instance id and records set aside earlier
 * are skipped.
 */
export function sortRecords(entries: Iterable<StoredRecord>): {
  jobs: Map<string, { revision: number; record: JobRecord }>;
  txns: Array<{ owner: string; id: string; key: string; revision: number; record: TxnRecord }>;
  rejected: Rejected[];
  otherVersions: Array<{ key: string; version: number }>;
} {
  const jobs = new Map<string, { revision: number; record: JobRecord }>();
  const txns: Array<{ owner: string; id: string; key: string; revision: number; record: TxnRecord }> = [];
  const rejected: Rejected[] = [];
  const otherVersions: Array<{ key: string; version: number }> = [];
  for (const { key, revision, value, bad } of entries) {
    if (key === SERVICE_INSTANCE_KEY || key.startsWith(ASIDE_PREFIX)) continue;
    const version = bad === undefined ? otherVersion(value) : undefined;
    if (version !== undefined && parseKey(key)) {
      otherVersions.push({ key, version });
      continue;
    }
    const reason = bad ?? recordProblem(key, value);
    if (reason !== undefined) {
      rejected.push({ key, revision, reason });
      continue;
    }
    const parsed = parseKey(key)!;
    if (parsed.kind === 'job') jobs.set(key, { revision, record: value as JobRecord });
    else txns.push({ ...parsed, key, revision, record: value as TxnRecord });
  }
  return { jobs, txns, rejected, otherVersions };
}

/**
 * Bring a job record's progress up to what clients were told (`told`, by `<owner>.<id>`):
 * progress alone is saved once a second at most, so after a crash the record may be behind
 * the last JOB_PROGRESS event. QEMU's current-progress never decreases, across a restart too.
 * A resumable handler then sees that progress in `job.resumed`.
 */
export function raiseProgress(record: JobRecord, told: ReadonlyMap<string, ToldProgress>): void {
  const { context } = record.snapshot;
  const job = context.job as { owner: string; id: string };
  const last = told.get(`${job.owner}.${job.id}`);
  const saved = context.progress as { current: number } | undefined;
  const startedAt = context.startedAt;
  // Only what this job told: an earlier job of the same id (dismissed since) told its own.
  if (typeof startedAt !== 'number' || !last || last.at < startedAt) return;
  if (last.current > (saved?.current ?? 0)) context.progress = { current: last.current, total: Math.max(last.total, last.current) };
}
