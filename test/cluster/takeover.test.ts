/**
 * Takeover without a goodbye, on a 3-node cluster with short leases (L = 4 s, renew 1.3 s,
 * margin 0.5 s) to keep the file short: an instance that dies (connection closed, timers
 * stopped, nothing released) loses its partitions to the others within L + margin + 1.5 s; an
 * instance frozen past L (no renewals, no heartbeats) has fenced itself — onLost — before any
 * contender's onGained for the same partition, and takes its share back once it thaws.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assign } from '../../src/cluster/assignment.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';
import { doubleOwnership, epochsIncrease, owners, settled, sleep, startInstances } from './helpers.js';
import type { Instances } from './helpers.js';
import type { CoordinatorOptions } from '../../src/cluster/coordinator.js';

const lease = { leaseMs: 4000, renewMs: 1300, marginMs: 500 };
const membership = { heartbeatMs: 300, ttlMs: 1500 };
const report = (...args: unknown[]) => void (process.env.CLUSTER_REPORT && console.log(...args));

describe('coordinators: takeover after a crash and after a freeze', () => {
  let cluster: Cluster;
  const all: Instances[] = [];

  before(async () => {
    cluster = await startCluster();
  });

  after(async () => {
    for (const inst of all) await inst.close();
    await cluster?.close();
  });

  /**
   * Three instances settle, then c dies (connection closed, timers stopped, nothing released):
   * a and b take each of its partitions once, as the assignment of two says, the first not
   * before a renewal interval short of L + margin. Returns when the last one was taken (ms).
   */
  async function crash(opts: Partial<CoordinatorOptions>, names: string[]): Promise<number> {
    const inst = await startInstances(cluster, { lease, membership, ...opts }, names);
    all.push(inst);
    const [a, b, c] = inst.coordinators as [NonNullable<(typeof inst.coordinators)[0]>, NonNullable<(typeof inst.coordinators)[0]>, NonNullable<(typeof inst.coordinators)[0]>];
    await settled(inst.coordinators, 10_000);
    const dead = c.owned();
    const t0 = performance.now();
    c.abandon();
    await inst.connections[2]!.close();
    // A crashed process serves nothing from then on.
    for (const p of dead) inst.timeline.push({ t: t0, who: names[2]!, p, kind: 'lost', reason: 'crashed' });
    await settled([a, b], lease.leaseMs + lease.marginMs + 3000);
    const gains = inst.timeline.filter((e) => e.kind === 'gained' && e.t >= t0 && dead.includes(e.p));
    const first = Math.min(...gains.map((e) => e.t - t0));
    const last = Math.max(...gains.map((e) => e.t - t0));
    report('takeover after a crash of', dead.length, 'partitions: first', Math.round(first), 'ms, last', Math.round(last), 'ms (L + margin =', lease.leaseMs + lease.marginMs, ')');
    assert.deepEqual(new Set(gains.map((e) => e.p)), new Set(dead));
    // Not before a renewal-interval's worth short of L + margin: no one jumped a live lease.
    assert.ok(first >= lease.leaseMs + lease.marginMs - lease.renewMs - 100, `first takeover after ${first} ms`);
    assert.deepEqual(owners([a, b]), assign(names.slice(0, 2), DEFAULT_PARTITIONS));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
    return last;
  }

  test('a dead instance loses its partitions within L + margin + 1.5 s, each to one other', async () => {
    const last = await crash({}, ['a', 'b', 'c']);
    assert.ok(last <= lease.leaseMs + lease.marginMs + 1500, `last takeover after ${last} ms`);
  });

  test('a lease going stale is acted on at once, not at the next round (rounds 60 s apart here)', async () => {
    const last = await crash({ reconcileMs: 60_000 }, ['g', 'h', 'i']);
    assert.ok(last <= lease.leaseMs + lease.marginMs + 500, `last takeover after ${last} ms`);
  });

  test('a frozen holder fences itself before anyone gains its partitions, and takes them back after', async () => {
    const inst = await startInstances(cluster, { lease, membership }, ['d', 'e', 'f']);
    all.push(inst);
    const [, , f] = inst.coordinators as [unknown, unknown, NonNullable<(typeof inst.coordinators)[0]>];
    await settled(inst.coordinators, 10_000);
    const frozen = f.owned();
    const freezeMs = lease.leaseMs + lease.marginMs + 3000;
    const t0 = performance.now();
    f.pause(freezeMs);
    await sleep(freezeMs - 500);
    for (const p of frozen) {
      const lost = inst.timeline.find((e) => e.who === 'f' && e.p === p && e.kind === 'lost' && e.t >= t0);
      const gained = inst.timeline.find((e) => e.who !== 'f' && e.p === p && e.kind === 'gained' && e.t >= t0);
      assert.ok(lost, `f never fenced p${p}`);
      assert.equal(lost.reason, 'expired');
      assert.ok(gained, `no one took p${p} from the frozen f`);
      assert.ok(lost.t < gained.t, `p${p}: f lost it at ${lost.t - t0} ms, ${gained.who} gained it at ${gained.t - t0} ms`);
    }
    const gaps = frozen.map((p) => {
      const lost = inst.timeline.find((e) => e.who === 'f' && e.p === p && e.kind === 'lost' && e.t >= t0)!;
      const gained = inst.timeline.find((e) => e.who !== 'f' && e.p === p && e.kind === 'gained' && e.t >= t0)!;
      return gained.t - lost.t;
    });
    report('freeze: f fenced', frozen.length, 'partitions; fence-to-takeover gap min', Math.round(Math.min(...gaps)), 'ms, max', Math.round(Math.max(...gaps)), 'ms');
    // Thawed, f is a member again and gets its share back, handed over gracefully.
    await settled(inst.coordinators, 8000);
    assert.deepEqual(owners(inst.coordinators), assign(['d', 'e', 'f'], DEFAULT_PARTITIONS));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
  });
});
