/**
 * Saving the jobs' state in the job store as it changes: each job's actor and each grouped
 * transaction's is watched, and the store is told what changed (it writes at its own pace:
 * progress-only changes more slowly). What a record holds: records.ts.
 */
import type { JobActorRef, JobSnapshot, TransactionActorRef } from '../../machines/index.js';
import { JobStatus, statusOf } from '../../machines/index.js';
import type { SavedRun } from './records.js';
import { RECORD_VERSION, jobKey, txnKey } from './records.js';
import type { JobRecord, TxnRecord } from './records.js';
import { persistedSnapshot } from './snapshots.js';
import type { JobStore } from './job-store.js';

/** A job as its saving sees it. */
export interface SavedJob {
  readonly id: string;
  readonly owner: string;
  readonly seq: number;
  readonly storeKey: string;
  readonly job: JobActorRef;
  /** Set for a member of a grouped transaction. */
  readonly txn?: unknown;
}

/** For observers whose actor's error another observer answers (XState rethrows an error an observer has no handler for). */
const IGNORED = () => undefined;

export class JobSaving {
  constructor(
    readonly store: JobStore,
    /** What the runtime keeps of a job beside its statechart. */
    private readonly saveRun: (owner: string, id: string) => SavedRun | undefined,
  ) {}

  /** Save a job's record whenever its actor changes; `fresh` (a new job, not a restored one): now too. */
  watchJob(entry: SavedJob, fresh: boolean): void {
    const store = this.store;
    const record = () => this.#jobRecord(entry);
    let previous = entry.job.getSnapshot();
    entry.job.subscribe({
      next: (snapshot) => {
        store.changed(entry.storeKey, record, progressOnly(previous, snapshot));
        previous = snapshot;
      },
      error: IGNORED, // answered by the job's (or its transaction's) error observer
    });
    if (fresh) store.changed(entry.storeKey, record);
  }

  /** Save a grouped transaction's own state as it changes; once it is done, remove it and its members. */
  watchTxn(txn: TransactionActorRef, owner: string, id: string, seq: number): void {
    const store = this.store;
    const k = txnKey(owner, id);
    const record = (): TxnRecord | undefined => {
      const snapshot = txn.getSnapshot();
      if (snapshot.status === 'done') return undefined;
      const { children: _children, ...own } = persistedSnapshot(txn);
      return { v: RECORD_VERSION, seq, members: snapshot.context.members.map((m) => m.id), snapshot: own };
    };
    const ids = txn.getSnapshot().context.members.map((m) => m.id);
    txn.subscribe({
      next: (snapshot) => {
        store.changed(k, record);
        if (snapshot.status === 'done') for (const member of ids) store.removed(jobKey(owner, member));
      },
      error: IGNORED, // answered by the transaction's error observer
    });
    store.changed(k, record);
  }

  /** What the store keeps of a job; nothing once a job alone is dismissed (a member stays until its transaction is done). */
  #jobRecord(entry: SavedJob): JobRecord | undefined {
    if (!entry.txn && statusOf(entry.job.getSnapshot()) === JobStatus.null) return undefined;
    const run = this.saveRun(entry.owner, entry.id);
    return {
      v: RECORD_VERSION,
      seq: entry.seq,
      snapshot: persistedSnapshot(entry.job),
      ...(run && { run }),
    };
  }
}

/** The store keys of a job's state: its own and, while the job is kept (`job`), its grouped transaction's. */
export function storeKeysOf(owner: string, id: string, job: JobActorRef | undefined): string[] {
  const txn = job?.getSnapshot().context.job.txn;
  return txn === undefined ? [jobKey(owner, id)] : [jobKey(owner, id), txnKey(owner, txn)];
}

/** Whether a job's snapshot changed in its progress or description only (saved at a slower pace). */
function progressOnly(before: JobSnapshot, after: JobSnapshot): boolean {
  if (before.value !== after.value && JSON.stringify(before.value) !== JSON.stringify(after.value)) return false;
  const a = before.context as unknown as Record<string, unknown>;
  const b = after.context as unknown as Record<string, unknown>;
  for (const k in b) if (k !== 'progress' && k !== 'description' && a[k] !== b[k]) return false;
  for (const k in a) if (!(k in b)) return false;
  return true;
}
