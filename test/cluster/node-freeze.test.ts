/**
 * SIGSTOP of the nats-server that leads the leases bucket's stream, for 20 s, with the default
 * timings: its TCP connections stay open, so the instance connected to it hangs with it (its
 * requests time out; the client does not fail over). That instance fences itself, the others
 * take its partitions once its leases are stale, and no partition is owned twice at once —
 * during the freeze or after the SIGCONT, when the cluster settles back to the assignment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { doubleOwnership, epochsIncrease, owners, settled, sleep, coordinatorsForSuite } from './helpers.js';

describe('coordinators: a nats-server node freezes under the leases', () => {
  const suite = coordinatorsForSuite();

  test('SIGSTOP for 20 s, then SIGCONT: never two owners, and all partitions owned again after', async () => {
    const { cluster, inst } = suite;
    await settled(inst.coordinators, 10_000);
    const victim = await cluster.streamLeader(`KV_${inst.prefix}_leases`);
    const t0 = performance.now();
    cluster.stop(victim);
    await sleep(20_000);
    cluster.cont(victim);
    const lost = inst.timeline.filter((e) => e.kind === 'lost' && e.t >= t0);
    const stranded = inst.coordinators[victim]!.id;
    if (process.env.CLUSTER_REPORT) {
      const byWho = (who: string) => lost.filter((e) => e.who === who).length;
      console.log(`froze n${victim} for 20 s: losses during it`, Object.fromEntries(inst.coordinators.map((c) => [c.id, byWho(c.id)])), `(${stranded} was connected to it)`);
    }
    assert.deepEqual(lost.filter((e) => e.who !== stranded), [], 'an instance on a live node lost a lease');
    const ms = await settled(inst.coordinators, 25_000);
    if (process.env.CLUSTER_REPORT) console.log('settled after the thaw in', Math.round(ms), 'ms');
    assert.equal(owners(inst.coordinators).filter((o) => o === undefined).length, 0);
    assert.deepEqual(doubleOwnership(inst.timeline), []);
    assert.deepEqual(epochsIncrease(inst.timeline), []);
  });
});
