/**
 * Issue 18's second end-to-end test: SIGKILL the nats-server that leads the job store's
 * stream while three instances serve and clients keep starting jobs. Commands resume (after
 * a leader election), nothing whose reply was sent is lost, and the server starts again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { storeNames } from '../../src/persist/names.js';
import { eventually, fleetForSuite } from '../support/instances.js';
import { SETTLED, sleep, snapshot, startFleet } from './failover-helpers.js';

const OWNERS = 12;

const suite = fleetForSuite();

test('SIGKILL of the job store leader: commands resume, nothing lost; the server starts again', { timeout: 120_000 }, async (t) => {
  const stream = `KV_${storeNames(suite.fleet.prefix).bucket}`;
  const leader = await suite.cluster.streamLeader(stream);
  // Clients on the other nodes: the test measures the service, not a client's reconnect.
  const others = [0, 1, 2].filter((n) => n !== leader);
  const admin = await suite.fleet.client('admin', others[0]);
  const clients = new Map<string, JobsClient>();
  for (let k = 0; k < OWNERS; k++) clients.set(`o${k}`, await suite.fleet.client(`o${k}`, others[k % 2]));
  const jobs = await startFleet(clients, admin, 60);

  // Writers: each owner starts a job after another; an id whose reply came must never be lost.
  const acked: Array<{ owner: string; id: string }> = [];
  const failures: string[] = [];
  let firstAfterKill: number | undefined;
  let killedAt: number | undefined;
  let running = true;
  const writers = [...clients].map(async ([owner, c]) => {
    while (running) {
      try {
        const id = await c.start('test', { params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false });
        acked.push({ owner, id });
        if (killedAt !== undefined && firstAfterKill === undefined) firstAfterKill = Date.now() - killedAt;
      } catch (err) {
        failures.push(`${owner}: ${err instanceof Error ? err.message : String(err)}`);
        await sleep(200);
      }
    }
  });
  await sleep(1000);
  killedAt = Date.now();
  await suite.cluster.kill(leader);
  const countAtKill = acked.length;
  // Commands resume: more jobs are started after the kill.
  await eventually(
    async () => assert.ok(acked.length >= countAtKill + 2 * OWNERS, `started since the kill: ${acked.length - countAtKill}; ${failures.length} failed: ${[...new Set(failures.map((f) => f.replace(/^\w+: /, '').replace(/'job-\w+'/g, 'J')))].join(' | ')}`),
    30_000,
  );
  await suite.cluster.restart(leader);
  await sleep(2000);
  running = false;
  await Promise.all(writers);

  const all = await eventually(async () => {
    const s = await snapshot(admin);
    assert.ok(s.size >= jobs.length + acked.length, `admin lists ${s.size}`);
    return s;
  }, 15_000);
  const lost = acked.filter(({ owner, id }) => !all.has(`${owner}.${id}`));
  assert.deepEqual(lost, [], 'no acknowledged start is lost');
  for (const j of jobs) assert.equal(all.get(`${j.owner}.${j.id}`)?.status, SETTLED[j.kind], `${j.owner}/${j.id}`);
  // A job started before the kill still takes verbs.
  const pending = jobs.find((j) => j.kind === 'pending')!;
  await clients.get(pending.owner)!.finalize(pending.id);
  t.diagnostic(`first start acknowledged ${firstAfterKill} ms after the kill; ${failures.length} failed starts during the election (${failures.slice(0, 3).join('; ')})`);
});
