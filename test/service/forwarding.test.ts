/**
 * Any instance answers any command (issue 18): two services on one nats-server and one prefix,
 * even partitions served by A and odd ones by B (a hand-made split). A client's command lands
 * on either (queue group `q`); the one that does not serve the owner's partition forwards it
 * over `<prefix>.int.i.<instance>.<n>.<command>` to the instance holding n, and relays the
 * reply unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionOf } from '../../src/cluster/partition.js';
import type { NatsServer } from '../../src/nats/server.js';
import { startNatsServer } from '../support/stack.js';
import { errorReply, rawRequest, sleep } from './helpers.js';
import type { RawReply } from './helpers.js';
import { ownersIn, startInstance } from './instances.js';
import type { Instance } from './instances.js';

const P = 8;
const WAIT_MS = 1000;
const owners = (pick: (p: number) => boolean, n: number) => ownersIn(P, pick, n);

const EVEN = Array.from({ length: P / 2 }, (_, i) => 2 * i);
const ODD = EVEN.map((p) => p + 1);

describe('forwarding between instances', () => {
  let server: NatsServer & { storeDir: string };
  let a: Instance;
  let b: Instance;
  let client: NatsConnection;
  const prefix = `fwd${process.pid}`;
  const [even, even2] = owners((p) => p % 2 === 0, 2) as [string, string];
  const [odd, odd2] = owners((p) => p % 2 === 1, 2) as [string, string];
  const req = (caller: string, command: string, args: unknown, timeoutMs = 5000): Promise<RawReply> =>
    rawRequest(client, prefix, caller, command, JSON.stringify(args), timeoutMs);

  before(async () => {
    server = await startNatsServer();
    a = await startInstance({ url: server.url, prefix, partitions: P, served: EVEN, waitMs: WAIT_MS });
    b = await startInstance({ url: server.url, prefix, partitions: P, served: ODD, waitMs: WAIT_MS });
    client = await connect({ servers: server.url });
  });
  after(async () => {
    await client.close();
    await a.close();
    await b.close();
    await server.stop();
  });

  test('every command reaches the owner’s instance from either entry, replying as a local one would', async () => {
    for (const [owner, home, other] of [[even, a, b], [odd, b, a]] as const) {
      // Enough commands that both entry points (the queue group picks one) take some.
      for (let i = 0; i < 12; i++) {
        const started = await req(owner, 'job-start', { type: 'test', id: `j${i}`, params: { steps: 1000, 'step-ms': 1000 }, 'auto-dismiss': false });
        assert.deepEqual(started, { body: `{"return":{"id":"j${i}"}}`, headers: {} });
      }
      assert.equal(home.service.jobs.query(owner, {}).count, 12, `${owner}'s jobs live on its instance`);
      assert.equal(other.service.jobs.query(owner, {}).count, 0);
      const txn = await req(owner, 'transaction', { actions: [{ type: 'test', id: 't1', params: { steps: 1000, 'step-ms': 1000 } }, { type: 'test', id: 't2', params: { steps: 1000, 'step-ms': 1000 } }] });
      assert.equal(txn.body, '{"return":{"jobs":["t1","t2"]}}');
      for (let i = 0; i < 12; i++) {
        const id = `j${i}`;
        for (const command of ['job-pause', 'job-resume']) assert.deepEqual(await req(owner, command, { id }), { body: '{"return":{}}', headers: {} });
        assert.deepEqual(await req(owner, 'job-set-speed', { id, speed: 5 }), { body: '{"return":{}}', headers: {} });
        assert.match((await req(owner, 'job-log', { id })).body, /^\{"return":\{"lines":\[.*\],"count":\d+\}\}$/);
        // An error reply is relayed exactly: body and headers.
        assert.deepEqual(await req(owner, 'job-complete', { id }), errorReply(409, `Job '${id}' in state 'running' cannot accept command verb 'complete'`));
        assert.deepEqual(await req(owner, 'job-pause', { id: `nope${i}` }), errorReply(404, 'Job not found'));
      }
      const listed = JSON.parse((await req(owner, 'query-jobs', { 'order-by': 'oldest' })).body) as { return: Array<{ id: string; owner: string }> };
      assert.deepEqual(
        listed.return.map((j) => j.id),
        [...Array.from({ length: 12 }, (_, i) => `j${i}`), 't1', 't2'],
      );
      for (let i = 0; i < 12; i++) assert.deepEqual(await req(owner, 'job-cancel', { id: `j${i}` }), { body: '{"return":{}}', headers: {} });
      const waited = JSON.parse((await req(owner, 'job-wait', { id: 'j0', 'timeout-ms': 3000 })).body) as { return: { status: string } };
      assert.equal(waited.return.status, 'concluded');
      assert.deepEqual(await req(owner, 'job-wait', { id: 'j1', 'timeout-ms': 0 }).then((r) => JSON.parse(r.body).return.status), 'concluded');
      for (let i = 0; i < 12; i++) assert.deepEqual(await req(owner, 'job-dismiss', { id: `j${i}` }), { body: '{"return":{}}', headers: {} });
      assert.equal((await req(owner, 'query-job-types', {})).headers['Nats-Service-Error-Code'], undefined);
      // An admin addresses the owner's job through the owner's partition.
      assert.deepEqual(await req('admin', 'job-pause', { id: 'nope', owner }), errorReply(404, 'Job not found'));
      assert.equal(JSON.parse((await req('admin', 'query-jobs', { owner })).body).return.length, 2);
    }
  });

  test('an admin’s query-jobs gathers every instance: all jobs, ordered, paged', async () => {
    for (const owner of [even, even2, odd, odd2]) {
      for (let i = 0; i < 3; i++) await req(owner, 'job-start', { type: 'test', id: `q${i}`, params: { steps: 1000, 'step-ms': 1000 } });
      await sleep(5);
    }
    const all = JSON.parse((await req('admin', 'query-jobs', { type: 'test', status: 'running', 'order-by': 'oldest' })).body) as { return: Array<{ id: string; owner: string }> };
    const mine = all.return.filter((j) => j.id.startsWith('q')).map((j) => `${j.owner}/${j.id}`);
    assert.deepEqual(mine, [even, even2, odd, odd2].flatMap((o) => [0, 1, 2].map((i) => `${o}/q${i}`)));
    const newest = JSON.parse((await req('admin', 'query-jobs', { type: 'test', status: 'running' })).body) as { return: Array<{ id: string; owner: string }> };
    // The q jobs only: the first test's transaction members may conclude between the two queries.
    assert.deepEqual(
      newest.return.filter((j) => j.id.startsWith('q')).map((j) => `${j.owner}/${j.id}`),
      [...mine].reverse(),
    );
    const page = JSON.parse((await req('admin', 'query-jobs', { status: 'running', 'order-by': 'oldest', limit: 4, offset: 4 })).body) as { return: { jobs: Array<{ id: string; owner: string }>; count: number; 'next-offset': number } };
    assert.equal(page.return.count, all.return.length);
    assert.deepEqual(page.return.jobs.map((j) => `${j.owner}/${j.id}`), all.return.slice(4, 8).map((j) => `${j.owner}/${j.id}`));
    assert.equal(page.return['next-offset'], 8);
    // A partition nobody serves: no partial list, a 503 naming it.
    const p = partitionOf(odd, P);
    b.ownership.unserve(p);
    try {
      const started = performance.now();
      assert.deepEqual(await req('admin', 'query-jobs', {}), errorReply(503, `No instance answered for partition ${p} (moving between instances); retry the query`));
      assert.ok(performance.now() - started >= 2500, 'the gather waited for it');
    } finally {
      b.ownership.serve(p);
    }
  });

  test('a partition served nowhere: 503 after the bounded wait', async () => {
    const p = partitionOf(even2, P);
    a.ownership.unserve(p);
    try {
      const started = performance.now();
      assert.deepEqual(await req(even2, 'job-pause', { id: 'q0' }), errorReply(503, `Partition ${p} is moving between instances; retry the command`));
      const took = performance.now() - started;
      assert.ok(took >= WAIT_MS * 0.8 && took < WAIT_MS + 1500, `waited ${Math.round(took)} ms`);
    } finally {
      a.ownership.serve(p);
    }
  });

  /**
   * odd2's partition p held, as the leases show it, by a ghost that takes the commands forwarded to
   * it and answers none (it froze, or died with them); `run(p, swallowed)` sees the commands it took.
   * B serves p again afterwards.
   */
  async function withGhost(run: (p: number, swallowed: string[]) => Promise<void>): Promise<void> {
    const p = partitionOf(odd2, P);
    b.ownership.unserve(p);
    a.ownership.heldBy(p, 'ghost');
    const ghost = await connect({ servers: server.url });
    const swallowed: string[] = [];
    ghost.subscribe(`${prefix}.int.i.ghost.${p}.>`, { callback: (_err, m) => void swallowed.push(m.subject.split('.').at(-1)!) });
    await ghost.flush();
    try {
      await run(p, swallowed);
    } finally {
      await ghost.close();
      b.ownership.serve(p);
    }
  }

  test('a forwarded change its instance never answers: 503 saying it may have been done; a read is asked again', () =>
    withGhost(async (p, swallowed) => {
      assert.deepEqual(
        await req(odd2, 'job-pause', { id: 'x' }, 15_000),
        errorReply(503, `Partition ${p}: the instance serving it gave no answer in time; the command may have been done: query before retrying`),
      );
      assert.deepEqual(swallowed, ['job-pause'], 'one try: a change is not sent twice');
      swallowed.length = 0;
      // A read changes nothing: asked again until the wait runs out, then the plain "moving".
      assert.deepEqual(await req(odd2, 'query-jobs', {}, 15_000), errorReply(503, `Partition ${p} is moving between instances; retry the command`));
      assert.ok(swallowed.length >= 1 && swallowed.every((c) => c === 'query-jobs'), swallowed.join());
    }));

  test('a forwarded job-wait whose instance is taken over is asked again at the new holder', () =>
    withGhost(async (p, swallowed) => {
      const started = performance.now();
      const waiting = req(odd2, 'job-wait', { id: 'gone', 'timeout-ms': 20_000 }, 25_000);
      await sleep(300);
      assert.deepEqual(swallowed, ['job-wait']);
      b.ownership.serve(p); // B takes the partition over: its lease now shows B
      // B answers (it has no such job), well before the wait's 20 s ran out at the ghost.
      assert.deepEqual(await waiting, errorReply(404, 'Job not found'));
      const took = performance.now() - started;
      assert.ok(took < 300 + 2000, `answered after ${Math.round(took)} ms`);
    }));

  test('a forwarded job-wait moved twice keeps its own time left', async () => {
    const p = partitionOf(odd2, P);
    await req(odd2, 'job-start', { type: 'test', id: 'twice', params: { steps: 1000, 'step-ms': 1000 } });
    b.ownership.forget(p); // B keeps the job, but answers nothing for p until it serves it again
    const ghost = await connect({ servers: server.url });
    ghost.subscribe(`${prefix}.int.i.*.${p}.>`, { callback: () => undefined }); // holders that never answer
    await ghost.flush();
    try {
      a.ownership.heldBy(p, 'g1');
      const started = performance.now();
      const waiting = req(odd2, 'job-wait', { id: 'twice', 'timeout-ms': 3000 }, 10_000);
      await sleep(700);
      a.ownership.heldBy(p, 'g2'); // taken over once
      await sleep(700);
      b.ownership.serve(p); // and again, by B, which has the job
      const reply = await waiting;
      const took = performance.now() - started;
      assert.equal(reply.headers['Nats-Service-Error-Code'], '408', reply.body);
      // 3 s from the client's request: each move takes off the time passed since it, once.
      assert.ok(took >= 2800 && took < 4500, `answered after ${Math.round(took)} ms`);
    } finally {
      await ghost.close();
      b.ownership.serve(p);
      await req(odd2, 'job-cancel', { id: 'twice' });
    }
  });

  test('a partition moving between instances: the command waits and succeeds', async () => {
    const owner = even2;
    const p = partitionOf(owner, P);
    for (let round = 0; round < 4; round++) {
      a.ownership.unserve(p);
      const moved = sleep(300).then(() => b.ownership.serve(p));
      const started = performance.now();
      const reply = await req(owner, 'job-start', { type: 'test', id: `m${round}`, params: { steps: 1 } });
      assert.deepEqual(reply, { body: `{"return":{"id":"m${round}"}}`, headers: {} });
      assert.ok(performance.now() - started >= 200, 'it waited for the partition');
      await moved;
      assert.ok(b.service.jobs.query(owner, {}).count > 0, 'the job started on the new instance');
      b.ownership.unserve(p);
      a.ownership.serve(p);
    }
  });

  test('a slow forwarded command delays no other', async () => {
    await req(odd2, 'job-start', { type: 'test', id: 'slow', params: { steps: 1000, 'step-ms': 1000 } });
    // Several waits, so that some cross from A to B.
    const waits = Array.from({ length: 6 }, () => req(odd2, 'job-wait', { id: 'slow' }, 20_000));
    await sleep(100);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        req(i % 2 ? odd2 : odd, 'query-jobs', {}).then((r) => assert.equal(r.headers['Nats-Service-Error-Code'], undefined)),
      ),
    );
    assert.ok(performance.now() - started < 2000, 'the other commands were answered meanwhile');
    assert.deepEqual(await req(odd2, 'job-cancel', { id: 'slow' }), { body: '{"return":{}}', headers: {} });
    for (const w of await Promise.all(waits)) assert.equal(JSON.parse(w.body).return.status, 'concluded');
  });

  test('the serving side checks what it is forwarded', async () => {
    const ask = async (partition: number, command: string, caller: string | undefined, args: unknown) => {
      const h = headers();
      if (caller !== undefined) h.set('Jobs-Caller', caller);
      const m = await client.request(`${prefix}.int.i.${a.ownership.id}.${partition}.${command}`, JSON.stringify(args), { headers: h, timeout: 3000 });
      return { body: m.string(), code: m.headers?.get('Nats-Service-Error-Code'), notServed: m.headers?.get('Jobs-Not-Served') };
    };
    const p = partitionOf(even, P);
    const wrong = (p + 2) % P;
    assert.deepEqual(await ask(wrong, 'job-pause', even, { id: 'x' }), {
      body: JSON.stringify({ error: { class: 'GenericError', desc: `Command job-pause forwarded to partition ${wrong}, but its owner '${even}' is in ${p}` } }),
      code: '400',
      notServed: '',
    });
    assert.equal((await ask(p, 'job-pause', undefined, { id: 'x' })).code, '400');
    assert.equal((await ask(p, 'job-pause', 'not a caller', { id: 'x' })).code, '400');
    assert.equal((await ask(p, 'job-pause', even, { id: 'x' })).code, '404');
    // Not served any more (a handover under way): nothing done, and said so.
    a.ownership.forget(p);
    try {
      assert.deepEqual(await ask(p, 'job-pause', even, { id: 'x' }), {
        body: JSON.stringify({ error: { class: 'GenericError', desc: `Partition ${p} is moving between instances; retry the command` } }),
        code: '503',
        notServed: String(p),
      });
    } finally {
      a.ownership.serve(p);
    }
  });
});

