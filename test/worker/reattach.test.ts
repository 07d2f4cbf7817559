/**
 * Jobs run by remote workers across a restart of the service (docs/workers.md, Service
 * restarts): a new service restored from the same store, on the same nats-server and prefix,
 * re-attaches each job whose worker is still alive — the job goes on there, commands reach it,
 * progress and the result come back (also what happened while the service was away: an
 * outcome, an error-stop), and its events are one valid QEMU history. A job whose worker is
 * gone, or no longer has it, fails with `Interrupted by service restart` at once. A worker
 * keeps a silent service's jobs for the re-attach window the service announced, and not
 * beyond.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobStatus } from '../../machines/index.js';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { INTERRUPTED } from '../../src/runtime/interrupted-work.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { JobsClient } from '../../src/sdk/index.js';
import { workerSubjects } from '../../src/protocol/worker.js';
import { Recorder, sequence } from '../service/helpers.js';
import { TRANSITIONS } from '../../src/testing/qemu-tables.js';
import { startNatsServer, startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { eventually, infoOf, knowsWorker, pauseHoldsIt, progressOf, sleep, startWorker } from './helpers.js';
import type { TestWorker } from './helpers.js';
import { stoppingJob } from './types.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

let prefixes = 0;
const freshPrefix = () => `ra${process.pid}x${++prefixes}`;

/** Every status change of `id` is one QEMU allows, and the job never aborted. */
function assertQemuHistory(events: Recorder, id: string): string[] {
  const statuses = events
    .of(id)
    .filter((e) => e.event === 'JOB_STATUS_CHANGE')
    .map((e) => String(e.data.status) as JobStatus);
  let from: JobStatus = JobStatus.undefined;
  for (const to of statuses) {
    assert.ok(TRANSITIONS[from].includes(to), `${id}: ${from} → ${to} is not a QEMU transition (${statuses.join(' ')})`);
    from = to;
  }
  assert.ok(!statuses.includes(JobStatus.aborting), `${id} never aborts: ${statuses.join(' ')}`);
  return statuses;
}

/** Progress never goes back in the published JOB_PROGRESS events. */
function assertProgressMonotonic(events: Recorder, id: string): number[] {
  const values = events.of(id).filter((e) => e.event === 'JOB_PROGRESS').map((e) => Number(e.data['current-progress']));
  for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, `progress of ${id} went back: ${values.join(',')}`);
  return values;
}

