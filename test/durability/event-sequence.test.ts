/**
 * Each job's events across a SIGKILL (issue #18, point 5): with jobs changing when the service
 * is killed, a subscriber sees every job's numbered events (`Jobs-Seq`) once each, with no
 * gap, and its JOB_STATUS_CHANGE sequence is a path of QEMU's table that ends where the job
 * is after the restart. The event stream holds each numbered event once too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { JobStatus } from '../../machines/index.js';
import { storeNames } from '../../src/persist/names.js';
import { KilledServiceFixture, assertHistory, jobsById, sleep, until } from './helpers.js';

const LONG = { steps: 100_000, 'step-ms': 20 };

interface Seen {
  seq: number;
  event: string;
  status?: JobStatus;
}

describe('job events across a SIGKILL', () => {
  const prefix = `evseq${process.pid}`;
  const fx = new KilledServiceFixture(prefix);
  let nc: NatsConnection;
  let sub: Subscription;
  const seen = new Map<string, Seen[]>();

  before(async () => {
    await fx.start();
    nc = await connect({ servers: fx.server.url });
    sub = nc.subscribe(`${prefix}.evt.alice.>`, {
      callback: (_err, m) => {
        const { event, data } = m.json<{ event: string; data: { id: string; status?: JobStatus } }>();
        if (event === 'JOB_PROGRESS') return;
        const seq = Number(m.headers?.get('Jobs-Seq'));
        seen.set(data.id, [...(seen.get(data.id) ?? []), { seq, event, ...(data.status && { status: data.status }) }]);
      },
    });
    await nc.flush();
  });
  after(async () => {
    sub?.unsubscribe();
    await nc?.close();
    await fx.close();
  });

  test('numbered events once each, no gap, a path of QEMU\'s table', async () => {
    const long = Array.from({ length: 12 }, (_, i) => `long-${i}`);
    const short = Array.from({ length: 12 }, (_, i) => `short-${i}`);
    for (const id of long) await fx.alice.start('test', { id, params: LONG, 'auto-dismiss': false });
    await until('the long jobs to run', async () => (long.every((id) => seen.get(id)?.some((s) => s.status === 'running')) ? true : undefined));
    // Work in flight when the service is killed: jobs starting and finishing, verbs being applied.
    const starting = short.map((id) => fx.alice.start('test', { id, params: { steps: 5, 'step-ms': 10 }, 'auto-dismiss': false }).catch(() => undefined));
    for (const [i, id] of long.entries()) void (i % 2 ? fx.alice.pause(id) : fx.alice.cancel(id)).catch(() => undefined);
    await sleep(5);
    await fx.restart();
    await Promise.all(starting);
    const started = short.filter((id) => seen.has(id));
    // Jobs whose start was not answered may not exist: only the ones that do are checked.
    await until('every job to come to rest', async () => {
      const jobs = await jobsById(fx.alice);
      return [...jobs.values()].every((j) => j.status === 'concluded' || j.status === 'paused' || j.status === 'running') ? jobs : undefined;
    });
    await sleep(500);
    const jobs = await jobsById(fx.alice);
    const replay = fx.service.lines().find((l) => l.msg === 'saved events checked against the event stream; the rest published');
    assert.ok(replay && Number(replay.jobs) > 0, 'the restarted service checked the saved outboxes against the event stream');

    for (const id of [...long, ...started]) {
      const events = seen.get(id) ?? [];
      assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), `${id}: Jobs-Seq ${events.map((e) => `${e.seq}:${e.event}:${e.status ?? ''}`).join(' ')}`);
      const statuses = events.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.status!);
      assertHistory(id, statuses, (jobs.get(id)?.status ?? 'null') as JobStatus);
    }

    // The event stream holds each numbered event once.
    const jsm = await jetstreamManager(nc);
    const stream = storeNames(prefix).stream;
    const name = `seq-${Date.now()}`;
    await jsm.consumers.add(stream, { name, filter_subject: `${prefix}.evt.alice.>`, deliver_policy: DeliverPolicy.All, ack_policy: AckPolicy.None });
    const consumer = await jetstream(nc).consumers.get(stream, name);
    const kept = new Map<string, number[]>();
    let pending = (await consumer.info()).num_pending;
    while (pending > 0) {
      for await (const m of await consumer.fetch({ max_messages: Math.min(pending, 1000), expires: 2000 })) {
        pending = m.info.pending;
        if (m.subject.endsWith('JOB_PROGRESS')) continue;
        const id = m.subject.split('.').at(-2)!;
        kept.set(id, [...(kept.get(id) ?? []), Number(m.headers?.get('Jobs-Seq'))]);
      }
    }
    for (const id of [...long, ...started]) {
      const seqs = kept.get(id) ?? [];
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `${id} in the event stream: ${seqs.join(' ')}`);
    }
  });

  test('saved events the event stream does not hold are published at restore, in order, with their numbers', async () => {
    // A job's record keeps its last events (its outbox) until its next write. Kill the service,
    // take those events out of the stream, as if the service had died after the save and
    // before they went out: the restarted service publishes them again, and only them.
    await fx.service.kill();
    const id = 'long-0';
    const kv = await new Kvm(nc).open(storeNames(prefix).bucket);
    const record = (await kv.get(`job.alice.${id}`))!.json<{ events: { seq: number; outbox: Array<{ seq: number; type: string }> } }>();
    const outbox = record.events.outbox.map((e) => e.seq);
    assert.ok(outbox.length > 0, 'the record holds its last events');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.purge(storeNames(prefix).stream, { filter: `${prefix}.evt.alice.${id}.>` });
    const before = seen.get(id)!.length;
    await fx.restart();
    await until('the saved events to be published again', async () => (seen.get(id)!.length >= before + outbox.length ? true : undefined));
    await sleep(300);
    assert.deepEqual(seen.get(id)!.slice(before).map((e) => e.seq), outbox);
    assert.deepEqual(seen.get(id)!.slice(before).map((e) => e.event), record.events.outbox.map((e) => e.type));
    const replay = fx.service.lines().find((l) => l.msg === 'saved events checked against the event stream; the rest published');
    assert.equal(replay?.published, outbox.length);
  });
});
