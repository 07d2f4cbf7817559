/**
 * Issue 18's first end-to-end test: three instance processes on a 3-node cluster, 300 jobs
 * over 40 owners (concluded, pending, ready, paused, grouped transactions, a long resumable
 * `test` job and a remote worker's job); SIGKILL the instance holding the most partitions.
 * Within 15 s every job answers through the survivors with its status intact, admin
 * query-jobs lists all 300, every event sequence is valid with no duplicate, and the
 * resumable and the worker's jobs finish.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_PARTITIONS, partitionOf } from '../../src/cluster/partition.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';
import { eventually, startInstances } from '../support/instances.js';
import type { ServiceInstances } from '../support/instances.js';
import { SETTLED, StatusLog, snapshot, startFleet } from './failover-helpers.js';

const TAKEOVER_MS = 15_000;
const OWNERS = 40;
const JOBS = 300;

let cluster: Cluster;
let fleet: ServiceInstances;
let watcher: NatsConnection;

before(async () => {
  cluster = await startCluster();
  // The worker runs `backup`; the instances every other built-in type.
  fleet = await startInstances(cluster, { env: { JOBS_LOCAL_TYPES: 'test,mirror,create,stream,commit' } });
  watcher = await cluster.connect(0);
});

after(async () => {
  await watcher?.close();
  await fleet?.close();
  await cluster?.close();
});

test('SIGKILL of the instance holding the most partitions: its jobs answer again within 15 s, nothing lost or repeated', { timeout: 120_000 }, async (t) => {
  await fleet.worker('backup', 2);
  const log = new StatusLog(watcher, fleet.prefix);
  await log.ready;
  // Every partition has a holder before the jobs come.
  const holders = await eventually(async () => {
    const h = await fleet.holders();
    assert.equal(h.size, DEFAULT_PARTITIONS, `leases held: ${h.size}`);
    return h;
  }, 30_000);
  const held = new Map<string, number[]>();
  for (const [p, holder] of holders) held.set(holder, [...(held.get(holder) ?? []), p]);
  const [victimId, victimPartitions] = [...held].sort((a, b) => b[1].length - a[1].length)[0]!;
  const victim = fleet.ids.indexOf(victimId);
  assert.ok(victim >= 0, `holder ${victimId} is not one of ${fleet.ids.join(', ')}`);
  const survivor = (victim + 1) % 3;

  const admin = await fleet.client('admin', survivor);
  const clients = new Map<string, JobsClient>();
  for (let k = 0; k < OWNERS; k++) clients.set(`o${k}`, await fleet.client(`o${k}`, k % 3));
  const jobs = await startFleet(clients, admin, JOBS - 2);

  // The two long jobs belong to an owner of the victim's partitions.
  let special = 'w0';
  for (let k = 0; !victimPartitions.includes(partitionOf(special, DEFAULT_PARTITIONS)); k++) special = `w${k}`;
  const owner = await fleet.client(special, survivor);
  const resumable = await owner.start('test', { params: { steps: 30, 'step-ms': 400 }, 'auto-dismiss': false });
  mkdirSync(join(fleet.dataDir, special), { recursive: true });
  writeFileSync(join(fleet.dataDir, special, 'src.bin'), Buffer.alloc(4 * 1024 * 1024, 7));
  const remote = await owner.start('backup', { params: { source: 'src.bin', target: 'dst.bin' }, speed: 400_000, 'auto-dismiss': false });
  await eventually(async () => {
    const [r, w] = await Promise.all([owner.query({}).then((l) => l.find((j) => j.id === resumable)), owner.query({}).then((l) => l.find((j) => j.id === remote))]);
    assert.ok(r && r.status === 'running' && r['current-progress'] >= 2, `resumable: ${JSON.stringify(r)}`);
    assert.ok(w && w.status === 'running' && w['current-progress'] > 0, `remote: ${JSON.stringify(w)}`);
  }, 15_000);
  const before = await snapshot(admin);
  assert.equal(before.size, JOBS, `jobs before the kill: ${before.size}`);

  const killedAt = Date.now();
  await fleet.signal(victim, 'SIGKILL');

  // Every owner's query reaches its partition's new server; every job is there, in its status.
  const owners = [...clients.keys()];
  await eventually(async () => {
    const answers = await Promise.all(owners.map((o) => clients.get(o)!.query({})));
    for (const list of answers) {
      for (const job of list) {
        const kind = jobs.find((j) => j.owner === job.owner && j.id === job.id)?.kind;
        if (kind) assert.equal(job.status, SETTLED[kind], `${job.owner}/${job.id} (${kind})`);
      }
    }
    const count = answers.reduce((n, l) => n + l.length, 0);
    assert.equal(count, JOBS - 2, `jobs answered: ${count}`);
    assert.ok((await owner.query({})).length === 2);
  }, TAKEOVER_MS - (Date.now() - killedAt), 250);
  const answeredMs = Date.now() - killedAt;
  assert.ok(answeredMs <= TAKEOVER_MS, `every job answered ${answeredMs} ms after the SIGKILL`);
  t.diagnostic(`${victimId} held ${victimPartitions.length} partitions; every job answered ${answeredMs} ms after its SIGKILL`);

  const all = await snapshot(admin);
  assert.equal(all.size, JOBS, 'admin query-jobs lists all 300');
  for (const [key, job] of before) {
    if (job.id === resumable || job.id === remote) continue;
    assert.equal(all.get(key)?.status, job.status, key);
  }

  const [r, w] = await Promise.all([owner.wait(resumable, { timeoutMs: 30_000 }), owner.wait(remote, { timeoutMs: 30_000 })]);
  assert.equal(r.status, 'concluded');
  assert.equal(r.error, undefined, 'the resumable job succeeded');
  assert.equal(r['current-progress'], 30);

  await new Promise((resolve) => setTimeout(resolve, 500));
  log.check([...jobs, { owner: special, id: resumable }, { owner: special, id: remote }]);
  log.close();
  assert.equal(w.status, 'concluded');
  assert.equal(w.error, undefined, 'the worker job succeeded');
});
