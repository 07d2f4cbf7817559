/**
 * What a status implies (`machines/implies.ts`), read from the states' tags. Every status is
 * driven with the machines' own events and checked against the answer written out by hand;
 * then every model path, step by step, is checked against the status comparisons the service
 * and the runtime made before the tags existed (kept here as the reference).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import {
  finalizeSettled,
  restoredWork,
  softCancelled,
  statusOf,
  transactionSettled,
  workSyncCommands,
  JOB_STATUSES,
  JobStatus,
} from '../../machines/index.js';
import type { JobMachineEvent, JobInput, JobSnapshot, TransactionSnapshot, WorkCommand } from '../../machines/index.js';
import { harness, settle } from '../support/harness.js';
import type { Harness } from '../support/harness.js';
import { jobModel, modelMachine } from '../../src/testing/job-model.js';

/** The service's `#resume` before the tags: what a restored job's work needs. */
function referenceRestoredWork(snapshot: JobSnapshot): ReturnType<typeof restoredWork> {
  const status = statusOf(snapshot);
  const { context } = snapshot;
  if (status === JobStatus.concluded) return undefined;
  const working = context.startedAt !== undefined && context.outcome === undefined;
  if (status === JobStatus.running && working) return 'running';
  if ((status === JobStatus.paused || status === JobStatus.ready || status === JobStatus.standby) && working) return 'resting';
  if (snapshot.matches({ aborting: 'stopping' })) return 'stopping';
  if (snapshot.matches({ pending: 'preparing' })) return 'preparing';
  if (context.startedAt !== undefined && (status === JobStatus.waiting || status === JobStatus.pending || status === JobStatus.aborting)) {
    return 'finished';
  }
  return undefined;
}

/** The runtime's `syncCommands` before the tags. */
function referenceSyncCommands(snapshot: JobSnapshot): WorkCommand[] {
  const { context } = snapshot;
  if (context.outcome !== undefined) return [];
  const status = statusOf(snapshot);
  const paused = status === JobStatus.paused || status === JobStatus.standby;
  const commands: WorkCommand[] = [{ type: paused ? 'pause' : 'resume' }, { type: 'set-speed', speed: context.speed }];
  if (context.cancel !== 'none') commands.push({ type: 'cancel', force: context.cancel === 'force' });
  return commands;
}

/** The service's `#finalized` before the tags. */
const referenceFinalizeSettled = (s: JobSnapshot) => statusOf(s) !== JobStatus.pending;
const referenceTransactionSettled = (s: TransactionSnapshot) => s.matches('committed') || s.matches('aborted') || s.status === 'done';

const RESUME = { type: 'resume' } as const;
const PAUSE = { type: 'pause' } as const;
const speed = (n: number) => ({ type: 'set-speed', speed: n }) as const;

/** What every function answers for `id` in `h`, and its status (and substate). */
function implied(h: Harness, id: string) {
  const snapshot = h.job(id).getSnapshot();
  return {
    value: snapshot.value,
    restored: restoredWork(snapshot),
    sync: workSyncCommands(snapshot),
    finalizeSettled: finalizeSettled(snapshot),
    softCancelled: softCancelled(snapshot),
  };
}

