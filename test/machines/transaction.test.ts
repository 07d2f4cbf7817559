/**
 * Transactions, after QEMU's tests/unit/test-blockjob-txn.c: members succeed together or
 * abort together, plus finalize-time (prepare) failures and grouped jobs where one is ready.
 *
 * A force-cancelled member's work is told to stop; the tests play the work by sending
 * `work.failed` (it gave up) or `work.done` (it finished anyway, as in the cancel race).
 *
 * Order of conclusion: members conclude one after the other, in member order, except that
 * the member whose notice completed the phase (the last one to stop, or to be prepared)
 * concludes last: xstate hands it the transaction's command only once it has finished the
 * step in which it sent that notice.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observedStatusPairs, qemuTableViolations, settle } from '../support/harness.js';
import { CANCELED_ERROR } from '../../machines/index.js';

const stopped = { type: 'work.failed', error: CANCELED_ERROR } as const;

describe('test-blockjob-txn.c', () => {
  test('single job success: created, running, waiting, pending, JOB_COMPLETED, concluded, null', async () => {
    const h = harness({ jobs: [{ id: 'a' }] });
    h.send('a', { type: 'work.done', result: 42 });
    await settle();
    assert.deepEqual(h.log, ['a:created', 'a:running', 'a:waiting', 'a:pending', 'a:JOB_COMPLETED', 'a:concluded', 'a:null']);
    assert.deepEqual(h.calls, ['commit:a', 'clean:a']);
    assert.deepEqual(h.context('a').outcome, { ok: true, result: 42 });
    assert.equal(h.context('a').error, undefined);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  test('single job failure: aborting, JOB_COMPLETED with the error, concluded, null; abort and clean, no commit', () => {
    const h = harness({ jobs: [{ id: 'a' }] });
    h.send('a', { type: 'work.failed', error: 'boom' });
    assert.deepEqual(h.log, ['a:created', 'a:running', 'a:aborting', 'a:JOB_COMPLETED(error=boom)', 'a:concluded', 'a:null']);
    assert.deepEqual(h.calls, ['abort:a', 'clean:a']);
    assert.equal(h.context('a').error, 'boom');
  });

  test('pair success: the first to finish waits; both go pending together once the second is waiting', async () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    await settle();
    assert.equal(h.status('a'), 'waiting');
    assert.equal(h.status('b'), 'running');
    h.send('b', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'b:waiting',
      'a:pending',
      'b:pending',
      'a:JOB_COMPLETED',
      'a:concluded',
      'a:null',
      'b:JOB_COMPLETED',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.calls, ['commit:a', 'clean:a', 'commit:b', 'clean:b']);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  for (const [failing, other] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    test(`pair failure, ${failing} fails first: ${other} is force-cancelled (JOB_CANCELLED), ${failing} gets JOB_COMPLETED with its error, nothing commits`, () => {
      const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
      h.send(failing, { type: 'work.failed', error: 'boom' });
      assert.equal(h.status(other), 'aborting');
      assert.ok(h.work.includes(`${other}:cancel(force)`), 'the other member is told to stop');
      h.send(other, stopped);
      const concluding = (id: string) =>
        id === failing
          ? [`${id}:JOB_COMPLETED(error=boom)`, `${id}:concluded`, `${id}:null`]
          : [`${id}:JOB_CANCELLED`, `${id}:concluded`, `${id}:null`];
      // the other member's work stops last, so it concludes last
      assert.deepEqual(h.log, [
        'a:created',
        'b:created',
        'a:running',
        'b:running',
        `${failing}:aborting`,
        `${other}:aborting`,
        ...concluding(failing),
        ...concluding(other),
      ]);
      assert.deepEqual(h.calls, [`abort:${failing}`, `clean:${failing}`, `abort:${other}`, `clean:${other}`]);
      assert.equal(h.context(failing).error, 'boom');
      assert.equal(h.context(other).error, CANCELED_ERROR);
    });
  }

  test('pair failure after the other member is already waiting: it is force-cancelled from waiting', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    h.send('b', { type: 'work.failed', error: 'boom' });
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'b:aborting',
      'a:aborting',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
      'b:JOB_COMPLETED(error=boom)',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.calls, ['abort:a', 'clean:a', 'abort:b', 'clean:b']);
  });

  for (const [cancelled, other] of [
    ['a', 'b'],
    ['b', 'a'],
  ] as const) {
    test(`pair, cancel ${cancelled}: both abort, both get JOB_CANCELLED, nothing commits`, () => {
      const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
      h.send(cancelled, { type: 'cancel' });
      h.send(cancelled, stopped);
      assert.equal(h.status(cancelled), 'aborting'); // until the other's work has stopped too
      h.send(other, stopped);
      // the other member's work stops last, so it concludes last
      assert.deepEqual(h.log, [
        'a:created',
        'b:created',
        'a:running',
        'b:running',
        `${cancelled}:aborting`,
        `${other}:aborting`,
        `${cancelled}:JOB_CANCELLED`,
        `${cancelled}:concluded`,
        `${cancelled}:null`,
        `${other}:JOB_CANCELLED`,
        `${other}:concluded`,
        `${other}:null`,
      ]);
      assert.deepEqual(h.calls, [`abort:${cancelled}`, `clean:${cancelled}`, `abort:${other}`, `clean:${other}`]);
      assert.equal(h.context('a').error, CANCELED_ERROR);
      assert.equal(h.context('b').error, CANCELED_ERROR);
    });
  }

  test('cancel race: a is cancelled and, in the same tick, b finishes successfully: both end cancelled', () => {
    // test_pair_jobs_fail_cancel_race: job2 completes before the main loop kicks the jobs
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'cancel' });
    h.send('b', { type: 'work.done' });
    h.send('a', stopped);
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:aborting',
      'b:aborting',
      'b:JOB_CANCELLED', // a's work stops last, so a concludes last
      'b:concluded',
      'b:null',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
    ]);
    assert.deepEqual(h.calls, ['abort:b', 'clean:b', 'abort:a', 'clean:a']);
  });

  test('fail/cancel race: a is being cancelled when b fails in the same tick: b was already force-cancelled, both JOB_CANCELLED', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'cancel' });
    h.send('b', { type: 'work.failed', error: 'boom' });
    h.send('a', stopped);
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:aborting',
      'b:aborting',
      'b:JOB_CANCELLED', // a's work stops last, so a concludes last
      'b:concluded',
      'b:null',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
    ]);
    assert.equal(h.context('b').error, CANCELED_ERROR);
    assert.ok(!h.calls.some((c) => c.startsWith('commit:')));
  });

  test('fail/cancel race the other way: b fails, then cancel of a (already force-cancelled) in the same tick is refused', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('b', { type: 'work.failed', error: 'boom' });
    h.send('a', { type: 'cancel' });
    h.send('a', stopped);
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'b:aborting',
      'a:aborting',
      "a:refused(Job 'a' in state 'aborting' cannot accept command verb 'cancel')",
      'b:JOB_COMPLETED(error=boom)', // a's work stops last, so a concludes last
      'b:concluded',
      'b:null',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
    ]);
    assert.deepEqual(h.calls, ['abort:b', 'clean:b', 'abort:a', 'clean:a']);
  });

  test('cancel of a created member aborts the whole transaction before it starts; no events but status changes', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }], until: 'created' });
    h.send('b', { type: 'cancel' });
    h.start();
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'b:aborting',
      'a:aborting',
      'a:concluded',
      'a:null',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.work, []);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });
});

describe('finalize', () => {
  test('a prepare failure aborts the whole transaction: the failing member gets JOB_COMPLETED with the error, the other JOB_CANCELLED, nothing commits', async () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }], failPrepare: { b: 'no space left' } });
    h.send('a', { type: 'work.done' });
    h.send('b', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'b:waiting',
      'a:pending',
      'b:pending',
      'b:aborting',
      'a:aborting',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
      'b:JOB_COMPLETED(error=no space left)',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.calls, ['abort:a', 'clean:a', 'abort:b', 'clean:b']);
    assert.equal(h.context('b').error, 'no space left');
    assert.equal(h.context('a').error, CANCELED_ERROR);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  test('a prepare failure of a single job: pending, aborting, JOB_COMPLETED with the error, concluded', async () => {
    const h = harness({ jobs: [{ id: 'a', autoDismiss: false }], failPrepare: { a: 'disk full' } });
    h.send('a', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, ['a:created', 'a:running', 'a:waiting', 'a:pending', 'a:aborting', 'a:JOB_COMPLETED(error=disk full)', 'a:concluded']);
    assert.deepEqual(h.calls, ['abort:a', 'clean:a']);
    assert.equal(h.context('a').error, 'disk full');
  });

  test('mixed auto-finalize: all wait in pending, only the manual member emits JOB_PENDING; finalize on any member finalizes all', async () => {
    const h = harness({ jobs: [{ id: 'a', autoFinalize: false }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    h.send('b', { type: 'work.done' });
    await settle();
    assert.equal(h.status('a'), 'pending');
    assert.equal(h.status('b'), 'pending');
    assert.deepEqual(h.calls, []);
    h.send('b', { type: 'finalize' });
    await settle();
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'b:waiting',
      'a:pending',
      'a:JOB_PENDING',
      'b:pending',
      'a:JOB_COMPLETED',
      'a:concluded',
      'a:null',
      'b:JOB_COMPLETED',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.calls, ['commit:a', 'clean:a', 'commit:b', 'clean:b']);
  });

  test('cancel of one member in pending aborts both: JOB_CANCELLED for both, nothing commits', async () => {
    const h = harness({ jobs: [{ id: 'a', autoFinalize: false }, { id: 'b', autoFinalize: false }] });
    h.send('a', { type: 'work.done' });
    h.send('b', { type: 'work.done' });
    await settle();
    h.send('b', { type: 'cancel' });
    await settle();
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'b:waiting',
      'a:pending',
      'a:JOB_PENDING',
      'b:pending',
      'b:JOB_PENDING',
      'b:aborting',
      'a:aborting',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
      'b:JOB_CANCELLED',
      'b:concluded',
      'b:null',
    ]);
    assert.deepEqual(h.calls, ['abort:a', 'clean:a', 'abort:b', 'clean:b']);
  });

  test('cancel of a member in waiting aborts the transaction: the waiting one and the running one get JOB_CANCELLED', () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    h.send('a', { type: 'cancel' });
    h.send('b', stopped);
    assert.deepEqual(h.log, [
      'a:created',
      'b:created',
      'a:running',
      'b:running',
      'a:waiting',
      'a:aborting',
      'b:aborting',
      'a:JOB_CANCELLED',
      'a:concluded',
      'a:null',
      'b:JOB_CANCELLED',
      'b:concluded',
      'b:null',
    ]);
  });
});

describe('grouped jobs', () => {
  test('one member ready, the other fails: the ready one is force-cancelled (JOB_CANCELLED), the failing one gets JOB_COMPLETED with its error', () => {
    const h = harness({ jobs: [{ id: 'm' }, { id: 'f' }] });
    h.send('m', { type: 'work.ready' });
    h.send('f', { type: 'work.failed', error: 'read error' });
    assert.ok(h.work.includes('m:cancel(force)'), 'the ready member is told to stop');
    h.send('m', stopped);
    assert.deepEqual(h.log, [
      'm:created',
      'f:created',
      'm:running',
      'f:running',
      'm:ready',
      'm:JOB_READY',
      'f:aborting',
      'm:aborting',
      'f:JOB_COMPLETED(error=read error)', // m's work stops last, so m concludes last
      'f:concluded',
      'f:null',
      'm:JOB_CANCELLED',
      'm:concluded',
      'm:null',
    ]);
    assert.deepEqual(h.calls, ['abort:f', 'clean:f', 'abort:m', 'clean:m']);
    assert.equal(h.context('m').error, CANCELED_ERROR);
  });

  test('one member in standby, the other fails: standby goes back to ready, then aborting', () => {
    const h = harness({ jobs: [{ id: 'm' }, { id: 'f' }] });
    h.send('m', { type: 'work.ready' });
    h.send('m', { type: 'pause' });
    h.send('f', { type: 'work.failed', error: 'read error' });
    h.send('m', stopped);
    assert.deepEqual(h.log, [
      'm:created',
      'f:created',
      'm:running',
      'f:running',
      'm:ready',
      'm:JOB_READY',
      'm:standby',
      'f:aborting',
      'm:ready',
      'm:aborting',
      'f:JOB_COMPLETED(error=read error)',
      'f:concluded',
      'f:null',
      'm:JOB_CANCELLED',
      'm:concluded',
      'm:null',
    ]);
  });

  test('a member without auto-dismiss stays concluded after an abort; the transaction ends when it is dismissed', () => {
    const h = harness({ jobs: [{ id: 'a', autoDismiss: false }, { id: 'b' }] });
    h.send('b', { type: 'work.failed', error: 'boom' });
    h.send('a', stopped);
    assert.equal(h.status('a'), 'concluded');
    assert.equal(h.status('b'), 'null');
    assert.equal(h.txn.getSnapshot().status, 'active');
    h.send('a', { type: 'dismiss' });
    assert.equal(h.status('a'), 'null');
    assert.equal(h.txn.getSnapshot().status, 'done');
  });
});

test("no status change outside QEMU's transition table, and no refusal against its verb table, in these scenarios", () => {
  assert.ok(observedStatusPairs.size > 0, 'the scenarios above were recorded');
  assert.deepEqual(qemuTableViolations(), { transitions: [], refusals: [], errors: [] });
});
