/**
 * Reading the last message per subject of a replicated stream, as a takeover on a 3-node
 * cluster does (src/persist/read-all.ts; the outbox's lookup, src/persist/outbox.ts
 * `publishedUpTo`). On nats-server 2.9.10 a new consumer's info now and then says nothing is
 * pending when messages are there: a read that believed it skipped them. For the outbox's
 * lookup that meant events the stream had were published a second time (failover-kill saw
 * `waiting, pending` twice).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureEventStream } from '../../src/persist/event-stream.js';
import { CREATION_HEADER, SEQ_HEADER, publishedUpTo } from '../../src/persist/outbox.js';
import { readAll } from '../../src/persist/read-all.js';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';

const JOBS = 300;
const LAST = 5;

describe('last message per subject on a replicated stream', () => {
  let cluster: Cluster;
  let nc: NatsConnection;
  let publisher: NatsConnection;
  const prefix = `olk${process.pid}`;
  const ref = { stream: `${prefix}_events`, prefix };
  const key = (i: number) => `job.o${i % 7}.j${i}`;

  before(async () => {
    cluster = await startCluster();
    nc = await cluster.connect(0);
    publisher = await cluster.connect(1);
    await ensureEventStream(nc, ref.stream, prefix, { maxAgeMs: 3_600_000, maxBytes: 1e9, replicas: 3 });
    // Every job's numbered events 1–5 (status changes, then JOB_COMPLETED), progress between them, as the service publishes them.
    const publish = (i: number, type: string, seq?: number) => {
      const h = headers();
      if (seq !== undefined) h.set(SEQ_HEADER, String(seq));
      h.set(CREATION_HEADER, String(1000 + i));
      publisher.publish(`${prefix}.evt.o${i % 7}.j${i}.${type}`, '{}', { headers: h });
    };
    for (let seq = 1; seq < LAST; seq++) {
      for (let i = 0; i < JOBS; i++) {
        publish(i, 'JOB_STATUS_CHANGE', seq);
        for (let p = 0; p < 3; p++) publish(i, 'JOB_PROGRESS');
      }
    }
    for (let i = 0; i < JOBS; i++) publish(i, 'JOB_COMPLETED', LAST);
    await publisher.flush();
    const jsm = await jetstreamManager(nc);
    const expected = JOBS * (LAST + 3 * (LAST - 1));
    for (let tries = 0; (await jsm.streams.info(ref.stream)).state.messages < expected; tries++) {
      assert.ok(tries < 100, 'the stream holds every event');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await publisher?.close();
    await nc?.close();
    await cluster?.close();
  });

  /** Whether the stream holds a message of `filter`, asked of its leader (as lastProgress asks). */
  const holds = (filter: string) => async () => (await (await jetstreamManager(nc)).streams.getMessage(ref.stream, { last_by_subj: filter })) !== null;

  /** Look up `jobs` (indexes); every one must be found at its last number. */
  async function lookUp(jobs: number[]): Promise<string[]> {
    const { out } = await publishedUpTo(nc, ref, new Map(jobs.map((i) => [key(i), 1000 + i])));
    return jobs.filter((i) => out.get(key(i)) !== LAST).map((i) => `${key(i)}: ${out.get(key(i))}`);
  }

  test('readAll of a consumer filtered on one job: every read gets its last messages, in 30 rounds of 24 at once', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const short: string[] = [];
    for (let round = 0; round < 30; round++) {
      const upTo = (await jsm.streams.info(ref.stream)).state.last_seq;
      await Promise.all(
        Array.from({ length: 24 }, async (_, k) => {
          const i = (round * 24 + k) % JOBS;
          const consumer = await js.consumers.get(ref.stream, { filter_subjects: `${prefix}.evt.o${i % 7}.j${i}.>`, deliver_policy: DeliverPolicy.LastPerSubject });
          const seen: string[] = [];
          await readAll(consumer, upTo, (m) => void seen.push(m.subject.split('.').at(-1)!), holds(`${prefix}.evt.o${i % 7}.j${i}.>`));
          if (seen.sort().join() !== 'JOB_COMPLETED,JOB_PROGRESS,JOB_STATUS_CHANGE') short.push(`${key(i)}: ${seen.join()}`);
        }),
      );
    }
    assert.deepEqual(short, []);
  });

  test('readAll of a consumer that has nothing: ends, empty', async () => {
    const consumer = await jetstream(nc).consumers.get(ref.stream, { filter_subjects: `${prefix}.evt.nobody.>`, deliver_policy: DeliverPolicy.LastPerSubject });
    const seen: string[] = [];
    const asked: string[] = [];
    const probe = holds(`${prefix}.evt.nobody.>`);
    await readAll(consumer, (await (await jetstreamManager(nc)).streams.info(ref.stream)).state.last_seq, (m) => void seen.push(m.subject), () => {
      asked.push('holds');
      return probe();
    });
    assert.deepEqual(seen, []);
    assert.deepEqual(asked, ['holds'], "the stream's leader was asked whether it holds any (it does not: the read ends without waiting)");
  });

  test("the outbox's lookup per job (a takeover of up to 32 jobs): every job found, in 30 lookups of 24 at once", async () => {
    const missed: string[] = [];
    for (let round = 0; round < 30; round++) missed.push(...(await lookUp(Array.from({ length: 24 }, (_, i) => (round * 24 + i) % JOBS))));
    assert.deepEqual(missed, []);
  });

  test("the outbox's lookup in one pass (more jobs): every job found", async () => {
    const missed: string[] = [];
    for (let round = 0; round < 10; round++) missed.push(...(await lookUp(Array.from({ length: 40 }, (_, i) => (round * 40 + i) % JOBS))));
    assert.deepEqual(missed, []);
  });
});
