/**
 * Writes whose outcome is unknown (issue #12, F1), against a real nats-server: the server is
 * frozen (SIGSTOP) while a write is in flight, so the write lands once it goes on but its
 * acknowledgement comes after the store gave up on it; the retries meanwhile went out
 * against the old revision. The store must read the record back, find its own write there,
 * and go on saving the key — not take its own write for another writer's. A record that
 * another writer really changed is still told apart, with an error that says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobStore, StoreConflictError } from '../../src/persist/job-store.js';
import { startNatsServer } from '../support/stack.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('job store: writes whose outcome is unknown', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  let store: JobStore;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    store = await JobStore.open(nc, `unknown${process.pid}`, { logger, retryMs: 50, writeTimeoutMs: 200 });
  });

  after(async () => {
    server.thaw();
    store.close();
    await nc.close();
    await server.stop();
  });

  /** Freeze the server for `ms` while `change` is written: the write lands late, its ack comes too late. */
  async function lateAck(change: () => void, ms = 1000): Promise<void> {
    server.freeze();
    try {
      change();
      await sleep(ms); // several timeouts of 200 ms, with their retries queued behind the write
    } finally {
      server.thaw();
    }
  }

  test('an update that landed after its ack timed out is found to be ours; the key goes on being saved', async () => {
    const key = 'job.alice.u';
    store.changed(key, () => ({ n: 1 }));
    await store.saved([key], 10_000);
    await lateAck(() => store.changed(key, () => ({ n: 2 })));
    await store.saved([key], 10_000);
    assert.deepEqual((await store.kv.get(key))?.json(), { n: 2 });
    store.changed(key, () => ({ n: 3 }));
    await store.saved([key], 10_000);
    assert.deepEqual((await store.kv.get(key))?.json(), { n: 3 });
    assert.ok(!lines.some((l) => String(l.msg).includes('conflict')), 'no conflict was logged');
  });

  test('a create and a delete whose acks came late are found to be ours', async () => {
    const key = 'job.alice.c';
    await lateAck(() => store.changed(key, () => ({ n: 1 })));
    await store.saved([key], 10_000);
    assert.deepEqual((await store.kv.get(key))?.json(), { n: 1 });
    await lateAck(() => store.removed(key));
    await store.saved([key], 10_000);
    assert.equal((await store.kv.get(key))?.operation, 'DEL');
    store.changed(key, () => ({ n: 2 }));
    await store.saved([key], 10_000);
    assert.deepEqual((await store.kv.get(key))?.json(), { n: 2 });
  });

  test('a change made while a late write was in flight is saved after it', async () => {
    const key = 'job.alice.m';
    store.changed(key, () => ({ n: 1 }));
    await store.saved([key], 10_000);
    await lateAck(() => {
      store.changed(key, () => ({ n: 2 }));
      setTimeout(() => store.changed(key, () => ({ n: 3 })), 300);
    });
    await store.saved([key], 10_000);
    assert.deepEqual((await store.kv.get(key))?.json(), { n: 3 });
  });

  test('nats-server restarts under a stream of writes: every key ends saved with its last value, none taken for another writer\'s', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `job.alice.r${i}`);
    let n = 0;
    const writing = setInterval(() => {
      n++;
      for (const key of keys) store.changed(key, () => ({ n }));
    }, 20);
    try {
      for (let i = 0; i < 2; i++) {
        await sleep(300);
        await server.restart();
      }
      await sleep(300);
    } finally {
      clearInterval(writing);
    }
    await store.saved(keys, 20_000);
    for (const key of keys) assert.deepEqual((await store.kv.get(key))?.json(), { n }, key);
    assert.ok(!lines.some((l) => String(l.msg).includes('conflict')), 'no conflict was logged');
  });

  test('a record another writer changed is a conflict, named as such; the key is no longer written', async () => {
    const key = 'job.alice.other';
    store.changed(key, () => ({ n: 1 }));
    await store.saved([key], 10_000);
    await store.kv.put(key, JSON.stringify({ theirs: true }));
    store.changed(key, () => ({ n: 2 }));
    await assert.rejects(store.saved([key], 10_000), StoreConflictError);
    assert.deepEqual((await store.kv.get(key))?.json(), { theirs: true });
    assert.ok(lines.some((l) => l.key === key && String(l.msg).includes('another writer')));
  });
});
