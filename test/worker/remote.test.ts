/**
 * Remote workers, end to end against a real nats-server: a service without in-process types
 * and a JobWorker on its own connection. Jobs of the worker's types run there; progress, log
 * lines, results and errors come back; every verb reaches the worker; finalize hooks run
 * there; several workers share the load; a worker that leaves or vanishes fails its jobs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobTypes } from '../../src/runtime/registry.js';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { Recorder, rejectsWith } from '../service/helpers.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { eventually, infoOf, knowsWorker, pauseHoldsIt, progressOf, sleep, startWorker } from './helpers.js';
import type { TestWorker } from './helpers.js';
import { chattyJob, finalizingJob, foreverJob, hookCalls, shareJob } from './types.js';

describe('remote workers', () => {
  let stack: Stack;
  let alice: JobsClient;
  let worker: TestWorker;
  let events: Recorder;

  before(async () => {
    stack = await startStack({ types: new JobTypes() });
    alice = await stack.client('alice');
    worker = await startWorker(stack, [testJob, chattyJob, finalizingJob]);
    await knowsWorker(stack, worker.worker.id);
    events = new Recorder(stack.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });

  after(async () => {
    await worker?.close();
    await stack?.close();
  });

  test('a job of a worker type runs there: progress and the result come back', async () => {
    const id = await alice.start('test', { params: { steps: 5, 'step-ms': 20, result: { answer: 42 } } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.status, 'concluded');
    assert.equal(info.error, undefined);
    assert.deepEqual(info.result, { answer: 42 });
    assert.equal(info['current-progress'], 5);
    assert.equal(info['total-progress'], 5);
    // The events reach the recorder's connection, the reply alice's: in order only each on its
    // own. The job's progress events go before its `concluded`, so once that is here, they are.
    await events.until((e) => e.data.id === id && e.event === 'JOB_STATUS_CHANGE' && e.data.status === 'concluded', 5000, `${id} concluded`);
    const progress = events.of(id).filter((e) => e.event === 'JOB_PROGRESS');
    assert.ok(progress.length >= 1, 'JOB_PROGRESS events were published');
    assert.deepEqual(progress.at(-1)?.data['current-progress'], 5);
  });

  test("the handler's error comes back as the job's error", async () => {
    const id = await alice.start('test', { params: { steps: 4, 'step-ms': 5, fail: 'disk on fire', 'fail-at': 2 } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, 'disk on fire');
    assert.equal(info['current-progress'], 1);
  });

  test('log lines come back into the job log, secrets masked by the service', async () => {
    const id = await alice.start('chatty', { params: { lines: 3, token: 's3cr3t-value' }, 'auto-dismiss': false });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.deepEqual(info.result, { said: 3 });
    assert.deepEqual(info.params, { lines: 3, token: '********' });
    const { lines } = await alice.log(id);
    const text = lines.join('\n');
    assert.equal(lines.filter((l) => l.includes('INFO hello from the worker')).length, 3, text);
    assert.match(text, /INFO hello from the worker \{"n":2\}/);
    assert.match(text, /WARN careful/);
    assert.match(text, /token is \*{8}/);
    assert.doesNotMatch(text, /s3cr3t-value/);
    await alice.dismiss(id);
  });

  test("bad params fail the job with the worker's validation text", async () => {
    const expected = (() => {
      try {
        new JobTypes().register(testJob).parseParams('test', { steps: 'ten' });
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    })();
    const id = await alice.start('test', { params: { steps: 'ten' } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, expected);
    assert.equal(expected, "Invalid parameter type for 'params.steps', expected: integer");
  });

  test('a type no process has is still an unknown job type', async () => {
    // QEMU's text, then the types the deployment runs (those query-job-types lists: local and remote).
    const known = (await alice.request('query-job-types', {})).map((t) => t.type).join(', ');
    assert.ok(known.length > 0);
    await rejectsWith(alice.start('nope'), 400, `Invalid parameter 'type': unknown job type 'nope' (known: ${known})`);
  });

  test('pause and resume reach the worker; cancel stops it', async () => {
    const id = await alice.start('test', { params: { steps: 200, 'step-ms': 20 } });
    await eventually(async () => (await progressOf(alice, id)) >= 2, 'some progress');
    const parked = await pauseHoldsIt(alice, events, id);
    await eventually(async () => (await progressOf(alice, id)) >= parked + 3, 'progress after resume');
    await alice.cancel(id);
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, 'Operation canceled');
    assert.ok(Number(info['current-progress']) < 200);
    await eventually(() => worker.worker.load === 0, 'the worker to drop the cancelled job');
  });

  test('set-speed reaches the worker', async () => {
    // 1 step per second: 10 steps would take 10 s.
    const id = await alice.start('test', { params: { steps: 10, 'step-ms': 0 }, speed: 1 });
    await events.status(id, 'running');
    await sleep(300);
    assert.ok((await progressOf(alice, id)) <= 1, 'the speed limit holds on the worker');
    const t0 = performance.now();
    await alice.setSpeed(id, 0);
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, undefined);
    assert.equal(info['current-progress'], 10);
    assert.ok(performance.now() - t0 < 2000, `finished ${Math.round(performance.now() - t0)} ms after set-speed 0`);
  });

  test('complete reaches a job waiting in ready on the worker', async () => {
    const id = await alice.start('test', { params: { steps: 2, 'step-ms': 5, ready: true, result: 'synced' } });
    await events.event(id, 'JOB_READY');
    await alice.complete(id);
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, undefined);
    assert.equal(info.result, 'synced');
  });

  test('finalize hooks run on the worker, in order, with the scratch the handler filled', async () => {
    const id = await alice.start('finalizing', { 'auto-finalize': false });
    await events.event(id, 'JOB_PENDING');
    assert.deepEqual(hookCalls.get(id), undefined, 'nothing before job-finalize');
    await alice.finalize(id);
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.result, 'made');
    await eventually(() => hookCalls.get(id)?.length === 3, 'the hooks to run');
    assert.deepEqual(hookCalls.get(id), [`prepare:tmp-${id}`, `commit:tmp-${id}`, `clean:tmp-${id}`]);
  });

  test("a failing prepare on the worker aborts the job with prepare's error", async () => {
    const id = await alice.start('finalizing', { params: { 'fail-prepare': 'no space left' } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, 'no space left');
    await eventually(() => hookCalls.get(id)?.length === 3, 'the hooks to run');
    assert.deepEqual(hookCalls.get(id), [`prepare:tmp-${id}`, `abort:tmp-${id}`, `clean:tmp-${id}`]);
  });

  test('a soft cancel in ready reaches the worker: the hooks see it', async () => {
    const id = await alice.start('finalizing', { params: { ready: true } });
    await events.event(id, 'JOB_READY');
    await alice.cancel(id, { force: false });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, undefined);
    assert.equal(info.result, 'cancel');
    await eventually(() => hookCalls.get(id)?.length === 3, 'the hooks to run');
    assert.deepEqual(hookCalls.get(id), [`prepare:tmp-${id}:soft`, `commit:tmp-${id}:soft`, `clean:tmp-${id}:soft`]);
  });

  test('two workers of one type share the load', async () => {
    const ranA: string[] = [];
    const ranB: string[] = [];
    await using a = await startWorker(stack, [shareJob(ranA)]);
    await using b = await startWorker(stack, [shareJob(ranB)]);
    await knowsWorker(stack, a.worker.id);
    await knowsWorker(stack, b.worker.id);
    const ids = await Promise.all(Array.from({ length: 20 }, () => alice.start('share', { params: { ms: 30 } })));
    const infos = await Promise.all(ids.map((id) => alice.wait(id, { timeoutMs: 10_000 })));
    assert.ok(infos.every((i) => i.status === 'concluded' && i.error === undefined));
    assert.equal(ranA.length + ranB.length, 20);
    assert.ok(ranA.length >= 5 && ranB.length >= 5, `each worker ran some: ${ranA.length} and ${ranB.length}`);
    assert.deepEqual(new Set([...ranA, ...ranB]), new Set(ids), 'every job ran exactly once');
  });

  test("a worker that shuts down fails its running jobs, and its types go with it", async () => {
    const leaving = await startWorker(stack, [foreverJob]);
    await knowsWorker(stack, leaving.worker.id);
    const id = await alice.start('forever');
    await eventually(async () => (await progressOf(alice, id)) >= 1, 'the job to run');
    await leaving.close();
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, `Worker '${leaving.worker.id}' shut down`);
    await eventually(() => stack.service.workers?.types.get('forever') === undefined, 'the type to go');
    const known = (await alice.request('query-job-types', {})).map((t) => t.type).join(', ');
    assert.ok(!known.split(', ').includes('forever'));
    await rejectsWith(alice.start('forever'), 400, `Invalid parameter 'type': unknown job type 'forever' (known: ${known || 'none'})`);
  });

  test('dispatch to a worker that vanished without a word fails clearly, at once', async () => {
    const vanished = await startWorker(stack, [foreverJob]);
    await knowsWorker(stack, vanished.worker.id);
    await vanished.nc.close(); // no goodbye: the service still believes in it
    const t0 = performance.now();
    const id = await alice.start('forever');
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.error, "No worker for job type 'forever' is available");
    assert.ok(performance.now() - t0 < 1000, 'no waiting for the heartbeat timeout');
    await vanished.close();
  });

  test('a job-start answers as fast with a remote type, and query-jobs shows it', async () => {
    const id = await alice.start('test', { params: { steps: 3, 'step-ms': 50 }, 'auto-dismiss': false });
    const info = await infoOf(alice, id);
    assert.equal(info?.type, 'test');
    assert.ok(info?.status === 'running' || info?.status === 'paused');
    await alice.wait(id, { timeoutMs: 5000 });
    await alice.dismiss(id);
  });
});
