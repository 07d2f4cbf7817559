/**
 * Leases on one nats-server (fast, short timings L = 3 s, renew 1 s, margin 0.5 s):
 * a free lease is taken at once and a fresh one is not; a released one is taken at once with
 * a higher epoch; of two contenders for a stale lease exactly one wins; a holder whose
 * renewals fail (server frozen) fences itself at (its last renew's start) + L − margin.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Leases } from '../../src/cluster/lease.js';
import type { LeaseOptions, LostReason } from '../../src/cluster/lease.js';
import { startNatsServer } from '../support/stack.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const timing = { leaseMs: 3000, renewMs: 1000, marginMs: 500, retryMs: 50 };

describe('leases', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  let n = 0;
  const open: Leases[] = [];
  const prefix = () => `lease${process.pid}x${++n}`;
  const lease = async (opts: Partial<LeaseOptions> & { prefix: string; holder: string }) => {
    const l = await Leases.open(nc, { ...timing, ...opts });
    open.push(l);
    return l;
  };

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  after(async () => {
    server.thaw();
    for (const l of open) l.abandon();
    await nc.close();
    await server.stop();
  });

  test('free: taken at once; fresh: refused; released: taken within a watch round trip with a higher epoch; renewals keep it', async () => {
    const p = prefix();
    const gained: string[] = [];
    const a = await lease({ prefix: p, holder: 'a', onGained: (q, e) => void gained.push(`a:${q}@${e}`) });
    const b = await lease({ prefix: p, holder: 'b', onGained: (q, e) => void gained.push(`b:${q}@${e}`) });
    assert.equal(await a.acquire(3), true);
    assert.equal(await b.acquire(3), false);
    await sleep(timing.leaseMs + timing.marginMs + 300); // renewed meanwhile: still fresh
    assert.equal(await b.acquire(3), false);
    assert.deepEqual(a.held(), [3]);
    const epochA = a.epoch(3)!;
    await a.release(3);
    assert.equal(a.valid(3), false);
    // b learns of the release through its watch: taken as soon as that arrives (a round trip).
    const released = performance.now();
    while (!(await b.acquire(3))) {
      assert.ok(performance.now() - released < 1000, 'the released lease was not taken within 1 s');
      await sleep(10);
    }
    assert.ok(b.epoch(3)! > epochA, `epoch ${b.epoch(3)} after ${epochA}`);
    assert.equal(gained.length, 2);
  });

  test('a release that crosses a renewal in flight still frees the lease: the next holder takes it at once', async () => {
    const p = prefix();
    const a = await lease({ prefix: p, holder: 'a' });
    const b = await lease({ prefix: p, holder: 'b' });
    assert.equal(await a.acquire(5), true);
    // A renewal of a's hold lands just before its release: the key moved past the revision a knows.
    const kv = await new Kvm(jetstream(nc)).open(`${p}_leases`);
    const entry = (await kv.get('p.5'))!;
    await kv.update('p.5', entry.string(), entry.revision);
    await a.release(5);
    const gone = await kv.get('p.5');
    assert.notEqual(gone?.operation, 'PUT', 'the lease key is freed');
    assert.equal(await b.acquire(5), true, 'and taken at once, not once stale');
  });

  test('two contenders for a stale lease: exactly one wins, after L + margin', async () => {
    const p = prefix();
    const dead = await lease({ prefix: p, holder: 'dead' });
    assert.equal(await dead.acquire(0), true);
    dead.abandon();
    const b = await lease({ prefix: p, holder: 'b' });
    const c = await lease({ prefix: p, holder: 'c' });
    const start = performance.now();
    let won: boolean[] = [];
    while (!won.includes(true)) {
      won = await Promise.all([b.acquire(0), c.acquire(0)]);
      if (!won.includes(true)) await sleep(50);
    }
    const waited = performance.now() - start;
    assert.equal(won.filter(Boolean).length, 1);
    assert.ok(waited >= timing.leaseMs + timing.marginMs - 10, `taken after ${waited} ms`);
  });

  test('the same holder id in a new process (a restart) waits for the old lease to go stale', async () => {
    const p = prefix();
    const before = await lease({ prefix: p, holder: 'a' });
    assert.equal(await before.acquire(2), true);
    before.abandon();
    const again = await lease({ prefix: p, holder: 'a' });
    const start = performance.now();
    assert.equal(await again.acquire(2), false);
    while (!(await again.acquire(2))) await sleep(50);
    const waited = performance.now() - start;
    assert.ok(waited >= timing.leaseMs + timing.marginMs - timing.renewMs - 10, `taken after ${waited} ms`);
  });

  test('a holder that cannot renew fences itself at its last renew start + L − margin', async () => {
    const p = prefix();
    const lost: Array<{ t: number; reason: LostReason }> = [];
    const a = await lease({ prefix: p, holder: 'a', onLost: (_q, reason) => void lost.push({ t: performance.now(), reason }) });
    const t0 = performance.now();
    assert.equal(await a.acquire(1), true);
    server.freeze();
    try {
      await sleep(timing.leaseMs + 200);
    } finally {
      server.thaw();
    }
    assert.equal(lost.length, 1);
    assert.equal(lost[0]!.reason, 'expired');
    assert.equal(a.valid(1), false);
    // Fenced by renew-start + L − margin (at most L − margin after the acquisition started), give or
    // take a late timer on a loaded machine: well before a contender's L + margin.
    assert.ok(lost[0]!.t - t0 <= timing.leaseMs - timing.marginMs + 300, `fenced after ${lost[0]!.t - t0} ms`);
  });
});
