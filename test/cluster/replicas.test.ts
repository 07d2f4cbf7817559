/** A comma-separated NATS_URL, and replicas for what the service creates on a cluster (JOBS_REPLICAS). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { connectNats, natsServers } from '../../src/nats/connect.js';
import { ensureEventStream } from '../../src/persist/event-stream.js';
import { JobStore } from '../../src/persist/job-store.js';
import { DownloadTokens, downloadBucket } from '../../src/persist/download-tokens.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';

describe('NATS_URL lists', () => {
  it('splits a comma-separated NATS_URL, in its order', () => {
    assert.deepEqual(natsServers('nats://127.0.0.1:4301'), ['nats://127.0.0.1:4301']);
    assert.deepEqual(natsServers(' nats://a:1, nats://b:2,,nats://c:3 '), ['nats://a:1', 'nats://b:2', 'nats://c:3']);
  });
});

describe('replicas on a 3-node cluster', () => {
  let cluster: Cluster;
  let nc: NatsConnection;
  before(async () => {
    cluster = await startCluster();
    // The second server first: a list is tried in its order.
    nc = await connectNats([cluster.urls[1], cluster.urls[0], cluster.urls[2]].join(','), pino({ level: 'silent' }));
  });
  after(async () => {
    await nc?.close();
    await cluster?.close();
  });

  it('connects to the first server of the list', () => {
    assert.equal(nc.getServer(), cluster.urls[1]!.replace('nats://', ''));
  });

  it('creates the job store, the event stream and the downloads bucket with 3 replicas, the store read from its leader', async () => {
    const store = await JobStore.open(nc, 'rep_store', { logger: pino({ level: 'silent' }), replicas: 3 });
    await ensureEventStream(nc, 'rep_events', 'rep', { maxAgeMs: 60_000, maxBytes: 64 * 1024 * 1024, replicas: 3 });
    await new DownloadTokens(nc, 'rep', undefined, 3).ready();
    const jsm = await jetstreamManager(nc);
    const bucket = await jsm.streams.info(`KV_${store.bucket}`);
    assert.equal(bucket.config.num_replicas, 3);
    assert.equal(bucket.config.allow_direct, false);
    const events = await jsm.streams.info('rep_events');
    assert.equal(events.config.num_replicas, 3);
    assert.equal((await jsm.streams.info(`KV_${downloadBucket('rep')}`)).config.num_replicas, 3);
    store.close();
  });
});
