/**
 * The hand-over rule on a worker (docs/workers.md, Service restarts): an `attach` for a job
 * (owner, id) from another instance of the same service (same prefix, another instance id)
 * hands the job over to that instance — its reply carries the job's state, its reports go to
 * the new instance from then on, and the old instance's later commands for the job are ignored
 * (requests answered "has no job"). Driven by hand: the test plays both service instances.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { Report, workerSubjects } from '../../src/protocol/worker.js';
import type { RunRequest } from '../../src/protocol/worker.js';
import { startNatsServer } from '../support/stack.js';
import { eventually, sleep, startWorker } from './helpers.js';
import type { TestWorker } from './helpers.js';

const prefix = `ho${process.pid}`;

describe('a worker hands a job over to the instance that re-attaches it', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  let worker: TestWorker;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    worker = await startWorker({ server, prefix }, [testJob]);
  });
  after(async () => {
    await worker?.close();
    await nc?.close();
    await server?.stop();
  });

  /** Every report of `svc` about alice's job `id`, as it arrives. */
  function reportsTo(svc: string, id: string): Report[] {
    const got: Report[] = [];
    nc.subscribe(workerSubjects.report(prefix, svc, worker.worker.id, 'alice', id), {
      callback: (_err, msg) => void got.push(Report.parse(msg.json())),
    });
    return got;
  }
  const progress = (reports: Report[]) => reports.flatMap((r) => (r.type === 'work.progress' ? [r.current] : []));
  const job = (svc: string, id: string, message: Record<string, unknown>) =>
    nc.request(workerSubjects.job(prefix, worker.worker.id, svc, 'alice', id), JSON.stringify(message), { timeout: 2000 });
  const tell = (svc: string, id: string, message: Record<string, unknown>) =>
    nc.publish(workerSubjects.job(prefix, worker.worker.id, svc, 'alice', id), JSON.stringify(message));

  async function run(svc: string, id: string): Promise<void> {
    const request: RunRequest = { svc, id, owner: 'alice', type: 'test', params: { steps: 40, 'step-ms': 50, result: 'moved' }, speed: 0, 'on-error': 'report', paused: false, 'reattach-ms': 30_000 };
    const reply = await nc.request(workerSubjects.run(prefix, worker.worker.id), JSON.stringify(request), { timeout: 2000 });
    assert.deepEqual(reply.json(), { return: {} });
  }

  test('attach from svc2: the state in the reply, reports to svc2, svc1 ignored', async () => {
    const id = 'moving';
    const toOld = reportsTo('svc1', id);
    const toNew = reportsTo('svc2', id);
    await nc.flush();
    await run('svc1', id);
    await eventually(() => progress(toOld).some((p) => p >= 3), 'progress reported to svc1');

    const attached = (await job('svc2', id, { type: 'attach' })).json<{ return: { reports: Report[] } }>();
    const state = progress(attached.return.reports);
    assert.equal(state.length, 1, 'the reply carries the last progress');
    assert.ok(state[0]! >= 3);
    await eventually(() => progress(toNew).length > 0, 'progress reported to svc2');
    await sleep(100); // a report in flight at the hand-over
    const oldCount = toOld.length;

    // svc1's commands no longer reach the job: a pause from it does not hold the job, its requests find nothing.
    tell('svc1', id, { type: 'pause' });
    tell('svc1', id, { type: 'stop' });
    const prepare = (await job('svc1', id, { type: 'prepare' })).json<{ error?: { desc: string } }>();
    assert.match(prepare.error?.desc ?? '', /has no job 'moving'/);
    const before = Math.max(...progress(toNew));
    await eventually(() => Math.max(...progress(toNew)) > before + 2, 'progress after svc1 paused it (ignored)');
    assert.equal(worker.worker.load, 1);

    // svc2's commands do: pause holds it.
    tell('svc2', id, { type: 'pause' });
    await sleep(150);
    const parked = Math.max(...progress(toNew));
    await sleep(250);
    assert.equal(Math.max(...progress(toNew)), parked, 'paused by svc2');
    tell('svc2', id, { type: 'resume' });
    await eventually(() => toNew.some((r) => r.type === 'work.done'), 'the result, reported to svc2', 5000);
    assert.deepEqual(toNew.find((r) => r.type === 'work.done'), { type: 'work.done', result: 'moved' });
    assert.equal(toOld.length, oldCount, 'nothing more to svc1 after the hand-over');
    tell('svc2', id, { type: 'stop' });
    await eventually(() => worker.worker.load === 0, 'the worker to forget the job');
  });

  test('attach from the same instance: as before, and an unknown job is still unknown', async () => {
    const id = 'staying';
    const reports = reportsTo('svc3', id);
    await nc.flush();
    await run('svc3', id);
    await eventually(() => progress(reports).length > 0, 'progress');
    const again = (await job('svc3', id, { type: 'attach' })).json<{ return?: unknown }>();
    assert.ok(again.return);
    const unknown = (await job('svc4', 'nobody', { type: 'attach' })).json<{ error?: { desc: string } }>();
    assert.match(unknown.error?.desc ?? '', /has no job 'nobody'/);
    tell('svc3', id, { type: 'stop' });
    await eventually(() => worker.worker.load === 0, 'the worker to forget the job');
  });
});
