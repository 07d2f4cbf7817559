/**
 * The tags the machines put on their states: what a state implies for the world outside
 * (the work, a restart, a finalize), so that code outside `machines/` asks a snapshot
 * (`snapshot.hasTag(...)`) instead of re-deriving it from the status.
 */

/** Tags on the job machine's states. */
export const JobTag = {
  /** The work is there to be told things: running, paused, ready, standby. */
  workLive: 'work-live',
  /** The work is parked or keeping in sync, not making its way: paused, ready, standby. */
  workResting: 'work-resting',
  /** The work is told to pause: paused, standby. */
  workPaused: 'work-paused',
  /** The work's part is over but the job has not concluded: waiting, pending, aborting. */
  unfinalized: 'unfinalized',
  /** A finalize has yet to move the job on: pending. */
  finalizeOpen: 'finalize-open',
  /** The fallible first half of finalize is under way: pending.preparing. */
  preparing: 'preparing',
  /** The work was told to stop and has not reported back: aborting.stopping. */
  stopping: 'stopping',
} as const;
export type JobTag = (typeof JobTag)[keyof typeof JobTag];

/** Tags on the transaction machine's states. */
export const TransactionTag = {
  /** Finalize has moved on for good: committed, aborted, done. */
  settled: 'settled',
} as const;
export type TransactionTag = (typeof TransactionTag)[keyof typeof TransactionTag];
