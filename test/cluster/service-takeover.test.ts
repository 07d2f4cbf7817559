/**
 * Takeover on a 3-node cluster (issue 18): three instances share a prefix; the jobs of 20
 * owners are spread over them; the instance that is a child process is SIGKILLed, and within
 * 15 s (the default lease timings) every one of its jobs is served by the two survivors with
 * its status intact — paused jobs paused, concluded ones concluded, running ones running on.
 * Then a survivor stops gracefully and the last one serves every job within 3 s.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assign } from '../../src/cluster/assignment.js';
import { partitionOf } from '../../src/cluster/partition.js';
import { JobsClient } from '../../src/sdk/index.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';
import { until } from '../durability/helpers.js';
import { InstanceProcess, startInProcess } from './instances.js';
import type { InProcess } from './instances.js';

const OWNERS = Array.from({ length: 20 }, (_, i) => `owner${i}`);
const expected = (i: number) => (['paused', 'concluded', 'running'] as const)[i % 3];

describe('takeover on a 3-node cluster', () => {
  let cluster: Cluster;
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-takeover-'));
  const prefix = `to${process.pid}`;
  let victim: InstanceProcess;
  const survivors: InProcess[] = [];

  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    for (const s of survivors) await s.close().catch(() => undefined);
    await victim?.stop('SIGKILL');
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('SIGKILL of one instance: within 15 s its jobs are served by the survivors, status intact', async () => {
    victim = new InstanceProcess('c', [cluster.urls[2]!, ...cluster.urls.slice(0, 2)], prefix, { replicas: 3, dataDir });
    await victim.start();
    // Alone, c serves every partition: the jobs start there.
    for (const [i, owner] of OWNERS.entries()) {
      const client = await JobsClient.connect({ servers: cluster.urls[2]!, user: owner, prefix });
      try {
        const status = expected(i);
        if (status === 'concluded') {
          await client.start('test', { id: 'j', params: { steps: 0 }, 'auto-dismiss': false });
          await client.wait('j');
        } else {
          await client.start('test', { id: 'j', params: { steps: 100_000, 'step-ms': 100 } });
          if (status === 'paused') await client.pause('j');
        }
      } finally {
        await client.close();
      }
    }
    // Two more instances join and take their shares over from c, gracefully.
    for (const [i, id] of ['a', 'b'].entries()) {
      survivors.push(await startInProcess(id, [cluster.urls[i]!, ...cluster.urls.filter((_, j) => j !== i)], prefix, { replicas: 3, dataDir }));
    }
    // Settled as the assignment says: c keeps its own share (and its owners' jobs).
    const share = assign(['a', 'b', 'c'], 32);
    const servedBy = (s: InProcess) => Array.from({ length: 32 }, (_, p) => p).filter((p) => s.service.jobs.ownership.serves(p));
    await until('a and b to serve their shares', async () => (survivors.every((s) => servedBy(s).length === share.filter((m) => m === s.id).length) ? true : undefined), 10_000);
    const onVictim = OWNERS.filter((o) => share[partitionOf(o, 32)] === 'c');
    assert.ok(onVictim.length > 0, 'c serves some of the owners');

    const t0 = performance.now();
    await victim.stop('SIGKILL');
    const statusOf = (owner: string): string | undefined => {
      for (const s of survivors) {
        const { jobs } = s.service;
        if (!jobs.ownership.serves(jobs.ownership.partitionOf(owner))) continue;
        return jobs.query(owner, {}).at(0)?.status;
      }
      return undefined;
    };
    const missing = () => OWNERS.filter((o, i) => statusOf(o) !== expected(i));
    await until('every job served by a survivor with its status', async () => (missing().length === 0 ? true : undefined), 15_000).catch(() => {
      throw new Error(`not served within 15 s: ${missing().map((o) => `${o}=${statusOf(o) ?? 'not served'}`).join(', ')}`);
    });
    const ms = performance.now() - t0;
    if (process.env.CLUSTER_REPORT) console.log(`every job (${onVictim.length} owners on c) served again ${Math.round(ms)} ms after the SIGKILL`);
    assert.ok(ms < 15_000);
    // Through the commands too: an admin's query gathers from both survivors; each owner's own
    // query is answered (forwarded when it lands on the other one).
    const admin = await JobsClient.connect({ servers: cluster.urls[0]!, user: 'admin', prefix });
    try {
      const all = await admin.query();
      assert.deepEqual(all.map((j) => `${j.owner}:${j.status}`).sort(), OWNERS.map((o, i) => `${o}:${expected(i)}`).sort());
    } finally {
      await admin.close();
    }
    for (const [i, owner] of OWNERS.entries()) {
      const client = await JobsClient.connect({ servers: cluster.urls[1]!, user: owner, prefix });
      try {
        assert.equal((await client.query()).at(0)?.status, expected(i), owner);
      } finally {
        await client.close();
      }
    }
    // Every partition is served exactly once among the survivors.
    const served = survivors.flatMap((s) => Array.from({ length: 32 }, (_, p) => p).filter((p) => s.service.jobs.ownership.serves(p)));
    assert.deepEqual([...served].sort((x, y) => x - y), Array.from({ length: 32 }, (_, p) => p));
  });

  test('a graceful stop (close(), as on SIGTERM) hands over at once: the last instance serves every job, status intact', async () => {
    const [a, b] = survivors as [InProcess, InProcess];
    const t0 = performance.now();
    await b.close();
    survivors.pop();
    const statusOf = (i: number) => a.service.jobs.query(OWNERS[i]!, {}).at(0)?.status;
    await until('a to serve every job', async () => (OWNERS.every((_, i) => statusOf(i) === expected(i)) ? true : undefined), 5000).catch(() => {
      throw new Error(`not served by a: ${OWNERS.filter((_, i) => statusOf(i) !== expected(i)).join(', ')}`);
    });
    const ms = performance.now() - t0;
    if (process.env.CLUSTER_REPORT) console.log(`graceful handover: every job served by a ${Math.round(ms)} ms after b's close() began`);
    assert.ok(ms < 3000, `handover took ${Math.round(ms)} ms`);
  });
});
