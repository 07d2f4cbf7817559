/**
 * `src/persist/snapshots.ts` is the one place that casts between XState's snapshot types and
 * the JSON a record keeps. These tests fail, naming the difference, if an XState upgrade
 * changes the persisted shape or how an actor is restored from it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { JobStatus, jobMachine, statusOf, transactionMachine } from '../../machines/index.js';
import type { PersistedSnapshot } from '../../src/persist/records.js';
import { persistedSnapshot, restoredJob, restoredTransaction } from '../../src/persist/snapshots.js';
import { createActorParent, stopJobs } from '../../src/service/actor-parent.js';

/** Through JSON, as the store keeps it. */
const stored = (s: PersistedSnapshot): PersistedSnapshot => JSON.parse(JSON.stringify(s)) as PersistedSnapshot;

describe('XState snapshots as the store keeps them (persist/snapshots.ts)', () => {
  test('a job alone: persisted with status, value and context; restored in its status with its context', () => {
    const parent = createActorParent();
    const job = createActor(jobMachine, { input: { id: 'j1', owner: 'alice', type: 'test', autoFinalize: false }, parent }).start();
    job.send({ type: 'create' });
    job.send({ type: 'start' });
    job.send({ type: 'pause' });
    const saved = stored(persistedSnapshot(job));
    for (const k of ['status', 'value', 'context']) assert.ok(k in saved, `XState's persisted snapshot has no '${k}' any more: persist/snapshots.ts and records.ts must change`);
    assert.equal(saved.status, 'active');
    const back = restoredJob(jobMachine, saved, parent);
    back.start();
    assert.equal(statusOf(back.getSnapshot()), JobStatus.paused, 'restored in the status it was saved in');
    assert.deepEqual(back.getSnapshot().context, job.getSnapshot().context, 'restored with the context it was saved with');
    back.send({ type: 'resume' });
    assert.equal(statusOf(back.getSnapshot()), JobStatus.running, 'the restored actor takes verbs');
    stopJobs(parent, [job, back]);
  });

  test('a grouped transaction: its members come back as its children, by id, each in its status', () => {
    const txn = createActor(transactionMachine, { input: { id: 't1', jobs: [{ id: 'a', owner: 'alice', type: 'test', txn: 't1' }, { id: 'b', owner: 'alice', type: 'test', txn: 't1' }] } }).start();
    txn.send({ type: 'create' });
    txn.send({ type: 'start' });
    const [a, b] = txn.getSnapshot().context.members;
    a!.send({ type: 'pause' });
    const own = stored(persistedSnapshot(txn));
    assert.ok(own.children && 'a' in own.children && 'b' in own.children, "XState no longer keeps a transaction's members as children by id: persist/snapshots.ts must change");
    const { children: _children, ...withoutChildren } = own;
    const back = restoredTransaction(transactionMachine, withoutChildren, [
      { id: 'a', snapshot: stored(persistedSnapshot(a!)) },
      { id: 'b', snapshot: stored(persistedSnapshot(b!)) },
    ]);
    back.start();
    const members = back.getSnapshot().context.members;
    assert.deepEqual(members.map((m) => m.id), ['a', 'b'], 'the members come back in order');
    assert.deepEqual(members.map((m) => statusOf(m.getSnapshot())), [JobStatus.paused, JobStatus.running]);
    txn.stop();
    back.stop();
  });
});
