/**
 * The one place that converts between XState's snapshots and the JSON a record keeps: XState
 * types a persisted snapshot as `Snapshot<unknown>` and an actor restored from one as needing
 * its input, neither of which fits a snapshot read back from the store. The shape relied on
 * (status, value, context, and children for a transaction) is checked by
 * test/persist/snapshots.test.ts, which fails, naming the difference, if XState changes it.
 */
import { createActor } from 'xstate';
import type { AnyActorRef } from 'xstate';
import type { JobActorRef, TransactionActorRef, jobMachine, transactionMachine } from '../../machines/index.js';
import type { PersistedSnapshot } from './records.js';

/** What the store keeps of an actor: its persisted snapshot. */
export function persistedSnapshot(actor: JobActorRef | TransactionActorRef): PersistedSnapshot {
  return actor.getPersistedSnapshot() as unknown as PersistedSnapshot;
}

/** A job actor (not started) from the snapshot its record kept. */
export function restoredJob(logic: typeof jobMachine, snapshot: PersistedSnapshot, parent: AnyActorRef): JobActorRef {
  return createActor(logic, { snapshot: snapshot as never, input: undefined as never, parent });
}

/**
 * A grouped transaction's actor (not started) from its record's snapshot and its members'
 * snapshots (XState restores the members as the transaction's children, by id).
 */
export function restoredTransaction(
  logic: typeof transactionMachine,
  snapshot: PersistedSnapshot,
  members: ReadonlyArray<{ id: string; snapshot: PersistedSnapshot }>,
): TransactionActorRef {
  const children = Object.fromEntries(members.map((m) => [m.id, { snapshot: m.snapshot, src: 'job' }]));
  return createActor(logic, { snapshot: { ...snapshot, children } as never, input: undefined as never });
}
