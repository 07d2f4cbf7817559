/**
 * wrap over a real nats-server (TrueNAS's `job.wrap`): a job that starts another and waits
 * for it mirrors the child's progress, returns its result, fails with its error, and a
 * cancel of the parent cancels the child. Both jobs belong to the caller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import type { JobInfo } from '../../src/sdk/index.js';
import { rejectsWith, sequence, sleep } from '../service/helpers.js';
import { startTypesStack } from './helpers.js';
import type { TypesStack } from './helpers.js';

/** Runs a `test` job with `child` as its params and returns what it got. */
const parent = defineJob(
  'parent',
  { params: z.strictObject({ child: z.record(z.string(), z.unknown()) }) },
  async (job) => {
    const child = await job.wrap('test', job.params.child);
    return { child: child.id, result: child.result };
  },
);

describe('wrap', () => {
  let t: TypesStack;

  before(async () => {
    t = await startTypesStack((types) => types.register(parent));
  });
  after(() => t.close());

  /** The caller's live `test` job started by `parentId` (its log names it). */
  async function childOf(parentId: string): Promise<string> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const log = await t.alice.log(parentId);
      const id = /started job '([^']+)' \(test\)/.exec(log.lines.join('\n'))?.[1];
      if (id) return id;
      if (Date.now() > deadline) assert.fail(`no child in the log of ${parentId}: ${log.lines.join(' | ')}`);
      await sleep(10);
    }
  }

  test("mirrors the child's progress and returns its result; both jobs are the caller's", async () => {
    const { alice, bob, admin, events } = t;
    const id = await alice.start('parent', { params: { child: { steps: 4, 'step-ms': 60, result: 'child done' } } });
    const child = await childOf(id);
    // While both run: alice sees both, bob neither, an admin sees both as alice's.
    const live = (await alice.query()).filter((j) => j.id === id || j.id === child);
    assert.deepEqual(
      live.map((j) => [j.id, j.type, j.owner]).sort(),
      [
        [child, 'test', 'alice'],
        [id, 'parent', 'alice'],
      ].sort(),
    );
    assert.deepEqual((await bob.query()).filter((j) => j.id === id || j.id === child), []);
    assert.deepEqual(
      (await admin.query({ owner: 'alice' })).filter((j) => j.id === child).map((j) => j.owner),
      ['alice'],
    );

    const [final, childFinal] = await Promise.all([alice.wait(id, { timeoutMs: 5000 }), alice.wait(child, { timeoutMs: 5000 })]);
    assert.deepEqual(final.result, { child, result: 'child done' });
    assert.equal(childFinal.owner, 'alice');
    assert.equal(childFinal.result, 'child done');
    // The parent's progress is the child's.
    const progress = (info: JobInfo) => [info['current-progress'], info['total-progress']];
    assert.deepEqual(progress(final), [4, 4]);
    assert.deepEqual(progress(childFinal), [4, 4]);
    await events.status(id, 'null');
    const parentProgress = events.of(id).filter((e) => e.event === 'JOB_PROGRESS');
    assert.ok(parentProgress.length >= 2, `the parent reported progress: ${parentProgress.length}`);
    assert.deepEqual(
      [parentProgress.at(-1)?.data['current-progress'], parentProgress.at(-1)?.data['total-progress']],
      [4, 4],
    );
    const currents = parentProgress.map((e) => Number(e.data['current-progress']));
    assert.deepEqual(currents, [...currents].sort((a, b) => a - b), 'never goes back');
    assert.deepEqual(sequence(events.events, id), ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test("fails with the child's error", async () => {
    const { alice, events } = t;
    const id = await alice.start('parent', { params: { child: { steps: 2, 'step-ms': 5, fail: 'child broke' } } });
    const final = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(final.error, 'child broke');
    const child = /started job '([^']+)'/.exec(final['logs-excerpt'] ?? '')?.[1];
    assert.ok(child, 'the log names the child');
    assert.equal((await alice.wait(child, { timeoutMs: 5000 })).error, 'child broke');
    await events.status(id, 'null');
    assert.deepEqual(sequence(events.events, id), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
    assert.equal((await events.event(id, 'JOB_COMPLETED')).data.error, 'child broke');
  });

  test('a child with bad params fails the parent with the params error', async () => {
    const { alice } = t;
    const id = await alice.start('parent', { params: { child: { steps: -1 } } });
    const final = await alice.wait(id, { timeoutMs: 5000 });
    assert.match(final.error ?? '', /^Parameter 'params\.steps' is invalid/);
  });

  test('cancelling the parent cancels the child', async () => {
    const { alice, events } = t;
    const id = await alice.start('parent', { params: { child: { steps: 1000, 'step-ms': 20 } } });
    const child = await childOf(id);
    await events.status(child, 'running');
    await alice.cancel(id);
    const [final, childFinal] = await Promise.all([alice.wait(id, { timeoutMs: 5000 }), alice.wait(child, { timeoutMs: 5000 })]);
    assert.equal(final.error, 'Operation canceled');
    assert.equal(childFinal.error, 'Operation canceled');
    await events.status(id, 'null');
    await events.status(child, 'null');
    assert.deepEqual(sequence(events.events, id), ['created', 'running', 'aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
    assert.deepEqual(sequence(events.events, child), ['created', 'running', 'aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
    // The child is alice's, not bob's.
    await rejectsWith(t.bob.wait(child, { timeoutMs: 0 }), 404, 'Job not found');
  });
});
