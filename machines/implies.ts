/**
 * What a job's state implies for the code around the machines, read from the states' tags
 * (see `tags.ts`) and, only where the state alone cannot tell, from the context.
 */
import type { JobSnapshot } from './job.js';
import type { WorkCommand } from './job-types.js';
import { JobTag, TransactionTag } from './tags.js';
import type { TransactionSnapshot } from './transaction.js';

/** Where a restored job's work stands, as the runtime brings it back. */
export type RestoredWork = 'running' | 'resting' | 'stopping' | 'preparing' | 'finished';

/** The work was started and has not reported how it ended. */
const working = ({ context }: JobSnapshot): boolean => context.startedAt !== undefined && context.outcome === undefined;

/**
 * What a job brought back by a restart needs from its work: to run again, to rest (paused or
 * keeping in sync), to be stopped, to prepare, or only its worker for the finalize hooks
 * (`finished`). Nothing for a job that never started or has concluded.
 */
export function restoredWork(snapshot: JobSnapshot): RestoredWork | undefined {
  if (snapshot.hasTag(JobTag.workLive) && working(snapshot)) {
    return snapshot.hasTag(JobTag.workResting) ? 'resting' : 'running';
  }
  if (snapshot.hasTag(JobTag.stopping)) return 'stopping';
  if (snapshot.hasTag(JobTag.preparing)) return 'preparing';
  // The work ended, the job is not finalized yet: its hooks may still need the work's worker.
  if (snapshot.hasTag(JobTag.unfinalized) && snapshot.context.startedAt !== undefined) return 'finished';
  return undefined;
}

/**
 * The commands that bring a (re)attached work in line with its job: paused or not, its speed,
 * and a cancel asked for. Each is idempotent on the work's side. Nothing once the work has ended.
 */
export function workSyncCommands(snapshot: JobSnapshot): WorkCommand[] {
  const { context } = snapshot;
  if (context.outcome !== undefined) return [];
  const commands: WorkCommand[] = [
    { type: snapshot.hasTag(JobTag.workPaused) ? 'pause' : 'resume' },
    { type: 'set-speed', speed: context.speed },
  ];
  if (context.cancel !== 'none') commands.push({ type: 'cancel', force: context.cancel === 'force' });
  return commands;
}

/** A job alone, after a finalize: it has moved on (committed, or aborting). */
export function finalizeSettled(snapshot: JobSnapshot): boolean {
  return !snapshot.hasTag(JobTag.finalizeOpen);
}

/** A transaction, after a finalize: it has committed, aborted, or every member is dismissed. */
export function transactionSettled(snapshot: TransactionSnapshot): boolean {
  return snapshot.hasTag(TransactionTag.settled);
}

/** A soft cancel was asked for (block-job-cancel with `force: false`): the work finishes without completing. */
export function softCancelled(snapshot: JobSnapshot): boolean {
  return snapshot.context.cancel === 'soft';
}
