/**
 * A job's lifecycle and the verbs each status refuses, after QEMU's iotest 219: a job that
 * converges (ready), paused and resumed in running and in ready, with every combination of
 * auto-finalize and auto-dismiss, and every verb 219 expects to be refused along the way.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, observedStatusPairs, qemuTableViolations, settle } from '../support/harness.js';
import type { Harness } from '../support/harness.js';
import { VERBS_ACCEPTED } from '../../src/testing/qemu-tables.js';
import { JOB_STATUSES, JOB_VERBS, RefusalReason } from '../../machines/index.js';
import type { JobStatus, JobVerb, VerbEvent } from '../../machines/index.js';

const refusedIn = (status: string, verb: string) =>
  `j:refused(Job 'j' in state '${status}' cannot accept command verb '${verb}')`;
const notPaused = "j:refused(Can't resume a job that was not paused)";

/** The whole of 219's test_job_lifecycle for one job `j`, up to (not including) dismiss. */
async function lifecycle(h: Harness, autoFinalize: boolean): Promise<void> {
  // running: pause and resume, and the verbs running refuses
  h.send('j', { type: 'pause' });
  h.send('j', { type: 'resume' });
  h.send('j', { type: 'complete' });
  h.send('j', { type: 'finalize' });
  h.send('j', { type: 'dismiss' });
  // ready: pause and resume, and the verbs ready refuses
  h.send('j', { type: 'work.ready' });
  h.send('j', { type: 'pause' });
  h.send('j', { type: 'resume' });
  h.send('j', { type: 'finalize' });
  h.send('j', { type: 'dismiss' });
  h.send('j', { type: 'complete' });
  h.send('j', { type: 'work.done' });
  await settle();
  if (!autoFinalize) {
    // pending: everything but cancel and finalize is refused
    h.send('j', { type: 'pause' });
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'complete' });
    h.send('j', { type: 'dismiss' });
    h.send('j', { type: 'finalize' });
    await settle();
  }
}

/** In concluded, every verb but dismiss is refused; then dismiss. */
function concludedVerbsThenDismiss(h: Harness): void {
  h.send('j', { type: 'pause' });
  h.send('j', { type: 'resume' });
  h.send('j', { type: 'complete' });
  h.send('j', { type: 'finalize' });
  h.send('j', { type: 'cancel' });
  h.send('j', { type: 'set-speed', speed: 10 });
  h.send('j', { type: 'dismiss' });
}

const runningPart = [
  'j:created',
  'j:running',
  'j:paused',
  'j:running',
  refusedIn('running', 'complete'),
  refusedIn('running', 'finalize'),
  refusedIn('running', 'dismiss'),
];
const readyPart = [
  'j:ready',
  'j:JOB_READY',
  'j:standby',
  'j:ready',
  refusedIn('ready', 'finalize'),
  refusedIn('ready', 'dismiss'),
  'j:waiting',
  'j:pending',
];
const pendingPart = [
  'j:JOB_PENDING',
  refusedIn('pending', 'pause'),
  notPaused,
  refusedIn('pending', 'complete'),
  refusedIn('pending', 'dismiss'),
];
const concludedPart = [
  refusedIn('concluded', 'pause'),
  notPaused,
  refusedIn('concluded', 'complete'),
  refusedIn('concluded', 'finalize'),
  refusedIn('concluded', 'cancel'),
  refusedIn('concluded', 'set-speed'),
];

describe('iotest 219: lifecycle of a job that converges', () => {
  test('auto-finalize, auto-dismiss: running, paused, running, ready, standby, ready, waiting, pending, JOB_COMPLETED, concluded, null', async () => {
    const h = harness({ jobs: [{ id: 'j' }] });
    await lifecycle(h, true);
    assert.deepEqual(h.log, [...runningPart, ...readyPart, 'j:JOB_COMPLETED', 'j:concluded', 'j:null']);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  test('manual finalize: pending waits for finalize and emits JOB_PENDING; concluded goes on to null', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false }] });
    await lifecycle(h, false);
    assert.deepEqual(h.log, [...runningPart, ...readyPart, ...pendingPart, 'j:JOB_COMPLETED', 'j:concluded', 'j:null']);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
  });

  test('manual dismiss: no JOB_PENDING; concluded refuses every verb but dismiss, which gives null', async () => {
    const h = harness({ jobs: [{ id: 'j', autoDismiss: false }] });
    await lifecycle(h, true);
    assert.equal(h.status('j'), 'concluded');
    concludedVerbsThenDismiss(h);
    assert.deepEqual(h.log, [
      ...runningPart,
      ...readyPart,
      'j:JOB_COMPLETED',
      'j:concluded',
      ...concludedPart,
      'j:null',
    ]);
    assert.equal(h.txn.getSnapshot().status, 'done');
  });

  test('manual finalize and dismiss: pending waits for finalize (JOB_PENDING), concluded waits for dismiss', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false, autoDismiss: false }] });
    await lifecycle(h, false);
    assert.equal(h.status('j'), 'concluded');
    concludedVerbsThenDismiss(h);
    assert.deepEqual(h.log, [
      ...runningPart,
      ...readyPart,
      ...pendingPart,
      'j:JOB_COMPLETED',
      'j:concluded',
      ...concludedPart,
      'j:null',
    ]);
    assert.deepEqual(h.calls, ['commit:j', 'clean:j']);
  });

  test('pending with manual finalize stays pending until finalize, however long', async () => {
    const h = harness({ jobs: [{ id: 'j', autoFinalize: false }] });
    h.send('j', { type: 'work.done' });
    await settle();
    await settle();
    assert.equal(h.status('j'), 'pending');
    assert.deepEqual(h.calls, []);
    h.send('j', { type: 'finalize' });
    await settle();
    assert.deepEqual(h.log, ['j:created', 'j:running', 'j:waiting', 'j:pending', 'j:JOB_PENDING', 'j:JOB_COMPLETED', 'j:concluded', 'j:null']);
  });
});

