/**
 * Three coordinators on a 3-node cluster (connections to different nodes, buckets R3) split the
 * 32 partitions with each owned exactly once, as the assignment says; a graceful stop hands
 * the stopped instance's partitions over within 2 s, with no partition owned twice at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assign } from '../../src/cluster/assignment.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';
import { doubleOwnership, epochsIncrease, owners, settled, startInstances } from './helpers.js';
import type { Instances } from './helpers.js';

describe('coordinators: split and graceful handover', () => {
  let cluster: Cluster;
  let inst: Instances;

  before(async () => {
    cluster = await startCluster();
    inst = await startInstances(cluster, { membership: { heartbeatMs: 500, ttlMs: 2500 } });
  });

  after(async () => {
    await inst?.close();
    await cluster?.close();
  });

  test('three instances own the 32 partitions exactly once, as the assignment says', async () => {
    const ms = await settled(inst.coordinators, 10_000);
    const table = owners(inst.coordinators);
    assert.deepEqual(table, assign(['a', 'b', 'c'], DEFAULT_PARTITIONS));
    if (process.env.CLUSTER_REPORT) console.log('settled after start in', Math.round(ms), 'ms; shares', ['a', 'b', 'c'].map((m) => table.filter((o) => o === m).length));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
  });

  test('a graceful stop hands over within 2 s', async () => {
    const [a, b, c] = inst.coordinators as [typeof inst.coordinators[0], typeof inst.coordinators[0], typeof inst.coordinators[0]];
    const leaving = c.owned();
    assert.ok(leaving.length > 0);
    const t0 = performance.now();
    await c.stop();
    const ms = await settled([a, b], 2000);
    const table = owners([a, b]);
    assert.deepEqual(table, assign(['a', 'b'], DEFAULT_PARTITIONS));
    const gains = inst.timeline.filter((e) => e.kind === 'gained' && e.t >= t0 && leaving.includes(e.p));
    const handover = Math.max(...gains.map((e) => e.t - t0));
    if (process.env.CLUSTER_REPORT) console.log('graceful handover of', leaving.length, 'partitions: settled in', Math.round(ms), 'ms, last gain after', Math.round(handover), 'ms');
    assert.ok(handover < 2000, `handover took ${handover} ms`);
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
  });

  test('a new instance takes its share from the others, gracefully', async () => {
    const d = await inst.add('d', 2);
    await settled([...inst.coordinators.slice(0, 2), d], 5000);
    assert.deepEqual(owners([...inst.coordinators.slice(0, 2), d]), assign(['a', 'b', 'd'], DEFAULT_PARTITIONS));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
    assert.deepEqual(inst.errors.filter((e) => !/timeout|TIMEOUT/.test(String(e))), []);
  });
});
