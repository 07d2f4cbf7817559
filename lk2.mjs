import { headers } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startCluster } from '/work/main/dist/test/support/cluster.js';
import { ensureEventStream } from '/work/main/dist/src/persist/event-stream.js';
const cluster = await startCluster();
const nc = await cluster.connect(0); const pubc = await cluster.connect(1);
const prefix = 'lk'; const stream = 'lk_events';
await ensureEventStream(nc, stream, prefix, { maxAgeMs: 3_600_000, maxBytes: 1e9, replicas: 3 });
const pub = (id, seq, type) => { const h = headers(); if (seq) h.set('Jobs-Seq', String(seq)); pubc.publish(`${prefix}.evt.o${id % 7}.j${id}.${type}`, '{}', { headers: h }); };
for (let s = 1; s <= 4; s++) for (let i = 0; i < 300; i++) { pub(i, s, 'JOB_STATUS_CHANGE'); for (let p = 0; p < 3; p++) pub(i, 0, 'JOB_PROGRESS'); }
for (let i = 0; i < 300; i++) pub(i, 5, 'JOB_COMPLETED');
await pubc.flush(); await new Promise(r => setTimeout(r, 1000));
const js = jetstream(nc); const jsm = await jetstreamManager(nc);
const stats = { early: 0, short: 0, ok: 0 }; const examples = [];
for (let round = 0; round < 80; round++) {
  const upTo = (await jsm.streams.info(stream)).state.last_seq;
  await Promise.all(Array.from({ length: 24 }, async (_, k) => {
    const i = (round * 24 + k) % 300;
    const consumer = await js.consumers.get(stream, { filter_subjects: `${prefix}.evt.o${i % 7}.j${i}.>`, deliver_policy: DeliverPolicy.LastPerSubject });
    const info = await consumer.info();
    if (info.num_pending === 0) { stats.early++; examples.push({ i, info: { num_pending: info.num_pending, delivered: info.delivered, ack_floor: info.ack_floor } }); return; }
    const seen = [];
    const messages = await consumer.consume({ max_messages: 10_000 });
    for await (const m of messages) { seen.push([m.subject.split('.').at(-1), m.info.pending]); if (m.seq >= upTo || m.info.pending === 0) break; }
    await messages.close();
    if (seen.length < 3) { stats.short++; examples.push({ i, np: info.num_pending, seen }); } else stats.ok++;
  }));
}
console.log(stats, JSON.stringify(examples.slice(0, 4)));
await nc.close(); await pubc.close(); await cluster.close();
