/**
 * Rendezvous assignment: every partition has exactly one owner among the members, the shares
 * of 3 members over 32 partitions stay within the measured bound, and adding or removing one
 * member moves only that member's share.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { assign, ownerOf, partitionsOf } from '../../src/cluster/assignment.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';

const P = DEFAULT_PARTITIONS;
/** Deterministic uuid-like ids, so the measured bound is the test's, not luck's. */
function ids(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0).toString(16).padStart(8, '0');
  };
  return () => `${next()}-${next().slice(0, 4)}-${next().slice(0, 4)}-${next()}`;
}
const shares = (table: Array<string | undefined>, members: string[]) => members.map((m) => table.filter((o) => o === m).length);

describe('rendezvous assignment', () => {
  test('every partition is assigned to one of the members; none without members', () => {
    const members = ['i-a', 'i-b', 'i-c'];
    const table = assign(members, P);
    assert.equal(table.length, P);
    for (const owner of table) assert.ok(owner !== undefined && members.includes(owner));
    assert.deepEqual(assign([], 4), [undefined, undefined, undefined, undefined]);
    assert.equal(ownerOf(0, ['only']), 'only');
  });

  test('all members compute the same table whatever the order they list members in', () => {
    const members = [randomUUID(), randomUUID(), randomUUID()];
    assert.deepEqual(assign(members, P), assign([...members].reverse(), P));
    const byMember = members.map((m) => partitionsOf(m, members, P));
    assert.deepEqual(byMember.flat().sort((a, b) => a - b), Array.from({ length: P }, (_, i) => i));
  });

  test('3 members, 32 partitions: shares over 2,000 uuid-like triples stay within the measured bound', () => {
    const all: number[] = [];
    const id = ids(42);
    for (let i = 0; i < 2000; i++) {
      const members = [id(), id(), id()];
      all.push(...shares(assign(members, P), members));
    }
    all.sort((a, b) => a - b);
    const pct = (q: number) => all[Math.floor(q * (all.length - 1))];
    const measured = { min: all[0], p5: pct(0.05), median: pct(0.5), p95: pct(0.95), max: all[all.length - 1] };
    if (process.env.CLUSTER_REPORT) console.log('assignment shares', measured);
    assert.ok(measured.min! >= 3 && measured.max! <= 20, JSON.stringify(measured));
    assert.ok(measured.p5! >= 7 && measured.p95! <= 15, JSON.stringify(measured));
  });

  test('adding a member moves only the partitions it takes; removing one moves only its own', () => {
    for (let i = 0; i < 200; i++) {
      const members = [randomUUID(), randomUUID(), randomUUID()];
      const before = assign(members, P);
      const joiner = randomUUID();
      const after = assign([...members, joiner], P);
      for (let p = 0; p < P; p++) if (after[p] !== before[p]) assert.equal(after[p], joiner);
      const leaver = members[i % 3]!;
      const without = assign(members.filter((m) => m !== leaver), P);
      for (let p = 0; p < P; p++) if (without[p] !== before[p]) assert.equal(before[p], leaver);
    }
  });
});
