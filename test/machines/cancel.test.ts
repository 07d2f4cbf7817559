/**
 * job-cancel in every status, after QEMU's tests/unit/test-blockjob.c (test_cancel_*), and
 * the soft cancel of block-job-cancel (`force: false`).
 *
 * A forced cancel tells the work to stop; the job rests in aborting until the work reports
 * back, which these tests play by sending `work.failed` (the work gave up).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observedStatusPairs, qemuTableViolations, settle } from '../support/harness.js';
import { CANCELED_ERROR } from '../../machines/index.js';

const stopped = { type: 'work.failed', error: CANCELED_ERROR } as const;

describe('test-blockjob.c: cancel in every status', () => {
  test('cancel in created: aborting, concluded, null at once, no JOB_CANCELLED, the work never starts', () => {
    const h = harness({ jobs: [{ id: 'j' }], until: 'created' });
    h.send('j', { type: 'cancel' });
    assert.deepEqual(h.log, ['j:created', 'j:aborting', 'j:concluded', 'j:null']);
    assert.deepEqual(h.work, []);
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
    assert.equal(h.context('j').error, CANCELED_ERROR);
    h.start(); // the transaction is over: nothing starts
    assert.equal(h.status('j'), 'null');
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  test('cancel in created dismisses a job that never started even without auto-dismiss', () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }], until: 'created' });
    h.send('j', { type: 'cancel' });
    assert.deepEqual(h.log, ['j:created', 'j:aborting', 'j:concluded', 'j:null']);
  });

  test('cancel in running: aborting, the work is told to stop, then JOB_CANCELLED, concluded, null', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'cancel' });
    assert.equal(h.status('j'), 'aborting');
    assert.deepEqual(h.work, ['j:cancel(force)']);
    h.send('j', stopped);
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:aborting', 'j:JOB_CANCELLED', 'j:concluded', 'j:null']);
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
    assert.equal(h.context('j').error, CANCELED_ERROR);
  });

  test('cancel in running whose work then reports success still ends cancelled', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'cancel' });
    h.send('j', { type: 'work.done' });
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:aborting', 'j:JOB_CANCELLED', 'j:concluded', 'j:null']);
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
  });

  test('cancel while paused resumes first: running, aborting, JOB_CANCELLED, concluded', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'cancel' });
    h.send('j', stopped);
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:paused',
      'j:running',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.work, ['j:pause', 'j:resume', 'j:cancel(force)']);
    assert.equal(h.context('j').userPaused, false);
  });

  test('cancel in ready: aborting, JOB_CANCELLED, concluded, null', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'cancel' });
    h.send('j', stopped);
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
  });

  test('cancel in standby goes back to ready first: ready, aborting, JOB_CANCELLED, concluded', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'cancel' });
    h.send('j', stopped);
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:standby',
      'j:ready',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
  });

  test('cancel in pending: aborting, JOB_CANCELLED, concluded; nothing is committed', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false }] });
    h.send('j', { type: 'work.done' });
    await settle();
    h.send('j', { type: 'cancel' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:waiting',
      'j:pending',
      'j:JOB_PENDING',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
    assert.equal(h.context('j').error, CANCELED_ERROR);
  });

  test('a soft cancel in waiting or pending is a forced one: aborting, JOB_CANCELLED', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false }] });
    h.send('j', { type: 'work.done' });
    await settle();
    h.send('j', { type: 'cancel', force: false });
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:waiting',
      'j:pending',
      'j:JOB_PENDING',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
    assert.equal(h.context('j').error, CANCELED_ERROR);
  });

  test('cancel in concluded is refused by the table', async () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    h.send('j', { type: 'work.done' });
    await settle();
    h.send('j', { type: 'cancel' });
    h.send('j', { type: 'dismiss' });
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      "j:refused(Job 'j' in state 'concluded' cannot accept command verb 'cancel')",
      'j:null',
    ]);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
  });

  test('cancel in aborting is refused by the table', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'cancel' });
    h.send('j', { type: 'cancel' });
    h.send('j', stopped);
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:aborting',
      "j:refused(Job 'j' in state 'aborting' cannot accept command verb 'cancel')",
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
  });

  test('a cancelled job that is not dismissed keeps error "Operation canceled" in concluded', () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    h.send('j', { type: 'cancel' });
    h.send('j', { type: 'work.failed', error: 'interrupted' });
    assert.equal(h.status('j'), 'concluded');
    assert.equal(h.context('j').error, CANCELED_ERROR);
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:aborting', 'j:JOB_CANCELLED', 'j:concluded']);
  });
});

describe('soft cancel (force: false)', () => {
  test('soft cancel of a ready job completes it without error: waiting, pending, JOB_COMPLETED, concluded; complete is then refused', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'cancel', force: false });
    assert.equal(h.status('j'), 'ready');
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      "j:refused(The active job 'j' cannot be completed)",
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.work, ['j:cancel(soft)']);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
    assert.equal(h.context('j').error, undefined);
  });

  test('soft cancel in standby is accepted; complete is then refused; after resume the job finishes', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'cancel', force: false });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:standby',
      'j:ready',
      'j:standby',
      "j:refused(The active job 'j' cannot be completed)",
      'j:ready',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
  });

  test('soft cancel of a user-paused job is refused (paused and standby)', () => {
    const h = harness({ jobs: [{ id: 'j' }, { id: 'k' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'cancel', force: false });
    h.send('k', { type: 'work.ready' });
    h.send('k', { type: 'pause' });
    h.send('k', { type: 'cancel', force: false });
    assert.deepEqual(h.log, [
      'j:created',
      'k:created',
      'j:running',
      'k:running',
      'j:paused',
      "j:refused(The job 'j' is currently paused)",
      'k:ready',
      'k:JOB_READY',
      'k:standby',
      "k:refused(The job 'k' is currently paused)",
    ]);
    assert.equal(h.status('j'), 'paused');
    assert.equal(h.status('k'), 'standby');
    assert.equal(h.context('j').cancel, 'none');
  });

  test('soft cancel of a user-paused job in created is refused', () => {
    const h = harness({ jobs: [{ id: 'j' }], until: 'created' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'cancel', force: false });
    assert.deepEqual(h.log, ['j:created', "j:refused(The job 'j' is currently paused)"]);
  });

  test('before ready a soft cancel is a forced one: aborting, JOB_CANCELLED', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'cancel', force: false });
    h.send('j', stopped);
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:aborting', 'j:JOB_CANCELLED', 'j:concluded', 'j:null']);
    assert.deepEqual(h.work, ['j:cancel(force)']);
    assert.equal(h.context('j').error, CANCELED_ERROR);
  });

  test('a forced cancel after a soft one still cancels: aborting, JOB_CANCELLED', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'cancel', force: false });
    h.send('j', { type: 'cancel' });
    h.send('j', stopped);
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:aborting',
      'j:JOB_CANCELLED',
      'j:concluded',
      'j:null',
    ]);
  });
});

test("no status change outside QEMU's transition table, and no refusal against its verb table, in these scenarios", () => {
  assert.ok(observedStatusPairs.size > 0, 'the scenarios above were recorded');
  assert.deepEqual(qemuTableViolations(), { transitions: [], refusals: [], errors: [] });
});