describe('what a status implies, status by status', () => {
  test('undefined and created: no work to restore; the work is told to run at its speed', () => {
    for (const until of ['spawned', 'created'] as const) {
      const h = harness({ jobs: [{ id: 'j' }], until });
      assert.deepEqual(implied(h, 'j'), {
        value: until === 'spawned' ? 'undefined' : 'created',
        restored: undefined,
        sync: [RESUME, speed(0)],
        finalizeSettled: true,
        softCancelled: false,
      });
    }
  });

  test('running: the work runs again', () => {
    const h = harness({ jobs: [{ id: 'j', speed: 5 }] });
    assert.deepEqual(implied(h, 'j'), { value: 'running', restored: 'running', sync: [RESUME, speed(5)], finalizeSettled: true, softCancelled: false });
  });

  test('paused: the work rests, paused', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    assert.deepEqual(implied(h, 'j'), { value: 'paused', restored: 'resting', sync: [PAUSE, speed(0)], finalizeSettled: true, softCancelled: false });
  });

  test('ready: the work rests, not paused; a soft cancel is passed on and shows', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    assert.deepEqual(implied(h, 'j'), {
      value: { ready: 'converged' },
      restored: 'resting',
      sync: [RESUME, speed(0)],
      finalizeSettled: true,
      softCancelled: false,
    });
    h.send('j', { type: 'cancel', force: false });
    assert.deepEqual(implied(h, 'j'), {
      value: { ready: 'converged' },
      restored: 'resting',
      sync: [RESUME, speed(0), { type: 'cancel', force: false }],
      finalizeSettled: true,
      softCancelled: true,
    });
  });

  test('standby: the work rests, paused; back in ready it resumes', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    assert.deepEqual(implied(h, 'j'), { value: 'standby', restored: 'resting', sync: [PAUSE, speed(0)], finalizeSettled: true, softCancelled: false });
    h.send('j', { type: 'resume' });
    assert.deepEqual(implied(h, 'j'), {
      value: { ready: 'resumed' },
      restored: 'resting',
      sync: [RESUME, speed(0)],
      finalizeSettled: true,
      softCancelled: false,
    });
  });

  test('waiting: the work finished; nothing to tell it', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    assert.deepEqual(implied(h, 'a'), { value: 'waiting', restored: 'finished', sync: [], finalizeSettled: true, softCancelled: false });
  });

  test('pending, held then preparing: finished, then preparing; finalize not settled until it moves on', async () => {
    const h = harness({ jobs: [{ id: 'a', autoFinalize: false }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    h.send('b', { type: 'work.done' });
    assert.deepEqual(implied(h, 'a'), { value: { pending: 'held' }, restored: 'finished', sync: [], finalizeSettled: false, softCancelled: false });
    assert.equal(transactionSettled(h.txn.getSnapshot()), false);
    h.send('a', { type: 'finalize' });
    assert.deepEqual(implied(h, 'a'), { value: { pending: 'preparing' }, restored: 'preparing', sync: [], finalizeSettled: false, softCancelled: false });
    assert.equal(transactionSettled(h.txn.getSnapshot()), false);
    await settle();
    assert.equal(statusOf(h.job('a').getSnapshot()), JobStatus.null);
    assert.equal(transactionSettled(h.txn.getSnapshot()), true);
  });

  test('aborting, stopping then stopped: stopping, then finished', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.failed', error: 'boom' });
    assert.deepEqual(implied(h, 'a'), { value: { aborting: 'stopped' }, restored: 'finished', sync: [], finalizeSettled: true, softCancelled: false });
    assert.deepEqual(implied(h, 'b'), {
      value: { aborting: 'stopping' },
      restored: 'stopping',
      sync: [RESUME, speed(0), { type: 'cancel', force: true }],
      finalizeSettled: true,
      softCancelled: false,
    });
    assert.equal(transactionSettled(h.txn.getSnapshot()), false);
  });

  test('aborting before the work started: nothing to restore', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }], until: 'created' });
    h.send('a', { type: 'cancel' });
    assert.equal(statusOf(h.job('b').getSnapshot()), JobStatus.null);
    assert.equal(restoredWork(h.job('b').getSnapshot()), undefined);
  });

  test('concluded and null: nothing to restore, nothing to tell', () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    h.send('j', { type: 'work.done' });
    return settle().then(() => {
      assert.deepEqual(implied(h, 'j'), { value: 'concluded', restored: undefined, sync: [], finalizeSettled: true, softCancelled: false });
      assert.equal(transactionSettled(h.txn.getSnapshot()), true);
      h.send('j', { type: 'dismiss' });
      assert.deepEqual(implied(h, 'j'), { value: 'null', restored: undefined, sync: [], finalizeSettled: true, softCancelled: false });
      assert.equal(h.txn.getSnapshot().status, 'done');
      assert.equal(transactionSettled(h.txn.getSnapshot()), true);
    });
  });

  test('a transaction: settled once committed or aborted, not before', () => {
    const h = harness({ jobs: [{ id: 'a', autoDismiss: false }, { id: 'b', autoDismiss: false }], until: 'spawned' });
    const seen: Array<[unknown, boolean]> = [];
    const look = () => {
      const s = h.txn.getSnapshot();
      seen.push([s.value, transactionSettled(s)]);
      assert.equal(transactionSettled(s), referenceTransactionSettled(s), JSON.stringify(s.value));
    };
    look();
    h.create();
    look();
    h.start();
    look();
    h.send('a', { type: 'work.failed', error: 'boom' });
    look();
    h.send('b', { type: 'work.failed', error: 'stopped' });
    look();
    assert.deepEqual(seen, [
      ['idle', false],
      ['created', false],
      ['running', false],
      ['aborting', false],
      ['aborted', true],
    ]);
  });
});

describe('what a status implies, on every model path', () => {
  for (const input of [{}, { txn: undefined }, { txn: undefined, autoFinalize: true, autoDismiss: true }] as Array<Partial<JobInput>>) {
    test(`agrees with the status comparisons it replaces (${JSON.stringify(input)})`, () => {
      const { paths, input: full } = jobModel({ input });
      const statuses = new Set<string>();
      for (const path of paths) {
        const job = createActor(modelMachine, { input: full }).start();
        for (const event of path.events) {
          job.send(event as JobMachineEvent);
          const s = job.getSnapshot();
          const where = `${JSON.stringify(s.value)} after ${path.events.map((e) => e.type).join(',')}`;
          statuses.add(statusOf(s));
          assert.equal(restoredWork(s), referenceRestoredWork(s), where);
          assert.deepEqual(workSyncCommands(s), referenceSyncCommands(s), where);
          assert.equal(finalizeSettled(s), referenceFinalizeSettled(s), where);
          assert.equal(softCancelled(s), s.context.cancel === 'soft', where);
        }
        job.stop();
      }
      // Every status a job can rest in after an event: undefined is only ever the start; a job
      // alone passes waiting in a microstep, and with auto-dismiss concluded too.
      const passed = new Set<string>([JobStatus.undefined]);
      if (full.txn === undefined) passed.add(JobStatus.waiting);
      if (full.autoDismiss !== false) passed.add(JobStatus.concluded);
      const expected = JOB_STATUSES.filter((s) => !passed.has(s));
      for (const status of expected) assert.ok(statuses.has(status), `never reached ${status}`);
    });
  }
});
