/**
 * Waiting for the job store (src/persist/job-store.ts) with a time limit, against a real
 * nats-server: a wait whose writes JetStream does not acknowledge fails with NotSavedError
 * once its limit is past, a shorter limit asked after a longer one is not held up by it, and
 * once JetStream answers again the changes are saved after all.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobStore, NotSavedError } from '../../src/persist/job-store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsServer } from '../../src/nats/server.js';

describe('job store waits', () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-waits-'));
  let server: NatsServer;
  let nc: NatsConnection;
  let store: JobStore;

  before(async () => {
    server = await NatsServer.start({ jetstreamDir: storeDir });
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    store = await JobStore.open(nc, `waits${process.pid}`, { logger: pino({ level: 'silent' }), retryMs: 50 });
  });

  after(async () => {
    store.close();
    await nc.close();
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  });

  test('saved: a change is written, then waits for it resolve at once', async () => {
    store.changed('job.alice.a', () => ({ n: 1 }));
    await store.saved(['job.alice.a'], 10_000);
    store.changed('job.alice.a', () => ({ n: 2 }));
    await store.saved(['job.alice.a'], 10_000);
    assert.deepEqual((await store.kv.get('job.alice.a'))?.json(), { n: 2 });
    await store.saved(['job.alice.a'], 10_000);
  });

  test('unsaved: the keys with changes not written yet, removals too; forget with a reason ends their waits at once', async () => {
    store.changed('job.bob.a', () => ({ n: 1 }));
    await store.saved(['job.bob.a'], 10_000);
    store.removed('job.bob.a');
    store.changed('job.carol.b', () => ({ n: 1 }));
    assert.deepEqual(store.unsaved((key) => key.startsWith('job.bob.')), ['job.bob.a']);
    const waiting = store.saved(['job.bob.a'], 60_000);
    const reason = new Error('moved');
    store.forget('job.bob.a', reason);
    await assert.rejects(waiting, (err) => err === reason);
    await store.saved(['job.carol.b'], 10_000);
    assert.deepEqual(store.unsaved(() => true), []);
    assert.deepEqual((await store.kv.get('job.bob.a'))?.json(), { n: 1 }, 'the forgotten removal was not written');
  });

  test('forget with a reason: a change whose write is already on its way is not answered as undone; its wait ends when the write lands', async () => {
    store.changed('job.dan.a', () => ({ n: 1 }));
    const waiting = store.saved(['job.dan.a'], 10_000);
    await new Promise((resolve) => setImmediate(resolve)); // the write is on its way, not answered yet
    store.forget('job.dan.a', new Error('moved'));
    await waiting;
    assert.deepEqual((await store.kv.get('job.dan.a'))?.json(), { n: 1 });
  });

  test('with JetStream gone, a wait fails at its limit, a shorter one first; the change is saved once it is back', async () => {
    const port = server.port;
    await server.stop();
    store.changed('job.alice.a', () => ({ n: 3 }));
    const long = store.saved(['job.alice.a'], 60_000);
    long.catch(() => undefined);
    await assert.rejects(store.saved(['job.alice.a'], 200), NotSavedError);
    server = await NatsServer.start({ port, jetstreamDir: storeDir });
    await long;
    assert.deepEqual((await store.kv.get('job.alice.a'))?.json(), { n: 3 });
  });
});