describe('remote jobs across a service restart', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let watcher: NatsConnection;
  const clients: JobsClient[] = [];
  const workers: TestWorker[] = [];
  const stacks: Stack[] = [];

  /** A client and an event recorder of the prefix's own, on connections that outlive the services. */
  async function observe(prefix: string): Promise<{ alice: JobsClient; events: Recorder }> {
    const alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
    clients.push(alice);
    const events = new Recorder(watcher, `${prefix}.evt.alice.>`);
    await events.ready;
    return { alice, events };
  }

  async function service(prefix: string, opts: Parameters<typeof startStack>[0] = {}): Promise<Stack> {
    const stack = await startStack({ server, prefix, types: new JobTypes(), ...opts });
    stacks.push(stack);
    return stack;
  }

  before(async () => {
    server = await startNatsServer();
    watcher = await connect({ servers: server.url });
  });

  after(async () => {
    for (const stack of stacks) await stack.close().catch(() => undefined);
    for (const client of clients) await client.close();
    for (const worker of workers) await worker.close().catch(() => undefined);
    await watcher?.close();
    await server?.stop();
  });

  test('after a clean stop: running, paused and ready jobs go on on their worker', async (t) => {
    const prefix = freshPrefix();
    const { alice, events } = await observe(prefix);
    const first = await service(prefix);
    const worker = await startWorker(first, [testJob]);
    workers.push(worker);
    await knowsWorker(first, worker.worker.id);

    const id = await alice.start('test', { params: { steps: 40, 'step-ms': 50, result: { answer: 42 } }, 'auto-dismiss': false });
    const parked = await alice.start('test', { params: { steps: 50, 'step-ms': 20, result: 'parked' } });
    const ready = await alice.start('test', { params: { steps: 1, 'step-ms': 1, ready: true, result: 'completed' } });
    await eventually(async () => (await progressOf(alice, parked)) >= 1, 'the parked job to make progress');
    await alice.pause(parked);
    await events.status(parked, 'paused');
    await events.status(ready, 'ready');
    await eventually(async () => (await progressOf(alice, id)) >= 3, 'progress on the worker');
    // One that ends while the service is away: its outcome is in the worker's answer to the re-attach.
    const finisher = await alice.start('test', { params: { steps: 10, 'step-ms': 40, result: 'done while away' } });
    await eventually(async () => (await progressOf(alice, finisher)) >= 1, 'the finisher to run');

    await first.close();
    const atStop = Math.max(...assertProgressMonotonic(events, id));
    // The worker goes on meanwhile (its reports reach nobody) and keeps the jobs of the service.
    await eventually(() => worker.worker.load === 3, 'the finisher to end on the worker while the service is away');
    await sleep(200);

    const second = await service(prefix);
    assert.equal((await infoOf(alice, id))?.status, 'running');
    assert.equal((await infoOf(alice, parked))?.status, 'paused');
    assert.equal((await infoOf(alice, ready))?.status, 'ready');
    assert.equal((await alice.wait(finisher, { timeoutMs: 5000 })).result, 'done while away');
    await events.status(finisher, 'null');
    assert.deepEqual(assertQemuHistory(events, finisher), ['created', 'running', 'waiting', 'pending', 'concluded', 'null']);
    // What the worker did while the service was away is in its answer to the re-attach.
    await eventually(async () => (await progressOf(alice, id)) > atStop + 3, 'progress after the restart', 5000);
    t.diagnostic(`progress ${atStop} at the stop, ${await progressOf(alice, id)} after the restart`);

    // Commands reach the worker: pause holds the job there, resume lets it go on.
    await pauseHoldsIt(alice, events, id);

    // The paused job was kept paused on the worker, and resumes there; the ready one completes there.
    await alice.resume(parked);
    await alice.complete(ready);
    assert.equal((await alice.wait(parked, { timeoutMs: 5000 })).result, 'parked');
    assert.equal((await alice.wait(ready, { timeoutMs: 5000 })).result, 'completed');

    const info = await alice.wait(id, { timeoutMs: 10_000 });
    assert.equal(info.error, undefined);
    assert.deepEqual(info.result, { answer: 42 });
    assert.equal(info['current-progress'], 40);

    // The events come on a connection of their own: they may trail the replies.
    await Promise.all([events.status(id, 'concluded'), events.status(parked, 'null'), events.status(ready, 'null')]);
    assert.deepEqual(assertQemuHistory(events, id), ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded']);
    assert.deepEqual(assertQemuHistory(events, parked), ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded', 'null']);
    assert.deepEqual(sequence(events.events, ready), ['created', 'running', 'ready', '[JOB_READY]', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
    assertQemuHistory(events, ready);
    const progress = assertProgressMonotonic(events, id);
    assert.equal(progress.at(-1), 40);
    assert.ok(progress.some((p) => p > atStop && p < 40), 'progress published after the restart');
    await eventually(() => worker.worker.load === 0, 'the worker to forget the concluded jobs');
    await second.close();
  });

  test('after a crash (SIGKILL of the service process): the job goes on and concludes with the worker\'s result', async (t) => {
    const prefix = freshPrefix();
    const { alice, events } = await observe(prefix);
    const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-reattach-'));
    const children: ChildProcess[] = [];
    const spawnService = async (): Promise<{ child: ChildProcess; lines: () => string[] }> => {
      const child = spawn(process.execPath, [MAIN], {
        env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_LOCAL_TYPES: 'none', JOBS_DATA_DIR: dataDir, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const lines = () => out.split('\n');
      await eventually(() => lines().some((l) => l.includes('"msg":"ready"')), 'the service process to be ready', 10_000);
      return { child, lines };
    };
    try {
      const worker = await startWorker({ server, prefix }, [testJob]);
      workers.push(worker);
      const first = await spawnService();
      await eventually(() => first.lines().some((l) => l.includes('"msg":"worker joined"')), 'the service to know the worker');

      const id = await alice.start('test', { params: { steps: 120, 'step-ms': 50, result: 'survived' } });
      await eventually(async () => (await progressOf(alice, id)) >= 3, 'progress on the worker');
      const exited = new Promise((resolve) => first.child.once('exit', resolve));
      first.child.kill('SIGKILL');
      await exited;
      const atCrash = Math.max(...assertProgressMonotonic(events, id));

      const second = await spawnService();
      await eventually(async () => (await progressOf(alice, id)) > atCrash + 3, 'progress after the restart', 5000);
      assert.equal((await infoOf(alice, id))?.status, 'running');
      await eventually(() => second.lines().some((l) => l.includes('job re-attached on its worker')), 'the restarted service to log the re-attach');
      // A command after the restart reaches the worker: speed 0 is unlimited, as before.
      await alice.setSpeed(id, 0);

      const info = await alice.wait(id, { timeoutMs: 10_000 });
      t.diagnostic(`progress ${atCrash} at the crash`);
      assert.equal(info.error, undefined);
      assert.equal(info.result, 'survived');
      await events.status(id, 'null');
      assert.deepEqual(assertQemuHistory(events, id), ['created', 'running', 'waiting', 'pending', 'concluded', 'null']);
      assert.equal(assertProgressMonotonic(events, id).at(-1), 120);
      second.child.kill('SIGTERM');
      await new Promise((resolve) => second.child.once('exit', resolve));
    } finally {
      for (const child of children) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('an I/O error that stopped a job (on-error stop), before or during the outage: paused once, with one JOB_ERROR', async () => {
    const prefix = freshPrefix();
    const { alice, events } = await observe(prefix);
    const first = await service(prefix);
    const worker = await startWorker(first, [stoppingJob]);
    workers.push(worker);
    await knowsWorker(first, worker.worker.id);
    const before = await alice.start('stopping', { params: {}, 'on-error': 'stop' });
    const during = await alice.start('stopping', { params: { 'error-after-ms': 300 }, 'on-error': 'stop' });
    await events.status(before, 'paused');
    await first.close();
    await sleep(600); // `during` hits its error meanwhile, and stops on it

    await service(prefix);
    await events.status(during, 'paused');
    for (const id of [before, during]) {
      assert.equal((await infoOf(alice, id))?.status, 'paused');
      await alice.resume(id);
    }
    for (const id of [before, during]) {
      assert.equal((await alice.wait(id, { timeoutMs: 5000 })).result, 'recovered');
      await events.status(id, 'null');
      assert.equal(events.of(id).filter((e) => e.event === 'JOB_ERROR').length, 1, `one JOB_ERROR for ${id}: ${sequence(events.events, id).join(' ')}`);
      assert.deepEqual(assertQemuHistory(events, id), ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded', 'null']);
    }
  });

  test('a worker that dies while the service is away, or no longer has the job: Interrupted by service restart', async () => {
    const prefix = freshPrefix();
    const { alice, events } = await observe(prefix);
    const first = await service(prefix);
    const doomed = await startWorker(first, [testJob]);
    workers.push(doomed);
    await knowsWorker(first, doomed.worker.id);
    const lost = await alice.start('test', { params: { steps: 1000, 'step-ms': 20 } });
    await eventually(async () => (await progressOf(alice, lost)) >= 2, 'the job to run on the doomed worker');

    const other = await startWorker(first, [testJob]);
    workers.push(other);
    await knowsWorker(first, other.worker.id);
    const forgotten = await alice.start('test', { params: { steps: 1000, 'step-ms': 20 } });
    await eventually(async () => (await progressOf(alice, forgotten)) >= 2, 'the second job to run');
    assert.equal(other.worker.load, 1, 'the second job went to the idle worker');
    const svc = first.service.workers!.svc;
    await first.close();

    // The doomed worker's process dies (its connection drops); the other one loses the job.
    await doomed.nc.close();
    other.nc.publish(workerSubjects.job(prefix, other.worker.id, svc, 'alice', forgotten), JSON.stringify({ type: 'stop' }));
    await other.nc.flush();
    await eventually(() => other.worker.load === 0, 'the other worker to drop the job');

    const restartedAt = performance.now();
    const second = await service(prefix);
    assert.equal(second.service.workers!.svc, svc, 'the restarted service is the same instance to its workers');
    const [lostInfo, forgottenInfo] = await Promise.all([alice.wait(lost, { timeoutMs: 5000 }), alice.wait(forgotten, { timeoutMs: 5000 })]);
    const ms = performance.now() - restartedAt;
    assert.equal(lostInfo.error, INTERRUPTED);
    assert.equal(forgottenInfo.error, INTERRUPTED);
    assert.ok(ms < 3000, `failed within the bound: ${Math.round(ms)} ms`);
    for (const id of [lost, forgotten]) {
      await events.status(id, 'null');
      const statuses = events.of(id).filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data.status);
      assert.deepEqual(statuses, ['created', 'running', 'aborting', 'concluded', 'null']);
    }
    await second.close();
  });

  test('a service away longer than its timeout: the worker keeps its jobs for the re-attach window, and not beyond', async () => {
    // Short timings: the service beats every 100 ms, a worker gives up on it after 300 ms.
    const fast = { heartbeatMs: 100 };
    for (const reattachMs of [5000, 0]) {
      const prefix = freshPrefix();
      const { alice } = await observe(prefix);
      const first = await service(prefix, { workers: { ...fast, reattachMs } });
      const worker = await startWorker(first, [testJob], { serviceTimeoutMs: 300 });
      workers.push(worker);
      await knowsWorker(first, worker.worker.id);
      const id = await alice.start('test', { params: { steps: 50, 'step-ms': 25, result: 'kept' } });
      await eventually(async () => (await progressOf(alice, id)) >= 2, 'progress on the worker');
      await first.close();
      await sleep(500); // past the worker's service timeout
      if (reattachMs > 0) assert.equal(worker.worker.load, 1, 'kept within the re-attach window');
      else await eventually(() => worker.worker.load === 0, 'the job to be cancelled at the timeout');
      await service(prefix, { workers: { ...fast, reattachMs } });
      const info = await alice.wait(id, { timeoutMs: 5000 });
      if (reattachMs > 0) assert.equal(info.result, 'kept');
      else assert.equal(info.error, INTERRUPTED);
    }
  });
});