/**
 * Drive a single job `j` to `status` (on a fresh harness); `j` has manual finalize and
 * dismiss so that pending and concluded last. Waiting needs a second member `k` still at work.
 */
async function jobIn(status: JobStatus): Promise<Harness> {
  const j = { id: 'j', autoFinalize: false, autoDismiss: false };
  switch (status) {
    case 'undefined':
      return harness({ jobs: [j], until: 'spawned' });
    case 'created':
      return harness({ jobs: [j], until: 'created' });
    case 'waiting': {
      const h = harness({ jobs: [j, { id: 'k' }] });
      h.send('j', { type: 'work.done' });
      return h;
    }
    case 'null': {
      // k stays concluded, so the transaction (and j's actor) lives on
      const h = harness({ jobs: [{ id: 'j' }, { id: 'k', autoDismiss: false }] });
      h.send('j', { type: 'work.done' });
      h.send('k', { type: 'work.done' });
      await settle();
      return h;
    }
  }
  const h = harness({ jobs: [j] });
  switch (status) {
    case 'running':
      break;
    case 'paused':
      h.send('j', { type: 'pause' });
      break;
    case 'ready':
      h.send('j', { type: 'work.ready' });
      break;
    case 'standby':
      h.send('j', { type: 'work.ready' });
      h.send('j', { type: 'pause' });
      break;
    case 'aborting':
      h.send('j', { type: 'cancel' }); // the work has not stopped yet
      break;
    case 'pending':
    case 'concluded':
      h.send('j', { type: 'work.done' });
      await settle();
      if (status === 'pending') break;
      h.send('j', { type: 'finalize' });
      await settle();
      break;
  }
  return h;
}

const verbEvent = (verb: JobVerb): VerbEvent =>
  verb === 'set-speed' ? { type: 'set-speed', speed: 1 } : ({ type: verb } as VerbEvent);

describe("QEMU's verb table, status by status", () => {
  for (const status of JOB_STATUSES) {
    test(`in ${status}, exactly the verbs ${VERBS_ACCEPTED[status].join(', ') || '(none)'} pass the table`, async () => {
      for (const verb of JOB_VERBS) {
        const h = await jobIn(status);
        assert.equal(h.status('j'), status);
        h.take();
        h.send('j', verbEvent(verb));
        const refusals = h.take().filter((entry) => entry.startsWith('j:refused('));
        const byTable = refusals.includes(refusedIn(status, verb));
        const accepted = VERBS_ACCEPTED[status].includes(verb);
        // resume checks for a user pause before the table
        if (verb === 'resume' && status !== 'paused' && status !== 'standby') {
          assert.deepEqual(refusals, [notPaused], `resume in ${status}`);
        } else {
          // a verb that passes the table may still be refused by a later check (pause when paused)
          assert.equal(byTable, !accepted, `${verb} in ${status}`);
        }
      }
    });
  }

  test('a refused verb changes nothing: status and context stay as they were', async () => {
    for (const status of JOB_STATUSES) {
      for (const verb of JOB_VERBS) {
        if (VERBS_ACCEPTED[status].includes(verb) && verb !== 'resume') continue;
        const h = await jobIn(status);
        if (verb === 'resume' && h.context('j').userPaused) continue;
        const before = h.job('j').getSnapshot();
        const told = h.work.length;
        h.send('j', verbEvent(verb));
        const after = h.job('j').getSnapshot();
        assert.deepEqual(after.value, before.value, `${verb} in ${status}`);
        assert.deepEqual(after.context, before.context, `${verb} in ${status}`);
        assert.equal(h.work.length, told, `${verb} in ${status} reached the work`);
      }
    }
  });

  test('refusal reasons: state for the table, not-paused for resume (checked first)', async () => {
    const h = await jobIn('concluded');
    const reasons: RefusalReason[] = [];
    h.job('j').on('verb.refused', (e) => void reasons.push(e.reason));
    h.send('j', { type: 'resume' });
    h.send('j', { type: 'pause' });
    assert.deepEqual(reasons, [RefusalReason.notPaused, RefusalReason.state]);
  });
});

test("no status change outside QEMU's transition table, and no refusal against its verb table, in these scenarios", () => {
  assert.ok(observedStatusPairs.size > 0, 'the scenarios above were recorded');
  assert.deepEqual(qemuTableViolations(), { transitions: [], refusals: [], errors: [] });
});
