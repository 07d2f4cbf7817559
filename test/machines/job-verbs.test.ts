/**
 * The checks QEMU makes beyond the verb table (pause nesting, resume without a pause,
 * negative speed), pausing before the start, complete in standby, on-error `stop`,
 * progress, and the `error` a job keeps.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observedStatusPairs, qemuTableViolations, settle } from '../support/harness.js';
import { CANCELED_ERROR } from '../../machines/index.js';

describe('pause and resume', () => {
  test('double pause is refused with "Job is already paused" (running and ready)', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:paused',
      'j:refused(Job is already paused)',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:standby',
      'j:refused(Job is already paused)',
      'j:ready',
    ]);
    assert.deepEqual(h.work, ['j:pause', 'j:resume', 'j:pause', 'j:resume']);
  });

  test('one resume undoes one pause: pause, double pause refused, resume gives running', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    assert.equal(h.status('j'), 'running');
    assert.equal(h.context('j').pauseCount, 0);
  });

  test('spurious resume is refused with "Can\'t resume a job that was not paused": in running, ready, pending, concluded', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false, autoDismiss: false }] });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'work.done' });
    await settle();
    h.send('j', { type: 'resume' }); // pending: this check comes before the verb table
    h.send('j', { type: 'finalize' });
    await settle();
    h.send('j', { type: 'resume' }); // concluded, likewise
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      "j:refused(Can't resume a job that was not paused)",
      'j:ready',
      'j:JOB_READY',
      "j:refused(Can't resume a job that was not paused)",
      'j:waiting',
      'j:pending',
      'j:JOB_PENDING',
      "j:refused(Can't resume a job that was not paused)",
      'j:JOB_COMPLETED',
      'j:concluded',
      "j:refused(Can't resume a job that was not paused)",
    ]);
  });

  test('spurious resume in created and in waiting says "Can\'t resume a job that was not paused"', () => {
    const h = harness({ jobs: [{ id: 'j' }, { id: 'k' }], until: 'created' });
    h.send('j', { type: 'resume' });
    h.start();
    h.send('j', { type: 'work.done' });
    h.send('j', { type: 'resume' });
    assert.deepEqual(h.log, [
      'j:created',
      'k:created',
      "j:refused(Can't resume a job that was not paused)",
      'j:running',
      'k:running',
      'j:waiting',
      "j:refused(Can't resume a job that was not paused)",
    ]);
  });

  test('pause before start parks in paused at the first pause point: created, running, paused; resume continues', async () => {
    const h = harness({ jobs: [{ id: 'j' }], until: 'created' });
    h.send('j', { type: 'pause' });
    assert.equal(h.status('j'), 'created');
    h.start();
    assert.equal(h.status('j'), 'paused');
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:paused',
      'j:refused(Job is already paused)',
      'j:running',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.work, ['j:pause', 'j:resume']);
  });

  test('pause then resume before start changes nothing: created, running', () => {
    const h = harness({ jobs: [{ id: 'j' }], until: 'created' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.start();
    assert.deepEqual(h.log, ['j:created', 'j:running']);
  });

  test('in waiting, pause, set-speed, complete, finalize and dismiss are refused by the table', () => {
    const h = harness({ jobs: [{ id: 'j' }, { id: 'k' }] });
    h.send('j', { type: 'work.done' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'set-speed', speed: 5 });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'finalize' });
    h.send('j', { type: 'dismiss' });
    assert.deepEqual(h.log, [
      'j:created',
      'k:created',
      'j:running',
      'k:running',
      'j:waiting',
      "j:refused(Job 'j' in state 'waiting' cannot accept command verb 'pause')",
      "j:refused(Job 'j' in state 'waiting' cannot accept command verb 'set-speed')",
      "j:refused(Job 'j' in state 'waiting' cannot accept command verb 'complete')",
      "j:refused(Job 'j' in state 'waiting' cannot accept command verb 'finalize')",
      "j:refused(Job 'j' in state 'waiting' cannot accept command verb 'dismiss')",
    ]);
    assert.equal(h.status('j'), 'waiting');
  });
});

describe('complete', () => {
  test('complete in standby is accepted; after resume the job finishes: standby, ready, waiting, pending, JOB_COMPLETED', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'complete' });
    assert.equal(h.status('j'), 'standby');
    assert.ok(h.work.includes('j:complete'), 'the work is told to complete');
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
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.work, ['j:pause', 'j:complete', 'j:resume']);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
  });

  test('a job that finishes while in standby stays there until resumed', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'work.done' });
    assert.equal(h.status('j'), 'standby');
    h.send('j', { type: 'resume' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:standby',
      'j:ready',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
  });

  test('complete in ready tells the work; the job finishes when the work is done', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'complete' });
    assert.equal(h.status('j'), 'ready');
    assert.deepEqual(h.work, ['j:complete']);
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:ready',
      'j:JOB_READY',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
  });
});

describe('on-error stop', () => {
  test('error-stop: JOB_ERROR then paused; pause says "Job is already paused"; resume continues', async () => {
    const h = harness({ jobs: [{ id: 'j', onError: 'stop' }] });
    h.send('j', { type: 'work.error', operation: 'write', action: 'stop' });
    assert.equal(h.status('j'), 'paused');
    assert.equal(h.context('j').userPaused, true);
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:JOB_ERROR(write,stop)',
      'j:paused',
      'j:refused(Job is already paused)',
      'j:running',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
    assert.deepEqual(h.work, ['j:pause', 'j:resume']);
  });

  test('error-stop of a ready job: JOB_ERROR then standby; resume gives ready', () => {
    const h = harness({ jobs: [{ id: 'j', onError: 'stop' }] });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'work.error', operation: 'read', action: 'stop' });
    h.send('j', { type: 'resume' });
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:ready', 'j:JOB_READY', 'j:JOB_ERROR(read,stop)', 'j:standby', 'j:ready']);
  });

  test('error-stop of a user-paused job adds no second pause: one resume continues', () => {
    const h = harness({ jobs: [{ id: 'j', onError: 'stop' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'work.error', operation: 'write', action: 'stop' });
    h.send('j', { type: 'resume' });
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:paused', 'j:JOB_ERROR(write,stop)', 'j:running']);
  });

  test('error with action ignore or report only emits JOB_ERROR: the job keeps running', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.error', operation: 'read', action: 'ignore' });
    h.send('j', { type: 'work.error', operation: 'write', action: 'report' });
    h.send('j', { type: 'work.failed', error: 'Input/output error' });
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:JOB_ERROR(read,ignore)',
      'j:JOB_ERROR(write,report)',
      'j:aborting',
      'j:JOB_COMPLETED(error=Input/output error)',
      'j:concluded',
      'j:null',
    ]);
  });
});

describe('speed and progress', () => {
  test('negative set-speed is refused with "Parameter \'speed\' expects a non-negative value"; a valid one reaches the work', () => {
    const h = harness({ jobs: [{ id: 'j', speed: 7 }] });
    h.send('j', { type: 'set-speed', speed: -1 });
    assert.equal(h.context('j').speed, 7);
    h.send('j', { type: 'set-speed', speed: 100 });
    h.send('j', { type: 'set-speed', speed: 0 });
    assert.deepEqual(h.log, ['j:created', 'j:running', "j:refused(Parameter 'speed' expects a non-negative value)"]);
    assert.deepEqual(h.work, ['j:set-speed(100)', 'j:set-speed(0)']);
    assert.equal(h.context('j').speed, 0);
  });

  test('set-speed in created is kept for the start; negative is refused there too', () => {
    const h = harness({ jobs: [{ id: 'j' }], until: 'created' });
    h.send('j', { type: 'set-speed', speed: -5 });
    h.send('j', { type: 'set-speed', speed: 50 });
    h.start();
    assert.deepEqual(h.log, ['j:created', "j:refused(Parameter 'speed' expects a non-negative value)", 'j:running']);
    assert.equal(h.context('j').speed, 50);
    assert.deepEqual(h.work, []);
  });

  test('set-speed in paused and standby is accepted', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'set-speed', speed: 1 });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'set-speed', speed: 2 });
    assert.deepEqual(h.work, ['j:pause', 'j:set-speed(1)', 'j:resume', 'j:pause', 'j:set-speed(2)']);
    assert.equal(h.context('j').speed, 2);
    assert.ok(!h.log.some((e) => e.includes('refused')));
  });

  test('progress never decreases: a lower current-progress reports the highest so far', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'work.progress', current: 5, total: 10 });
    h.send('j', { type: 'work.progress', current: 3, total: 10 });
    h.send('j', { type: 'work.progress', current: 8, total: 12 });
    assert.deepEqual(h.context('j').progress, { current: 8, total: 12 });
    h.send('j', { type: 'work.progress', current: 12, total: 12 });
    h.send('j', { type: 'work.done' });
    await settle();
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:JOB_PROGRESS(5/10)',
      'j:JOB_PROGRESS(5/10)',
      'j:JOB_PROGRESS(8/12)',
      'j:JOB_PROGRESS(12/12)',
      'j:waiting',
      'j:pending',
      'j:JOB_COMPLETED',
      'j:concluded',
      'j:null',
    ]);
  });

  test('JOB_READY and JOB_COMPLETED carry type, speed and progress', async () => {
    const h = harness({ jobs: [{ id: 'j', type: 'mirror', speed: 9 }] });
    const seen: unknown[] = [];
    h.job('j').on('JOB_READY', (e) => void seen.push(e.data));
    h.job('j').on('JOB_COMPLETED', (e) => void seen.push(e.data));
    h.send('j', { type: 'work.progress', current: 4, total: 4 });
    h.send('j', { type: 'work.ready' });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'work.done' });
    await settle();
    const data = { id: 'j', owner: 'o', type: 'mirror', speed: 9, 'current-progress': 4, 'total-progress': 4 };
    assert.deepEqual(seen, [data, data]);
  });
});

describe('the error a job keeps', () => {
  test('a successful job has no error and keeps its result', async () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    h.send('j', { type: 'work.done', result: { bytes: 3 } });
    await settle();
    assert.equal(h.context('j').error, undefined);
    assert.deepEqual(h.context('j').outcome, { ok: true, result: { bytes: 3 } });
  });

  test('a failed job keeps its error; a cancelled one keeps "Operation canceled"', () => {
    const failed = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    failed.send('j', { type: 'work.failed', error: 'boom' });
    assert.equal(failed.status('j'), 'concluded');
    assert.equal(failed.context('j').error, 'boom');

    const cancelled = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    cancelled.send('j', { type: 'cancel' });
    cancelled.send('j', { type: 'work.failed', error: 'boom' });
    assert.equal(cancelled.status('j'), 'concluded');
    assert.equal(cancelled.context('j').error, CANCELED_ERROR);
  });

  test('a job that fails while paused stays paused until resumed, then aborts: paused, running, aborting', () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'work.failed', error: 'boom' });
    assert.equal(h.status('j'), 'paused');
    h.send('j', { type: 'resume' });
    assert.deepEqual(h.log, [
      'j:created',
      'j:running',
      'j:paused',
      'j:running',
      'j:aborting',
      'j:JOB_COMPLETED(error=boom)',
      'j:concluded',
      'j:null',
    ]);
  });

  test('only the first outcome counts: done after failed changes nothing', () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'work.failed', error: 'boom' });
    h.send('j', { type: 'work.done' });
    h.send('j', { type: 'resume' });
    assert.equal(h.context('j').error, 'boom');
    assert.deepEqual(h.calls, ['abort:j', 'clean:j']);
  });
});

test("no status change outside QEMU's transition table, and no refusal against its verb table, in these scenarios", () => {
  assert.ok(observedStatusPairs.size > 0, 'the scenarios above were recorded');
  assert.deepEqual(qemuTableViolations(), { transitions: [], refusals: [], errors: [] });
});
