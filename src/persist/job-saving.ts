/**
 * Saving the jobs' state in the job store as it changes: each job's actor and each grouped
 * transaction's is watched, and the store is told what changed (it writes at its own pace:
 * progress-only changes more slowly). What a record holds: records.ts. A job's events wait in
 * its outbox (outbox.ts) until a record holding them is written.
 */
import type { Logger } from 'pino';
import type { JobActorRef, JobEmitted, JobSnapshot, TransactionActorRef } from '../../machines/index.js';
import { JobEventName, JobStatus, statusOf } from '../../machines/index.js';
import { EventOutbox } from './outbox.js';
import type { Marked } from './outbox.js';
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

/** A job's event as the wire publishes it (refusals are not). */
export type JobWireEvent = Exclude<JobEmitted, { type: 'verb.refused' }>;

/** For observers whose actor's error another observer answers (XState rethrows an error an observer has no handler for). */
const IGNORED = () => undefined;

export class JobSaving {
  readonly #outbox: EventOutbox<JobWireEvent>;

  constructor(
    readonly store: JobStore,
    /** What the runtime keeps of a job beside its statechart. */
    private readonly saveRun: (owner: string, id: string) => SavedRun | undefined,
    /** Publishes a job's event, once the state it reports is saved; with its number and time (`mark`). */
    publish: (event: Marked<JobWireEvent>) => void,
  ) {
    this.#outbox = new EventOutbox(publish);
    store.onLanded((key, value) => this.#outbox.landed(key, value));
  }

  /** A job's event: published once a record holding it is written (JOB_PROGRESS: at once, in order). */
  event(entry: SavedJob, event: JobWireEvent): void {
    if (event.type === JobEventName.progress) {
      this.#outbox.pass(entry.storeKey, entry.seq, event);
      return;
    }
    this.#outbox.add(entry.storeKey, entry.seq, event);
    // Written at the next turn, with the event, even if the snapshot did not change.
    this.store.changed(entry.storeKey, () => this.#jobRecord(entry));
  }

  /** The job's record is removed (its events go once the removal is written). */
  removed(key: string): void {
    this.#outbox.gone(key);
    this.store.removed(key);
  }

  /**
   * A job dropped without being written (its partition is served elsewhere now): its unpublished
   * events are left to its record's outbox, which the instance that restores it publishes.
   */
  dropped(key: string): void {
    this.#outbox.forget(key);
  }

  /** A job is being restored from `record`: its numbering goes on, its outbox waits for {@link replay}. */
  restoring(key: string, record: JobRecord): void {
    this.#outbox.restored(key, record.seq, record.events);
  }

  /**
   * Publish the outboxes of the jobs restored since the last call, each from where the event
   * stream says it stopped, before their new events. Resolves with how many jobs had one.
   */
  async replay(logger: Logger): Promise<number> {
    const started = performance.now();
    const { jobs, published } = await this.#outbox.replay(this.store.nc, this.store.events, (err) =>
      logger.warn({ err }, 'job store: the event stream could not say which saved events are out; all are published again (the stream drops those it has)'),
    );
    if (jobs > 0) logger.info({ jobs, published, ms: Math.round(performance.now() - started) }, 'saved events checked against the event stream; the rest published');
    return jobs;
  }

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
        if (snapshot.status === 'done') for (const member of ids) this.removed(jobKey(owner, member));
      },
      error: IGNORED, // answered by the transaction's error observer
    });
    store.changed(k, record);
  }

  /** What the store keeps of a job; nothing once a job alone is dismissed (a member stays until its transaction is done). */
  #jobRecord(entry: SavedJob): JobRecord | undefined {
    if (!entry.txn && statusOf(entry.job.getSnapshot()) === JobStatus.null) {
      this.#outbox.gone(entry.storeKey);
      return undefined;
    }
    const run = this.saveRun(entry.owner, entry.id);
    const events = this.#outbox.saved(entry.storeKey);
    return {
      v: RECORD_VERSION,
      seq: entry.seq,
      snapshot: persistedSnapshot(entry.job),
      ...(run && { run }),
      ...(events && { events }),
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
