/**
 * Grouped transactions over the wire (semantics.md, Transactions): convergence, shared
 * manual finalize, and abort of every member when one fails or is cancelled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder, sequence, sleep } from './helpers.js';

const LONG = { steps: 1000, 'step-ms': 20 };
const CANCELLED = ['aborting', '[JOB_CANCELLED]', 'concluded', 'null'];

describe('grouped transactions over a real nats-server', () => {
  let stack: Stack;
  let alice: JobsClient;
  let events: Recorder;

  before(async () => {
    stack = await startStack();
    alice = await stack.client('alice');
    events = new Recorder(alice.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });
  after(async () => {
    events.close();
    await stack.close();
  });

  const done = (id: string) => events.status(id, 'null');
  /** Where an event of a job stands among all recorded events. */
  const indexOf = (id: string, status: string) =>
    events.events.findIndex((e) => e.data.id === id && e.event === 'JOB_STATUS_CHANGE' && e.data.status === status);
  const statusOf = async (id: string) => (await alice.query()).find((j) => j.id === id)?.status;

  test('convergence: a member that is done waits in waiting until the last one is; then all go pending together', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'cv-fast', params: { steps: 1, 'step-ms': 1, result: 'fast' } },
        { type: 'test', id: 'cv-slow', params: { steps: 10, 'step-ms': 15, result: 'slow' } },
      ],
      'grouped',
    );
    await events.status('cv-fast', 'waiting');
    await sleep(30);
    assert.equal(await statusOf('cv-fast'), 'waiting');
    assert.equal(await statusOf('cv-slow'), 'running');
    await Promise.all([done('cv-fast'), done('cv-slow')]);
    const success = ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null'];
    assert.deepEqual(sequence(events.events, 'cv-fast'), success);
    assert.deepEqual(sequence(events.events, 'cv-slow'), success);
    assert.ok(indexOf('cv-fast', 'pending') > indexOf('cv-slow', 'waiting'), 'fast goes pending only after slow is waiting');
    const [fast, slow] = await Promise.all([alice.wait('cv-fast', { timeoutMs: 1000 }), alice.wait('cv-slow', { timeoutMs: 1000 })]);
    assert.deepEqual([fast.result, slow.result], ['fast', 'slow']);
  });

  test('one member without auto-finalize holds all in pending; job-finalize on any member finalizes all', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'mf-manual', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false },
        { type: 'test', id: 'mf-auto', params: { steps: 2, 'step-ms': 1 } },
      ],
      'grouped',
    );
    await Promise.all([events.status('mf-manual', 'pending'), events.status('mf-auto', 'pending')]);
    await sleep(50);
    assert.deepEqual(sequence(events.events, 'mf-manual'), ['created', 'running', 'waiting', 'pending', '[JOB_PENDING]']);
    assert.deepEqual(sequence(events.events, 'mf-auto'), ['created', 'running', 'waiting', 'pending'], 'no JOB_PENDING for auto-finalize');
    // Finalize the member that had auto-finalize: the whole transaction goes on.
    assert.deepEqual(await alice.finalize('mf-auto'), {});
    // At the reply, both are finalized.
    assert.deepEqual(sequence(events.events, 'mf-manual').slice(-3), ['[JOB_COMPLETED]', 'concluded', 'null']);
    assert.deepEqual(sequence(events.events, 'mf-auto').slice(-3), ['[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('a member that fails force-cancels one already waiting', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'fw-done', params: { steps: 1, 'step-ms': 1 } },
        { type: 'test', id: 'fw-fail', params: { steps: 10, 'step-ms': 10, fail: 'late failure' } },
      ],
      'grouped',
    );
    await Promise.all([done('fw-done'), done('fw-fail')]);
    assert.deepEqual(sequence(events.events, 'fw-done'), ['created', 'running', 'waiting', ...CANCELLED]);
    assert.deepEqual(sequence(events.events, 'fw-fail'), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
    const [ok, failed] = await Promise.all([alice.wait('fw-done', { timeoutMs: 1000 }), alice.wait('fw-fail', { timeoutMs: 1000 })]);
    assert.equal(ok.error, 'Operation canceled');
    assert.equal(ok.result, undefined, 'no member commits');
    assert.equal(failed.error, 'late failure');
  });

  test('job-cancel of one member aborts every member', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'cx-a', params: LONG },
        { type: 'test', id: 'cx-b', params: LONG },
        { type: 'test', id: 'cx-c', params: { steps: 1, 'step-ms': 1, ready: true } },
      ],
      'grouped',
    );
    await events.event('cx-c', 'JOB_READY');
    assert.deepEqual(await alice.cancel('cx-b'), {});
    await Promise.all(['cx-a', 'cx-b', 'cx-c'].map(done));
    assert.deepEqual(sequence(events.events, 'cx-a'), ['created', 'running', ...CANCELLED]);
    assert.deepEqual(sequence(events.events, 'cx-b'), ['created', 'running', ...CANCELLED]);
    assert.deepEqual(sequence(events.events, 'cx-c'), ['created', 'running', 'ready', '[JOB_READY]', ...CANCELLED]);
    for (const id of ['cx-a', 'cx-b', 'cx-c']) {
      assert.equal((await alice.wait(id, { timeoutMs: 1000 })).error, 'Operation canceled', id);
    }
  });

  test('job-cancel of a member in pending aborts the whole transaction', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'cp-a', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false },
        { type: 'test', id: 'cp-b', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false },
      ],
      'grouped',
    );
    await Promise.all([events.event('cp-a', 'JOB_PENDING'), events.event('cp-b', 'JOB_PENDING')]);
    await alice.cancel('cp-a');
    await Promise.all([done('cp-a'), done('cp-b')]);
    const pendingThenCancelled = ['created', 'running', 'waiting', 'pending', '[JOB_PENDING]', ...CANCELLED];
    assert.deepEqual(sequence(events.events, 'cp-a'), pendingThenCancelled);
    assert.deepEqual(sequence(events.events, 'cp-b'), pendingThenCancelled);
  });

  test('each member is dismissed per its own auto-dismiss', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'ad-keep', params: { steps: 1, 'step-ms': 1, result: 'k' }, 'auto-dismiss': false },
        { type: 'test', id: 'ad-drop', params: { steps: 1, 'step-ms': 1, result: 'd' } },
      ],
      'grouped',
    );
    await Promise.all([events.status('ad-keep', 'concluded'), done('ad-drop')]);
    await sleep(30);
    assert.equal(await statusOf('ad-keep'), 'concluded');
    assert.equal(await statusOf('ad-drop'), undefined);
    assert.deepEqual(sequence(events.events, 'ad-keep').slice(-2), ['[JOB_COMPLETED]', 'concluded']);
    assert.equal((await alice.wait('ad-drop', { timeoutMs: 1000 })).result, 'd');
    assert.equal((await alice.wait('ad-keep', { timeoutMs: 1000 })).result, 'k');
    await alice.dismiss('ad-keep');
    assert.equal(await statusOf('ad-keep'), undefined);
  });

  test('pausing one member does not pause the others, but holds the convergence', async () => {
    await alice.transaction(
      [
        { type: 'test', id: 'pz-a', params: { steps: 5, 'step-ms': 10 } },
        { type: 'test', id: 'pz-b', params: { steps: 2, 'step-ms': 1 } },
      ],
      'grouped',
    );
    await alice.pause('pz-a');
    await events.status('pz-b', 'waiting');
    await sleep(50);
    assert.equal(await statusOf('pz-a'), 'paused');
    assert.equal(await statusOf('pz-b'), 'waiting');
    await alice.resume('pz-a');
    await Promise.all([done('pz-a'), done('pz-b')]);
    assert.deepEqual(sequence(events.events, 'pz-a'), [
      'created',
      'running',
      'paused',
      'running',
      'waiting',
      'pending',
      '[JOB_COMPLETED]',
      'concluded',
      'null',
    ]);
  });
});
