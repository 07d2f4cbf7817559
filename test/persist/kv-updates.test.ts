/**
 * The job store's pipelined KV updates (src/persist/kv-updates.ts), against a real
 * nats-server: many in flight at once each get their own revision, a stale revision is
 * refused with JetStream's `wrong last sequence` (what the store takes for another writer),
 * and what is stored is what `kv.get` reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { KvUpdates } from '../../src/persist/kv-updates.js';
import { startNatsServer } from '../support/stack.js';

describe('pipelined KV updates', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  let kv: KV;
  let updates: KvUpdates;
  const bucket = `kvu${process.pid}`;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    kv = await new Kvm(jetstream(nc)).create(bucket, { history: 1 });
    updates = new KvUpdates(nc, bucket, 10_000);
  });

  after(async () => {
    updates.close();
    await nc.close();
    await server.stop();
  });

  test('100 updates in flight at once, each on its key: each lands with a new revision', async () => {
    const keys = Array.from({ length: 100 }, (_, i) => `job.alice.k${i}`);
    const created = await Promise.all(keys.map((k) => kv.create(k, JSON.stringify({ n: 0 }))));
    const revisions = await Promise.all(keys.map((k, i) => updates.update(k, JSON.stringify({ n: 1, i }), created[i]!)));
    assert.equal(new Set([...created, ...revisions]).size, 200);
    for (const [i, k] of keys.entries()) {
      const entry = await kv.get(k);
      assert.equal(entry?.revision, revisions[i]);
      assert.deepEqual(entry?.json(), { n: 1, i });
    }
  });

  test('an update against a revision that moved is refused, and the value stays', async () => {
    const key = 'job.alice.moved';
    const first = await kv.create(key, '"a"');
    const second = await updates.update(key, '"b"', first);
    await assert.rejects(updates.update(key, '"c"', first), /wrong last sequence/);
    const entry = await kv.get(key);
    assert.equal(entry?.revision, second);
    assert.equal(entry?.json(), 'b');
  });

  test('once closed, an update still in flight is answered with an error', async () => {
    const other = new KvUpdates(nc, bucket, 10_000);
    const key = 'job.alice.closing';
    const rev = await kv.create(key, '1');
    const pending = other.update(key, '2', rev);
    other.close();
    await assert.rejects(pending, /closed/);
  });
});
