/**
 * Locks over a real nats-server (TrueNAS's `lock` and `lock_queue_size`): jobs with the same
 * lock run one at a time in FIFO order, other locks run alongside; a queued job can be
 * cancelled and the queue moves on; the lock is released however its holder concludes; and
 * lockQueueSize hands a caller back their own queued job, never another owner's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { sequence, sleep } from '../service/helpers.js';
import { Gates, startTypesStack } from './helpers.js';
import type { TypesStack } from './helpers.js';

const gates = new Gates();
/** What the handlers did, in order: `start:<name>` and `end:<name>`. */
let order: string[] = [];

const Params = z.strictObject({ name: z.string(), lock: z.string().default('L'), fail: z.string().optional() });

/** Holds its lock until the test opens the gate named after it; fails with `fail` if given. */
const locked = defineJob('locked', { params: Params, lock: (p) => p.lock }, async (job) => {
  order.push(`start:${job.params.name}`);
  await gates.wait(job, job.params.name);
  if (job.params.fail !== undefined) throw new Error(job.params.fail);
  order.push(`end:${job.params.name}`);
  return job.params.name;
});

/** One lock, and at most one queued job per owner. */
const single = defineJob(
  'single',
  { params: Params, lock: 'S', lockQueueSize: 1, description: (p) => `single ${p.name}` },
  async (job) => {
    order.push(`start:${job.params.name}`);
    await gates.wait(job, job.params.name);
    order.push(`end:${job.params.name}`);
  },
);

