/**
 * Progress never goes back across a crash (issue #12, F1; QEMU: current-progress never
 * decreases): whatever progress a client was told — in a JOB_PROGRESS event or in a JobInfo
 * from query-jobs — the job has at least that progress after a SIGKILL of the service and a
 * restart, although the service saves progress alone once a second at most.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobsClient } from '../../src/sdk/index.js';
import { KilledServiceFixture, jobsById, sleep, until } from './helpers.js';

describe('progress across a SIGKILL', () => {
  const fx = new KilledServiceFixture(`progress${process.pid}`);

  before(() => fx.start());
  after(() => fx.close());

  test('no job comes back with less progress than a client saw', async () => {
    const ids = ['p0', 'p1', 'p2', 'p3', 'p4'];
    const seen = new Map<string, number>();
    const see = (id: string, current: number) => seen.set(id, Math.max(seen.get(id) ?? 0, current));
    const events = fx.alice.events({ event: 'JOB_PROGRESS' });
    await events.ready;
    void (async () => {
      for await (const e of events) see(e.data.id, (e.data as unknown as { 'current-progress': number })['current-progress']);
    })().catch(() => undefined);
    // 50 steps a second: far more than is saved once a second.
    for (const id of ids) await fx.alice.start('test', { id, params: { steps: 1_000_000, 'step-ms': 20 } });
    await until('progress on every job', async () => {
      const jobs = await jobsById(fx.alice);
      return ids.every((id) => (jobs.get(id)?.['current-progress'] ?? 0) > 20) || undefined;
    });
    await sleep(700); // between two saves of progress, wherever they fall
    for (const [id, info] of await jobsById(fx.alice)) see(id, info['current-progress']);
    await fx.service.kill();
    events.close();

    await fx.service.start();
    await fx.alice.close();
    fx.alice = await JobsClient.connect({ servers: fx.server.url, user: 'alice', prefix: fx.prefix, timeoutMs: 20_000 });
    const after1 = await jobsById(fx.alice);
    for (const id of ids) {
      const now = after1.get(id)?.['current-progress'] ?? -1;
      assert.ok(now >= seen.get(id)!, `${id}: progress ${now} after the restart, a client saw ${seen.get(id)}`);
    }
  });
});
