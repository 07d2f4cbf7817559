/**
 * Bringing back the jobs the store kept, at start: every record checked, the jobs alone in
 * the order they were created, then the grouped transactions with their members; each job's
 * actor made from its saved snapshot and handed to the service to keep. A record that cannot
 * be brought back is set aside (by the caller, from `rejected`), each logged with why.
 */
import type { AnyActorRef } from 'xstate';
import type { Logger } from 'pino';
import { JobStatus, statusOf } from '../../machines/index.js';
import type { JobActorRef, JobInput, TransactionActorRef, jobMachine, transactionMachine } from '../../machines/index.js';
import type { SavedRun } from './records.js';
import { jobKey, raiseProgress, sortRecords } from './records.js';
import type { Rejected, StoredRecord } from './records.js';
import type { ToldProgress } from './event-stream.js';
import type { JobSaving } from './job-saving.js';
import { restoredJob, restoredTransaction } from './snapshots.js';

/** What restoring needs of the service that keeps the jobs. */
export interface RestoreParts<E> {
  readonly saving: JobSaving;
  readonly logger: Logger;
  readonly jobLogic: typeof jobMachine;
  readonly txnLogic: typeof transactionMachine;
  /** The parent of the jobs alone. */
  readonly parent: AnyActorRef;
  /** Keep and watch a restored job, with what was saved of its run. */
  register(input: JobInput, job: JobActorRef, txn: TransactionActorRef | undefined, seq: number, run: SavedRun | null): E;
  /** Undo what {@link register} did for a job that could not be brought back after all. */
  unregister(input: JobInput): void;
  /** A job's or a transaction's actors failed (a bug). */
  lost(actorId: string, inputs: JobInput[], err: unknown): void;
  /** The creation number of the latest job or transaction brought back. */
  seqAtLeast(seq: number): void;
}

/**
 * Bring back the jobs of `entries` (at start, before any command), each in its status, with
 * its id; `told`: the progress clients were told last, which a job comes back with at least.
 * Returns how many jobs came back, what the service kept of them (their work is given back
 * later), and the records that could not be restored.
 */
export function restoreJobs<E>(
  entries: Iterable<StoredRecord>,
  told: ReadonlyMap<string, ToldProgress>,
  parts: RestoreParts<E>,
): { restored: number; kept: E[]; rejected: Rejected[] } {
  const { store } = parts.saving;
  const { logger } = parts;
  const { jobs, txns, rejected, otherVersions } = sortRecords(entries);
  const kept: E[] = [];
  for (const { record } of jobs.values()) raiseProgress(record, told);
  for (const { key: k, version } of otherVersions) {
    logger.error({ key: k, version }, 'job store: a record of another version of the service; left as it is');
  }
  const reject = (k: string, revision: number, reason: string) => {
    rejected.push({ key: k, revision, reason });
  };
  let restored = 0;
  const byCreation = [...jobs].sort(([, a], [, b]) => a.record.seq - b.record.seq);
  for (const [k, { revision, record }] of byCreation) {
    const input = record.snapshot.context.job as JobInput;
    if (input.txn !== undefined) continue; // restored with its transaction
    let job: JobActorRef | undefined;
    try {
      job = restoredJob(parts.jobLogic, record.snapshot, parts.parent);
      const started = job;
      started.subscribe({ error: (err) => parts.lost(input.id, [input], err) });
      started.start();
      store.adopt(k, revision);
      kept.push(parts.register(input, started, undefined, record.seq, record.run ?? null));
    } catch (err) {
      job?.stop();
      store.forget(k);
      parts.unregister(input);
      reject(k, revision, `its job cannot be brought back: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    parts.seqAtLeast(record.seq);
    restored++;
  }
  for (const t of txns) {
    const members = t.record.members.map((id) => ({ id, ...jobs.get(jobKey(t.owner, id)) }));
    const missing = members.filter((m) => !m.record).map((m) => m.id);
    if (missing.length > 0) {
      logger.error({ owner: t.owner, txn: t.id, missing }, 'job store: a grouped transaction without all its members; not restored');
      continue;
    }
    const inputs = members.map((m) => m.record!.snapshot.context.job as JobInput);
    let txn: TransactionActorRef | undefined;
    const entries: E[] = [];
    try {
      txn = restoredTransaction(parts.txnLogic, t.record.snapshot, members.map((m) => ({ id: m.id, snapshot: m.record!.snapshot })));
      txn.subscribe({ error: (err) => parts.lost(t.id, inputs, err) });
      txn.start();
      store.adopt(t.key, t.revision);
      for (const m of members) store.adopt(jobKey(t.owner, m.id), m.revision!);
      for (const [i, ref] of txn.getSnapshot().context.members.entries()) {
        if (statusOf(ref.getSnapshot()) === JobStatus.null) continue; // dismissed, kept for its transaction
        entries.push(parts.register(inputs[i]!, ref, txn, members[i]!.record!.seq, members[i]!.record!.run ?? null));
      }
    } catch (err) {
      txn?.stop();
      store.forget(t.key);
      for (const m of members) store.forget(jobKey(t.owner, m.id));
      for (const input of inputs) parts.unregister(input);
      reject(t.key, t.revision, `its transaction cannot be brought back: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    parts.seqAtLeast(Math.max(t.record.seq, ...members.map((m) => m.record!.seq)));
    parts.saving.watchTxn(txn, t.owner, t.id, t.record.seq);
    kept.push(...entries);
    restored += entries.length;
  }
  for (const r of rejected) {
    logger.error({ key: r.key, revision: r.revision, reason: r.reason }, 'job store: a record that cannot be restored; set aside');
  }
  return { restored, kept, rejected };
}
