/**
 * A partition handed over (or lost) with changes still being saved: the graceful handover
 * saves every change of the partition before it lets go — removals too, whose jobs are no
 * longer in the table. (A change the drop comes before is answered at once: job-store-waits.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { storeNames } from '../../src/persist/names.js';
import { assign } from '../../src/cluster/assignment.js';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { startNatsServer } from '../support/stack.js';
import { until } from '../durability/helpers.js';
import { startInProcess } from './instances.js';
import type { InProcess } from './instances.js';

describe('a partition changing hands with changes being saved', () => {
  // Not natsForSuite(): its server would stop before the instances close (after hooks run in order).
  const nats = {} as { server: Awaited<ReturnType<typeof startNatsServer>>; nc: NatsConnection };
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-handover-'));
  const prefix = `ph${process.pid}`;
  let instance: InProcess;
  let next: InProcess | undefined;

  before(async () => {
    nats.server = await startNatsServer();
    nats.nc = await connect({ servers: nats.server.url });
    instance = await startInProcess('a', [nats.server.url], prefix, { dataDir });
  });

  after(async () => {
    await next?.close();
    await instance?.close();
    await nats.nc?.close();
    await nats.server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function stored(key: string): Promise<string | undefined> {
    const kv = await new Kvm(jetstream(nats.nc)).open(storeNames(prefix).bucket);
    const entry = await kv.get(key);
    return entry?.operation === 'PUT' ? entry.string() : undefined;
  }

  async function concluded(owner: string, id: string): Promise<void> {
    const { jobs } = instance.service;
    jobs.startJob(owner, { type: 'test', id, params: { steps: 0 }, 'auto-dismiss': false });
    await jobs.wait(owner, id);
    await jobs.saved(owner, [id]);
    assert.ok(await stored(`job.${owner}.${id}`), 'the concluded job is in the store');
  }

  test('a handover saves a dismissal made as it begins: the next owner does not bring the job back', async () => {
    const { jobs } = instance.service;
    // Owners whose partitions b takes from a when it joins (a serves all of them alone).
    const moving = Array.from({ length: 64 }, (_, k) => `o${k}`).filter((o) => assign(['a', 'b'], 32)[jobs.ownership.partitionOf(o)] === 'b').slice(0, 4);
    for (const owner of moving) await concluded(owner, 'j');
    const replies: Array<Promise<unknown>> = [];
    // Each dismissed the moment its partition starts to move: its removal is not saved yet.
    const off = jobs.ownership.on('unserving', (p) => {
      for (const owner of moving) if (jobs.ownership.partitionOf(owner) === p) replies.push(Promise.resolve(jobs.verb(owner, 'dismiss', { id: 'j' })));
    });
    try {
      next = await startInProcess('b', [nats.server.url], prefix, { dataDir });
      await until('b to serve the moved partitions', async () => (moving.every((o) => next!.service.jobs.ownership.serves(next!.service.jobs.ownership.partitionOf(o))) ? true : undefined), 10_000);
    } finally {
      off();
    }
    assert.equal(replies.length, moving.length);
    await Promise.all(replies);
    for (const owner of moving) {
      assert.equal(await stored(`job.${owner}.j`), undefined, `${owner}'s dismissed job is gone from the store`);
      assert.equal(next!.service.jobs.query(owner, {}).count, 0, `${owner}'s job is not brought back`);
    }
  });
});
