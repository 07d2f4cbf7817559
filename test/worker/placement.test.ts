/**
 * Where a job runs when a service has in-process types and workers too: a type the service
 * has runs in its process (whatever the workers announce); the others go to the workers; a
 * grouped transaction can mix both, and a remote prepare that fails aborts a local partner.
 * And a worker cancels the jobs of a service that stopped heartbeating (its statecharts are
 * gone), so nothing runs on for nobody.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { JobsClient } from '../../src/sdk/index.js';
import { JobService } from '../../src/service/service.js';
import { JobWorker } from '../../src/worker/worker.js';
import { startNatsServer, startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { eventually, knowsWorker, startWorker } from './helpers.js';
import type { TestWorker } from './helpers.js';
import { finalizingJob, foreverJob, hookCalls } from './types.js';

describe('in-process and remote types side by side', () => {
  let stack: Stack;
  let alice: JobsClient;
  let worker: TestWorker;
  const ranRemotely: string[] = [];

  before(async () => {
    stack = await startStack({ types: new JobTypes().register(testJob) });
    alice = await stack.client('alice');
    // A worker that announces `test` too, and records any run it gets.
    const impostor = defineJob('test', { params: z.record(z.string(), z.unknown()) }, async (job) => {
      ranRemotely.push(job.id);
      return 'remote';
    });
    worker = await startWorker(stack, [impostor, finalizingJob]);
    await knowsWorker(stack, worker.worker.id);
  });

  after(async () => {
    await worker?.close();
    await stack?.close();
  });

  test('a type the service has runs in-process, whatever the workers announce', async () => {
    const id = await alice.start('test', { params: { steps: 2, 'step-ms': 5, result: 'local' } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.result, 'local');
    assert.deepEqual(ranRemotely, []);
  });

  test("a grouped transaction mixes both; a remote prepare's failure aborts the local partner", async () => {
    const [local, remote] = await alice.transaction(
      [
        { type: 'test', params: { steps: 2, 'step-ms': 5 } },
        { type: 'finalizing', params: { 'fail-prepare': 'remote prepare broke' } },
      ],
      'grouped',
    );
    const [l, r] = await Promise.all([alice.wait(local!, { timeoutMs: 5000 }), alice.wait(remote!, { timeoutMs: 5000 })]);
    assert.equal(r.error, 'remote prepare broke');
    assert.equal(l.error, 'Operation canceled');
    await eventually(() => hookCalls.get(remote!)?.length === 3, 'the remote hooks');
    assert.deepEqual(hookCalls.get(remote!), [`prepare:tmp-${remote}`, `abort:tmp-${remote}`, `clean:tmp-${remote}`]);
  });
});

describe('a service that goes silent', () => {
  // A service that keeps its jobs across restarts has them kept for it longer (reattach.test.ts).
  test('without persistence, its jobs on a worker are cancelled once its heartbeats stop', async () => {
    await using server = await startNatsServer();
    const prefix = `orphans${process.pid}`;
    const serviceNc = await connect({ servers: server.url });
    const service = await JobService.start({ nc: serviceNc, types: new JobTypes(), logger: pino({ level: 'silent' }), prefix, persistence: false });
    const alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
    const workerNc = await connect({ servers: server.url });
    const worker = await JobWorker.start({ nc: workerNc, prefix, types: [foreverJob] });
    await eventually(() => service.workers?.list().length === 1, 'the service to know the worker');

    await alice.start('forever');
    await eventually(() => worker.load === 1, 'the job to run on the worker');
    // The service dies without a word: no stop for its job, no more heartbeats.
    await serviceNc.close();
    const t0 = performance.now();
    await eventually(() => worker.load === 0, 'the worker to drop the orphaned job', 6000);
    const ms = performance.now() - t0;
    // 3 s without heartbeats, plus the heartbeat period; the rest is slack for a loaded machine.
    assert.ok(ms <= 3000 + 250 + 1250, `cancelled ${Math.round(ms)} ms after the service went silent`);

    await service.close().catch(() => undefined);
    await alice.close();
    await worker.close();
    await workerNc.drain();
  });
});
