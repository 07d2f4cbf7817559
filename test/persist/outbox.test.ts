/**
 * The outbox (src/persist/outbox.ts): a job's events wait for a written record that holds
 * them and go out in order, one job's slow write holding up no other job; progress passes at
 * once unless events wait before it; at restore a record's outbox is published from where the
 * event stream (a real nats-server: last message per subject) says it stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { headers, connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureEventStream } from '../../src/persist/event-stream.js';
import { CREATION_HEADER, EventOutbox, SEQ_HEADER } from '../../src/persist/outbox.js';
import type { Marked, OutboxEvent, SavedEvents } from '../../src/persist/outbox.js';
import { startNatsServer } from '../support/stack.js';

type Ev = OutboxEvent & { data: { owner: string; id: string; n?: number } };
const ev = (id: string, type: string, n?: number): Ev => ({ type, data: { owner: 'alice', id, ...(n !== undefined && { n }) } });
const names = (out: Array<Marked<Ev>>) => out.map((e) => `${e.data.id}:${e.type}${e.mark?.seq ? `#${e.mark.seq}` : ''}`);

describe('outbox: events after the save', () => {
  test('events go once a record holding them is written, in order; other jobs are not held up', () => {
    const out: Array<Marked<Ev>> = [];
    const box = new EventOutbox<Ev>((e) => out.push(e));
    box.add('job.alice.a', 1, ev('a', 'S1'));
    box.add('job.alice.b', 2, ev('b', 'S1'));
    const recordA = { seq: 1, events: box.saved('job.alice.a') };
    box.add('job.alice.a', 1, ev('a', 'S2'));
    box.pass('job.alice.a', 1, ev('a', 'JOB_PROGRESS'));
    box.pass('job.alice.c', 3, ev('c', 'JOB_PROGRESS'));
    assert.deepEqual(names(out), ['c:JOB_PROGRESS'], 'progress of a job with nothing waiting goes at once');
    box.landed('job.alice.b', { seq: 2, events: box.saved('job.alice.b') });
    assert.deepEqual(names(out), ['c:JOB_PROGRESS', 'b:S1#1'], "b's write landed before a's");
    box.landed('job.alice.a', recordA);
    assert.deepEqual(names(out).slice(2), ['a:S1#1'], 'only what the record held');
    box.landed('job.alice.a', { seq: 1, events: box.saved('job.alice.a') });
    assert.deepEqual(names(out).slice(3), ['a:S2#2', 'a:JOB_PROGRESS'], 'then the rest, progress after the event before it');
    assert.deepEqual(box.saved('job.alice.a'), { seq: 2, outbox: [] });
  });

  test('a removed job\'s events go when the removal is written; a job of the same id numbers from 1', () => {
    const out: Array<Marked<Ev>> = [];
    const box = new EventOutbox<Ev>((e) => out.push(e));
    box.add('job.alice.x', 1, ev('x', 'S1'));
    box.gone('job.alice.x');
    box.landed('job.alice.x', undefined);
    assert.deepEqual(names(out), ['x:S1#1']);
    box.add('job.alice.x', 7, ev('x', 'S1'));
    box.landed('job.alice.x', undefined); // not this job's record
    assert.equal(out.length, 1);
    box.landed('job.alice.x', { seq: 7, events: box.saved('job.alice.x') });
    assert.deepEqual(names(out), ['x:S1#1', 'x:S1#1']);
    assert.equal(out[1]!.mark?.created, 7);
  });

  describe('replay at restore, against the event stream', () => {
    let server: Awaited<ReturnType<typeof startNatsServer>>;
    let nc: NatsConnection;
    const prefix = `obx${process.pid}`;
    const ref = { stream: `${prefix}_events`, prefix };

    before(async () => {
      server = await startNatsServer();
      nc = await connect({ servers: server.url });
      await ensureEventStream(nc, ref.stream, prefix, { maxAgeMs: 3_600_000, maxBytes: 1e8 });
    });
    after(async () => {
      await nc?.close();
      await server?.stop();
    });

    /** Publish numbered events of a job as the service does. */
    function published(id: string, created: number, seqs: number[], type = 'JOB_STATUS_CHANGE'): void {
      for (const seq of seqs) {
        const h = headers();
        h.set(SEQ_HEADER, String(seq));
        h.set(CREATION_HEADER, String(created));
        nc.publish(`${prefix}.evt.alice.${id}.${type}`, JSON.stringify({ seq }), { headers: h });
      }
    }
    const saved = (seqs: number[]): SavedEvents => ({
      seq: seqs.at(-1)!,
      outbox: seqs.map((seq) => ({ seq, type: 'JOB_STATUS_CHANGE', data: { owner: 'alice', id: 'z' }, at: { seconds: Math.floor(Date.now() / 1000), microseconds: 0 } })),
    });

    async function replayed(jobs: Array<{ id: string; created: number; outbox: number[] }>): Promise<Map<string, number[]>> {
      await nc.flush();
      const out = new Map<string, number[]>();
      const box = new EventOutbox<Ev>((e) => out.set(e.data.id, [...(out.get(e.data.id) ?? []), e.mark!.seq!]));
      for (const j of jobs) {
        const s = saved(j.outbox);
        for (const e of s.outbox) e.data = { owner: 'alice', id: j.id };
        box.restored(`job.alice.${j.id}`, j.created, s);
        box.add(`job.alice.${j.id}`, j.created, ev(j.id, 'NEW')); // a new event waits behind the held outbox
        box.landed(`job.alice.${j.id}`, { seq: j.created, events: box.saved(`job.alice.${j.id}`) });
      }
      assert.equal(out.size, 0, 'nothing goes before the stream is read');
      const failures: unknown[] = [];
      assert.equal((await box.replay(nc, ref, (err) => failures.push(err))).jobs, jobs.length);
      assert.deepEqual(failures, []);
      return out;
    }

    test('only the events the stream does not have, then the new ones (per-job lookups)', async () => {
      published('j', 3, [1, 2, 3, 4, 5, 6, 7]); // an earlier job of the same id
      published('j', 5, [1, 2]);
      published('j', 5, [3], 'JOB_READY');
      published('k', 9, [1]);
      const out = await replayed([
        { id: 'j', created: 5, outbox: [2, 3, 4, 5] },
        { id: 'k', created: 9, outbox: [1] },
        { id: 'm', created: 10, outbox: [1, 2] },
      ]);
      assert.deepEqual(out.get('j'), [4, 5, 6]);
      assert.deepEqual(out.get('k'), [2]);
      assert.deepEqual(out.get('m'), [1, 2, 3]);
    });

    test('the same with many jobs: one pass over the last event of every subject', async () => {
      const jobs = Array.from({ length: 40 }, (_, i) => ({ id: `many${i}`, created: 100 + i, outbox: [1, 2, 3] }));
      for (const [i, j] of jobs.entries()) published(j.id, j.created, [1, 2, 3].slice(0, i % 4));
      const out = await replayed(jobs);
      for (const [i, j] of jobs.entries()) {
        const first = Math.min(i % 4, 3) + 1;
        assert.deepEqual(out.get(j.id), Array.from({ length: 5 - first }, (_, k) => first + k), j.id);
      }
    });
  });
});
