/**
 * Membership on one nats-server (fast): instances see each other through `<prefix>_members`;
 * a graceful leave is seen at once (the key's delete); a silent instance is dropped after the
 * ttl on the watcher's own clock, although nats-server 2.9 tells no watch when max_age removes
 * its key; it is a member again with its next heartbeat.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Membership } from '../../src/cluster/membership.js';
import { natsForSuite } from '../support/stack.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(10);
  }
  return performance.now() - start;
}

describe('membership', () => {
  const nats = natsForSuite();
  let n = 0;
  const prefix = () => `mem${process.pid}x${++n}`;
  const opts = { heartbeatMs: 200, ttlMs: 1000 };



  test('members see each other; a graceful leave is seen at once', async () => {
    const p = prefix();
    const changes: string[][] = [];
    const a = await Membership.join(nats.nc, { ...opts, prefix: p, id: 'a', onChange: (m) => void changes.push(m) });
    const b = await Membership.join(nats.nc, { ...opts, prefix: p, id: 'b' });
    await until(() => a.members().length === 2 && b.members().length === 2, 2000);
    assert.deepEqual(a.members(), ['a', 'b']);
    await b.leave();
    const ms = await until(() => a.members().length === 1, 2000);
    assert.ok(ms < 300, `leave seen after ${ms} ms`);
    assert.deepEqual(changes, [['a', 'b'], ['a']]);
    await a.leave();
  });

  test('a silent member is dropped after the ttl, and is back with its next heartbeat', async () => {
    const p = prefix();
    const a = await Membership.join(nats.nc, { ...opts, prefix: p, id: 'a' });
    const b = await Membership.join(nats.nc, { ...opts, prefix: p, id: 'b' });
    await until(() => a.members().length === 2, 2000);
    b.pause(2000);
    const ms = await until(() => a.members().length === 1, 3000);
    assert.ok(ms >= opts.ttlMs - opts.heartbeatMs - 50 && ms <= opts.ttlMs + 2 * opts.heartbeatMs, `dropped after ${ms} ms`);
    await until(() => a.members().length === 2, 3000);
    b.abandon();
    await until(() => a.members().length === 1, 3000);
    await a.leave();
  });
});
