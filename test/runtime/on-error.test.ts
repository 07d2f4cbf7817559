/**
 * The on-error policy over a real nats-server: a handler's `ioError('write', err)` emits
 * JOB_ERROR and then fails the job (`report`), pauses it until job-resume and retries
 * (`stop`), or retries at once (`ignore`). The exact event sequences are checked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { rejectsWith, sequence } from '../service/helpers.js';
import { startTypesStack } from './helpers.js';
import type { TypesStack } from './helpers.js';

/** Writes; the first `failures` attempts hit ENOSPC. Returns how many attempts it took. */
const flaky = defineJob('flaky', { params: z.strictObject({ failures: z.number().int().default(1) }) }, async (job) => {
  for (let attempt = 1; ; attempt++) {
    if (attempt > job.params.failures) return { attempts: attempt };
    await job.ioError('write', new Error('No space left on device'));
  }
});

describe('on-error', () => {
  let t: TypesStack;

  before(async () => {
    t = await startTypesStack((types) => types.register(flaky));
  });
  after(() => t.close());

  test("report: JOB_ERROR (action report), then the job fails with the error's message", async () => {
    const { alice, events } = t;
    const id = await alice.start('flaky', { 'on-error': 'report' });
    const final = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(final.error, 'No space left on device');
    await events.status(id, 'null');
    assert.deepEqual(sequence(events.events, id), ['created', 'running', '[JOB_ERROR]', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
    const error = await events.event(id, 'JOB_ERROR');
    assert.deepEqual(error.data, { id, owner: 'alice', operation: 'write', action: 'report' });
    const completed = await events.event(id, 'JOB_COMPLETED');
    assert.equal(completed.data.error, 'No space left on device');
    assert.match(final['logs-excerpt'] ?? '', /WARN write error \(report\): No space left on device$/);
  });

  test('report is the default', async () => {
    const { alice, events } = t;
    const id = await alice.start('flaky');
    assert.equal((await alice.wait(id, { timeoutMs: 5000 })).error, 'No space left on device');
    assert.equal((await events.event(id, 'JOB_ERROR')).data.action, 'report');
  });

  test('stop: JOB_ERROR (action stop), the job pauses as a user pause; job-resume retries', async () => {
    const { alice, events } = t;
    const id = await alice.start('flaky', { 'on-error': 'stop', 'auto-dismiss': false });
    await events.status(id, 'paused');
    assert.deepEqual(sequence(events.events, id), ['created', 'running', '[JOB_ERROR]', 'paused']);
    assert.deepEqual((await events.event(id, 'JOB_ERROR')).data, { id, owner: 'alice', operation: 'write', action: 'stop' });
    const [paused] = (await alice.query({ type: 'flaky' })).filter((j) => j.id === id);
    assert.equal(paused?.status, 'paused');
    // It counts as the user's pause.
    await rejectsWith(alice.pause(id), 409, 'Job is already paused');
    assert.deepEqual(await alice.resume(id), {});
    const final = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(final.error, undefined);
    assert.deepEqual(final.result, { attempts: 2 });
    assert.deepEqual(sequence(events.events, id), [
      'created',
      'running',
      '[JOB_ERROR]',
      'paused',
      'running',
      'waiting',
      'pending',
      '[JOB_COMPLETED]',
      'concluded',
    ]);
    assert.equal((await events.event(id, 'JOB_COMPLETED')).data.error, undefined);
    await alice.dismiss(id);
  });

  test('stop: each error stops again; a cancel while stopped cancels', async () => {
    const { alice, events } = t;
    const id = await alice.start('flaky', { 'on-error': 'stop', params: { failures: 2 } });
    await events.status(id, 'paused');
    await alice.resume(id);
    await events.until(() => sequence(events.events, id).filter((s) => s === 'paused').length === 2, 5000, 'a second stop');
    await alice.cancel(id);
    assert.equal((await alice.wait(id, { timeoutMs: 5000 })).error, 'Operation canceled');
    await events.status(id, 'null');
    assert.deepEqual(sequence(events.events, id), [
      'created',
      'running',
      '[JOB_ERROR]',
      'paused',
      'running',
      '[JOB_ERROR]',
      'paused',
      'running',
      'aborting',
      '[JOB_CANCELLED]',
      'concluded',
      'null',
    ]);
  });

  test('ignore: JOB_ERROR (action ignore), and the job goes on without pausing', async () => {
    const { alice, events } = t;
    const id = await alice.start('flaky', { 'on-error': 'ignore', params: { failures: 3 } });
    const final = await alice.wait(id, { timeoutMs: 5000 });
    assert.deepEqual(final.result, { attempts: 4 });
    await events.status(id, 'null');
    assert.deepEqual(sequence(events.events, id), [
      'created',
      'running',
      '[JOB_ERROR]',
      '[JOB_ERROR]',
      '[JOB_ERROR]',
      'waiting',
      'pending',
      '[JOB_COMPLETED]',
      'concluded',
      'null',
    ]);
    for (const e of events.of(id).filter((e) => e.event === 'JOB_ERROR')) {
      assert.deepEqual(e.data, { id, owner: 'alice', operation: 'write', action: 'ignore' });
    }
  });
});
