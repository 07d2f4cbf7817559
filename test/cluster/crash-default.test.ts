/**
 * A crashed instance with the default lease timings (L = 12 s, renew 1 s, margin 0.5 s): its
 * partitions are taken by the others within L + margin + 1.5 s of the crash, never while it
 * could still serve them, each by exactly one. (test/cluster/takeover.test.ts covers the same
 * with short leases and a frozen holder.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assign } from '../../src/cluster/assignment.js';
import { LEASE_DEFAULTS } from '../../src/cluster/lease.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
import { doubleOwnership, epochsIncrease, owners, settled, sleep, coordinatorsForSuite } from './helpers.js';

const { leaseMs: L, marginMs: MARGIN, renewMs: RENEW } = LEASE_DEFAULTS;

describe('coordinators: a crash with the default lease timings', () => {
  const suite = coordinatorsForSuite();

  test(`its partitions are taken within L + margin + 1.5 s`, async () => {
    const { inst } = suite;
    const [a, b, c] = inst.coordinators as [NonNullable<(typeof inst.coordinators)[0]>, NonNullable<(typeof inst.coordinators)[0]>, NonNullable<(typeof inst.coordinators)[0]>];
    await settled(inst.coordinators, 10_000);
    await sleep(1500); // not right after a renewal round, so the takeover shows the lease's age
    const dead = c.owned();
    const t0 = performance.now();
    c.abandon();
    await inst.connections[2]!.close();
    for (const p of dead) inst.timeline.push({ t: t0, who: 'c', p, kind: 'lost', reason: 'crashed' });
    await settled([a, b], L + MARGIN + 3000);
    const gains = inst.timeline.filter((e) => e.kind === 'gained' && e.t >= t0 && dead.includes(e.p)).map((e) => e.t - t0);
    const first = Math.min(...gains);
    const last = Math.max(...gains);
    if (process.env.CLUSTER_REPORT) console.log('default timings: takeover of', dead.length, 'partitions after a crash: first', Math.round(first), 'ms, last', Math.round(last), 'ms');
    assert.equal(gains.length, dead.length);
    assert.ok(last <= L + MARGIN + 1500, `last takeover after ${last} ms`);
    assert.ok(first >= L + MARGIN - RENEW - 100, `first takeover after ${first} ms`);
    assert.deepEqual(owners([a, b]), assign(['a', 'b'], DEFAULT_PARTITIONS));
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
  });
});