describe('an instance going away while it relays', () => {
  test('its forwarded job-waits are answered as its own are; the other instance answers from then on', async () => {
    const server = await startNatsServer();
    const prefix = `fwdc${process.pid}`;
    const a = await startInstance({ url: server.url, prefix, partitions: P, served: EVEN, waitMs: WAIT_MS });
    const b = await startInstance({ url: server.url, prefix, partitions: P, served: ODD, waitMs: WAIT_MS });
    const client = await connect({ servers: server.url });
    try {
      const [odd] = owners((p) => p % 2 === 1, 1) as [string];
      const req = (command: string, args: unknown, timeoutMs = 5000) => rawRequest(client, prefix, odd, command, JSON.stringify(args), timeoutMs);
      await req('job-start', { type: 'test', id: 'long', params: { steps: 1000, 'step-ms': 1000 } });
      // Enough waits that some cross from A (which does not serve the job) to B.
      const waits = Array.from({ length: 16 }, () => req('job-wait', { id: 'long' }, 20_000));
      await sleep(200);
      await a.close();
      assert.deepEqual(await req('job-cancel', { id: 'long' }), { body: '{"return":{}}', headers: {} });
      const outcomes = (await Promise.all(waits)).map((w) => (w.headers['Nats-Service-Error'] ?? JSON.parse(w.body).return.status) as string);
      assert.ok(outcomes.includes('The service is shutting down'), `some waits went through A: ${outcomes.join(', ')}`);
      assert.ok(outcomes.every((o) => o === 'The service is shutting down' || o === 'concluded'), outcomes.join(', '));
    } finally {
      await client.close();
      await a.close();
      await b.close();
      await server.stop();
    }
  });
});
