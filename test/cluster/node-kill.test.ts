/**
 * SIGKILL of the nats-server that leads the leases bucket's stream, with the default lease
 * timings (L = 12 s, renew every 1 s, margin 0.5 s): the leases survive (R3, a new leader is
 * elected within the ~11 s a holder can go without a renewal), so no instance loses a partition;
 * renewals stall only for the election; no partition is ever owned twice at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { LEASE_DEFAULTS } from '../../src/cluster/lease.js';
import { watchForever } from '../../src/cluster/watch.js';
import { assign } from '../../src/cluster/assignment.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';
import { doubleOwnership, owners, settled, sleep, startInstances } from './helpers.js';
import type { Instances } from './helpers.js';

const report = (...args: unknown[]) => void (process.env.CLUSTER_REPORT && console.log(...args));

describe('coordinators: a nats-server node dies under the leases', () => {
  let cluster: Cluster;
  let inst: Instances;
  let observer: NatsConnection | undefined;

  before(async () => {
    cluster = await startCluster();
    inst = await startInstances(cluster);
  });

  after(async () => {
    await observer?.close().catch(() => {});
    await inst?.close();
    await cluster?.close();
  });

  test('SIGKILL of the leases stream leader: no lease lost, a brief renew stall, no double owner', async () => {
    await settled(inst.coordinators, 10_000);
    const prefix = inst.prefix;
    const stream = `KV_${prefix}_leases`;
    const victim = await cluster.streamLeader(stream);
    // Watch renewals from a node that stays up: the largest gap between two writes of a key is the stall.
    observer = await cluster.connect((victim + 1) % 3);
    const kv = await new Kvm(jetstream(observer)).open(`${prefix}_leases`);
    const lastWrite = new Map<string, { revision: number; at: number }>();
    let stall = 0;
    // A watch that starts again when its consumer dies with a node (a restart replays known revisions).
    const watch = watchForever(kv, (e) => {
      const now = performance.now();
      const prev = lastWrite.get(e.key);
      if (prev && prev.revision >= e.revision) return;
      if (prev) stall = Math.max(stall, now - prev.at);
      lastWrite.set(e.key, { revision: e.revision, at: now });
    });
    await watch.started;
    await sleep(7000); // two renewal rounds before the kill
    const before = stall;
    const t0 = performance.now();
    await cluster.kill(victim);
    // Long enough for every lease to run out had renewals stopped for good.
    await sleep(LEASE_DEFAULTS.leaseMs + 2000);
    watch.stop();
    const newLeader = await cluster.streamLeader(stream);
    report(`killed n${victim} (leases leader); new leader n${newLeader}; largest renew gap before ${Math.round(before)} ms, across the kill ${Math.round(stall)} ms`);
    const lost = inst.timeline.filter((e) => e.kind === 'lost' && e.t >= t0);
    assert.deepEqual(lost, [], 'a lease was lost');
    assert.notEqual(newLeader, victim);
    assert.ok(stall < LEASE_DEFAULTS.leaseMs - LEASE_DEFAULTS.marginMs, `renewals stalled ${stall} ms`);
    assert.deepEqual(owners(inst.coordinators), assign(['a', 'b', 'c'], DEFAULT_PARTITIONS));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
  });

  test('the killed node restarts with its store and the cluster is whole again', async () => {
    const down = cluster.nodes.find((n) => cluster.output(n.index).length > 0 && !cluster.alive(n.index));
    assert.ok(down, 'no node is down');
    await cluster.restart(down.index);
    assert.ok(cluster.alive(down.index));
    await settled(inst.coordinators, 10_000);
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(inst.timeline.filter((e) => e.kind === 'lost' && e.reason !== 'released'), []);
  });
});