describe('locks', () => {
  let t: TypesStack;

  before(async () => {
    t = await startTypesStack((types) => types.register(locked).register(single));
  });
  after(() => t.close());

  /** Until `order` has `entry` (handlers run asynchronously after job-start). */
  async function reached(entry: string, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!order.includes(entry)) {
      if (Date.now() > deadline) assert.fail(`'${entry}' not reached; order: ${order.join(', ')}`);
      await sleep(5);
    }
  }

  test('jobs with the same lock run one at a time, first come first served', async () => {
    order = [];
    const { alice } = t;
    await alice.start('locked', { id: 'fifo-a', params: { name: 'fifo-a', lock: 'fifo' } });
    await reached('start:fifo-a');
    await alice.start('locked', { id: 'fifo-b', params: { name: 'fifo-b', lock: 'fifo' } });
    await alice.start('locked', { id: 'fifo-c', params: { name: 'fifo-c', lock: 'fifo' } });
    // The queued jobs' gates are open: only the lock holds them back.
    gates.open('fifo-c');
    gates.open('fifo-b');
    await sleep(50);
    assert.deepEqual(order, ['start:fifo-a'], 'b and c wait for the lock');
    // A job waiting for its lock is running (its handler has not started) and says so in its log.
    const [b] = (await alice.query()).filter((j) => j.id === 'fifo-b');
    assert.equal(b?.status, 'running');
    assert.match(b?.['logs-excerpt'] ?? '', /INFO waiting for lock 'fifo'$/);
    gates.open('fifo-a');
    const results = await Promise.all(['fifo-a', 'fifo-b', 'fifo-c'].map((id) => alice.wait(id, { timeoutMs: 5000 })));
    assert.deepEqual(
      results.map((r) => r.result),
      ['fifo-a', 'fifo-b', 'fifo-c'],
    );
    assert.deepEqual(order, ['start:fifo-a', 'end:fifo-a', 'start:fifo-b', 'end:fifo-b', 'start:fifo-c', 'end:fifo-c']);
  });

  test('jobs with different locks run at the same time', async () => {
    order = [];
    const { alice } = t;
    await alice.start('locked', { id: 'par-x', params: { name: 'par-x', lock: 'L1' } });
    await alice.start('locked', { id: 'par-y', params: { name: 'par-y', lock: 'L2' } });
    await reached('start:par-x');
    await reached('start:par-y');
    gates.open('par-y');
    gates.open('par-x');
    await Promise.all(['par-x', 'par-y'].map((id) => alice.wait(id, { timeoutMs: 5000 })));
  });

  test('a queued job can be cancelled while it waits: it never runs, and the queue moves on', async () => {
    order = [];
    const { alice, events } = t;
    await alice.start('locked', { id: 'q-hold', params: { name: 'q-hold', lock: 'Q' } });
    await reached('start:q-hold');
    await alice.start('locked', { id: 'q-gone', params: { name: 'q-gone', lock: 'Q' } });
    await alice.start('locked', { id: 'q-next', params: { name: 'q-next', lock: 'Q' } });
    gates.open('q-gone');
    gates.open('q-next');
    assert.deepEqual(await alice.cancel('q-gone'), {});
    const gone = await alice.wait('q-gone', { timeoutMs: 5000 });
    assert.equal(gone.error, 'Operation canceled');
    await events.status('q-gone', 'null');
    assert.deepEqual(sequence(events.events, 'q-gone'), ['created', 'running', 'aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
    gates.open('q-hold');
    await alice.wait('q-next', { timeoutMs: 5000 });
    assert.deepEqual(order, ['start:q-hold', 'end:q-hold', 'start:q-next', 'end:q-next'], 'q-gone never ran');
  });

  test('the lock is released when its holder fails', async () => {
    order = [];
    const { alice } = t;
    await alice.start('locked', { id: 'f-hold', params: { name: 'f-hold', lock: 'F', fail: 'holder broke' } });
    await reached('start:f-hold');
    await alice.start('locked', { id: 'f-next', params: { name: 'f-next', lock: 'F' } });
    gates.open('f-next');
    gates.open('f-hold');
    assert.equal((await alice.wait('f-hold', { timeoutMs: 5000 })).error, 'holder broke');
    assert.equal((await alice.wait('f-next', { timeoutMs: 5000 })).result, 'f-next');
    assert.deepEqual(order, ['start:f-hold', 'start:f-next', 'end:f-next']);
  });

  test('the lock is released when its holder is cancelled', async () => {
    order = [];
    const { alice } = t;
    await alice.start('locked', { id: 'c-hold', params: { name: 'c-hold', lock: 'C' } });
    await reached('start:c-hold');
    await alice.start('locked', { id: 'c-next', params: { name: 'c-next', lock: 'C' } });
    gates.open('c-next');
    await sleep(30);
    assert.deepEqual(order, ['start:c-hold']);
    await alice.cancel('c-hold');
    assert.equal((await alice.wait('c-hold', { timeoutMs: 5000 })).error, 'Operation canceled');
    assert.equal((await alice.wait('c-next', { timeoutMs: 5000 })).result, 'c-next');
    assert.deepEqual(order, ['start:c-hold', 'start:c-next', 'end:c-next']);
  });

  test('the lock is released when a job without auto-dismiss concludes, before job-dismiss', async () => {
    order = [];
    const { alice } = t;
    await alice.start('locked', { id: 'd-hold', params: { name: 'd-hold', lock: 'D' }, 'auto-dismiss': false });
    await reached('start:d-hold');
    await alice.start('locked', { id: 'd-next', params: { name: 'd-next', lock: 'D' } });
    gates.open('d-next');
    gates.open('d-hold');
    await alice.wait('d-next', { timeoutMs: 5000 });
    const [held] = (await alice.query()).filter((j) => j.id === 'd-hold');
    assert.equal(held?.status, 'concluded');
    await alice.dismiss('d-hold');
  });

  test('lockQueueSize 1: a second start while the first waits answers with the same job; never across owners', async () => {
    order = [];
    const { alice, bob, admin, stack } = t;
    // carol holds the lock, so the next jobs of S wait.
    const carol = await stack.client('carol');
    const hold = await carol.start('single', { params: { name: 's-hold' } });
    await reached('start:s-hold');

    const a1 = await alice.start('single', { params: { name: 's-a1' } });
    const a2 = await alice.start('single', { params: { name: 's-a2' }, description: 'another' });
    assert.equal(a2, a1, "alice's second start answers with her queued job");
    const b1 = await bob.start('single', { params: { name: 's-b1' } });
    assert.notEqual(b1, a1, 'bob gets a job of his own, never alice’s');
    const b2 = await bob.start('single', { params: { name: 's-b2' } });
    assert.equal(b2, b1);

    const singles = async (client: typeof alice) => (await client.query({ type: 'single' })).map((j) => [j.owner, j.id, j.description]);
    assert.deepEqual(await singles(alice), [['alice', a1, 'single s-a1']]);
    assert.deepEqual(await singles(bob), [['bob', b1, 'single s-b1']]);
    assert.deepEqual(await singles(admin), [
      ['bob', b1, 'single s-b1'],
      ['alice', a1, 'single s-a1'],
      ['carol', hold, 'single s-hold'],
    ]);

    // Once alice's job holds the lock it no longer waits: her next start queues a new job.
    gates.open('s-hold');
    await reached('start:s-a1');
    const a3 = await alice.start('single', { params: { name: 's-a3' } });
    assert.notEqual(a3, a1);
    assert.deepEqual(
      (await alice.query({ type: 'single' })).map((j) => j.id),
      [a3, a1],
    );
    for (const name of ['s-a1', 's-b1', 's-a3']) gates.open(name);
    await Promise.all([alice.wait(a1, { timeoutMs: 5000 }), bob.wait(b1, { timeoutMs: 5000 }), alice.wait(a3, { timeoutMs: 5000 })]);
    assert.deepEqual(order, ['start:s-hold', 'end:s-hold', 'start:s-a1', 'end:s-a1', 'start:s-b1', 'end:s-b1', 'start:s-a3', 'end:s-a3']);
  });
});
