/**
 * Remote jobs move with their partition (docs/cluster.md, docs/workers.md): instances of one
 * prefix with different instance ids (JOBS_INSTANCE_ID) share the job store; when another
 * instance takes a job's partition over, it re-attaches the job on its worker, which hands the
 * job over to it — the job keeps its progress, commands reach it, and it concludes with the
 * worker's result, never `Interrupted by service restart`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { assign } from '../../src/cluster/assignment.js';
import { partitionOf } from '../../src/cluster/partition.js';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { INTERRUPTED } from '../../src/runtime/interrupted-work.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { JobsClient } from '../../src/sdk/index.js';
import { JobService } from '../../src/service/service.js';
import { Recorder } from '../service/helpers.js';
import { FAST_TIMINGS, InstanceProcess, TEST_PERSISTENCE } from '../cluster/instances.js';
import { startNatsServer } from '../support/stack.js';
import { eventually, infoOf, pauseHoldsIt, progressOf, startWorker } from './helpers.js';
import type { TestWorker } from './helpers.js';

let prefixes = 0;
const freshPrefix = () => `tk${process.pid}x${++prefixes}`;

interface Instance {
  service: JobService;
  close(): Promise<void>;
}

describe('remote jobs when another instance takes their partition over', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let watcher: NatsConnection;
  const closers: Array<() => Promise<void>> = [];

  /** An instance of `prefix` with instance id `id`, without local types (every job runs on a worker). */
  async function instance(prefix: string, id: string): Promise<Instance> {
    const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const service = await JobService.start({
      nc,
      types: new JobTypes(),
      logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      prefix,
      instanceId: id,
      persistence: TEST_PERSISTENCE,
      cluster: FAST_TIMINGS,
    });
    const close = async () => {
      await service.close();
      await nc.drain().catch(() => undefined);
    };
    closers.push(close);
    return { service, close };
  }

  /** A worker for `test`, and for the same type as `moving` (which an instance process with the built-in types does not run itself). */
  async function worker(prefix: string): Promise<TestWorker> {
    const w = await startWorker({ server, prefix }, [testJob, { ...testJob, type: 'moving' }]);
    closers.push(() => w.close());
    return w;
  }

  async function observe(prefix: string, owner: string): Promise<{ client: JobsClient; events: Recorder }> {
    const client = await JobsClient.connect({ servers: server.url, user: owner, prefix });
    closers.push(() => client.close());
    const events = new Recorder(watcher, `${prefix}.evt.${owner}.>`);
    await events.ready;
    return { client, events };
  }

  /** The job's events never say it was interrupted, and its progress never goes back. */
  function assertNotInterrupted(events: Recorder, id: string): void {
    const all = JSON.stringify(events.of(id));
    assert.ok(!all.includes(INTERRUPTED), `no '${INTERRUPTED}' in the events of ${id}`);
    const progress = events.of(id).filter((e) => e.event === 'JOB_PROGRESS').map((e) => Number(e.data['current-progress']));
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]!, `progress went back: ${progress.join(',')}`);
  }

  before(async () => {
    server = await startNatsServer();
    watcher = await connect({ servers: server.url });
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await watcher?.close();
    await server?.stop();
  });

  test('instance A goes away, B (another instance id) takes over: the job goes on and concludes with the worker\'s result', async (t) => {
    const prefix = freshPrefix();
    const { client, events } = await observe(prefix, 'alice');
    const a = await instance(prefix, 'inst-a');
    const w = await worker(prefix);
    await eventually(() => a.service.workers?.list().some((x) => x.id === w.worker.id) === true, 'A to know the worker');
    const id = await client.start('test', { params: { steps: 60, 'step-ms': 50, result: 'moved on' } });
    await eventually(async () => (await progressOf(client, id)) >= 3, 'progress on the worker');

    // A goes away and leaves the job running on its worker; B was never told about it.
    await a.close();
    const atStop = Math.max(...events.of(id).filter((e) => e.event === 'JOB_PROGRESS').map((e) => Number(e.data['current-progress'])));
    const b = await instance(prefix, 'inst-b');
    assert.equal(b.service.workers?.svc, 'inst-b');
    await eventually(() => b.service.jobs.ownership.serves(partitionOf('alice', 32)), 'B to serve alice\'s partition', 10_000);
    await eventually(async () => (await progressOf(client, id)) > atStop + 3, 'progress after the takeover', 5000);
    assert.equal((await infoOf(client, id))?.status, 'running');
    // Commands from B reach the worker.
    await pauseHoldsIt(client, events, id);

    const info = await client.wait(id, { timeoutMs: 10_000 });
    t.diagnostic(`progress ${atStop} when A went away`);
    assert.equal(info.error, undefined);
    assert.equal(info.result, 'moved on');
    assert.equal(info['current-progress'], 60);
    await events.status(id, 'null');
    assertNotInterrupted(events, id);
    await eventually(() => w.worker.load === 0, 'the worker to forget the job');
  });

  test('a live handover (B joins, A hands the partition over): the job goes on on B', async () => {
    const prefix = freshPrefix();
    const share = assign(['inst-a', 'inst-b'], 32);
    const owner = Array.from({ length: 50 }, (_, i) => `user${i}`).find((o) => share[partitionOf(o, 32)] === 'inst-b')!;
    const { client, events } = await observe(prefix, owner);
    const a = await instance(prefix, 'inst-a');
    const w = await worker(prefix);
    await eventually(() => a.service.workers?.list().some((x) => x.id === w.worker.id) === true, 'A to know the worker');
    const id = await client.start('test', { params: { steps: 60, 'step-ms': 50, result: 'handed over' } });
    await eventually(async () => (await progressOf(client, id)) >= 3, 'progress on the worker');

    // B joins: A, still alive, hands the owner's partition over (and keeps getting nothing for the job).
    const b = await instance(prefix, 'inst-b');
    const p = partitionOf(owner, 32);
    await eventually(() => b.service.jobs.ownership.serves(p) && !a.service.jobs.ownership.serves(p), 'the partition to move to B', 10_000);
    await eventually(() => b.service.workers?.job(owner, id) !== undefined, 'B to hold the remote job');
    const atMove = await progressOf(client, id);
    await eventually(async () => (await progressOf(client, id)) > atMove + 3, 'progress after the move', 5000);

    const info = await client.wait(id, { timeoutMs: 10_000 });
    assert.equal(info.error, undefined);
    assert.equal(info.result, 'handed over');
    await events.status(id, 'null');
    assertNotInterrupted(events, id);
    assert.equal(w.worker.load, 0);
  });

  test('SIGKILL of instance A (a process): B takes the partition over once the lease runs out, the job goes on', async (t) => {
    const prefix = freshPrefix();
    const { client, events } = await observe(prefix, 'alice');
    const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-takeover-'));
    const a = new InstanceProcess('inst-a', [server.url], prefix, { fast: true, dataDir });
    try {
      await a.start();
      const w = await worker(prefix);
      await eventually(() => a.lines().some((l) => l.msg === 'worker joined' && l.worker === w.worker.id), 'A to know the worker');
      const id = await client.start('moving', { params: { steps: 80, 'step-ms': 50, result: 'survived' } });
      await eventually(async () => (await progressOf(client, id)) >= 3, 'progress on the worker');
      await a.stop('SIGKILL');
      const atCrash = Math.max(...events.of(id).filter((e) => e.event === 'JOB_PROGRESS').map((e) => Number(e.data['current-progress'])));

      const b = await instance(prefix, 'inst-b');
      await eventually(() => b.service.jobs.ownership.serves(partitionOf('alice', 32)), 'B to serve alice\'s partition', 15_000);
      await eventually(async () => (await progressOf(client, id)) > atCrash + 3, 'progress after the takeover', 5000);
      await client.setSpeed(id, 0);
      const info = await client.wait(id, { timeoutMs: 10_000 });
      t.diagnostic(`progress ${atCrash} at the crash`);
      assert.equal(info.error, undefined);
      assert.equal(info.result, 'survived');
      await events.status(id, 'null');
      assertNotInterrupted(events, id);
    } finally {
      await a.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
