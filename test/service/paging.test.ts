/**
 * query-jobs paging, and replies that never exceed the connection's max_payload: a private
 * nats-server with `max_payload: 64KB`, 300 jobs with 1 KiB descriptions (alice) and 30 more
 * (bob) — far more than one reply holds. Every command gets a reply: a listing too large for
 * one reply is refused with how to page; pages follow `next-offset` in order, with `count`;
 * filters and `order-by` hold across pages; `jobctl query` and the SDK page through it all.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NatsServer } from '../../src/nats/server.js';
import type { JobInfo } from '../../src/protocol/schemas.js';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobsError } from '../../src/sdk/index.js';
import type { JobsClient, QueryPage } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { jobctl } from '../cli/helpers.js';

const MAX_PAYLOAD = 64 * 1024;
const ALICE_JOBS = 300;
const BOB_JOBS = 30;
const DESCRIPTION = 'd'.repeat(1000);
/** Alice's jobs whose index is a multiple of 3 wait in `ready`; the others conclude. */
const READY = (i: number) => i % 3 === 0;
const aliceId = (i: number) => `a${String(i).padStart(4, '0')}`;

/** A job whose result alone is larger than the server's max_payload. */
const bigResult = defineJob('big-result', { params: z.strictObject({}) }, async () => 'r'.repeat(MAX_PAYLOAD + 1000));

describe('query-jobs paging over a 64 KiB max_payload', () => {
  let dir: string;
  let server: NatsServer;
  let stack: Stack;
  let alice: JobsClient;
  let admin: JobsClient;
  /** Raw request → the reply's bytes and decoded body. */
  let raw: (user: string, command: string, args: unknown) => Promise<{ bytes: number; body: { return?: unknown; error?: { desc: string } }; code?: string }>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobstate-paging-'));
    writeFileSync(join(dir, 'small.conf'), `max_payload: ${MAX_PAYLOAD}\n`);
    server = await NatsServer.start({ config: join(dir, 'small.conf'), jetstreamDir: join(dir, 'js') });
    stack = await startStack({ server });
    alice = await stack.client('alice');
    admin = await stack.client('admin');
    const bob = await stack.client('bob');
    raw = async (user, command, args) => {
      const msg = await alice.nc.request(`${stack.prefix}.cmd.${user}.${command}`, JSON.stringify(args), { timeout: 10_000 });
      return { bytes: msg.data.length, body: msg.json(), code: msg.headers?.get('Nats-Service-Error-Code') };
    };
    const start = (client: JobsClient, id: string, ready: boolean) =>
      client.start('test', { id, params: { steps: 1, 'step-ms': 1, ready }, 'auto-dismiss': false, description: DESCRIPTION });
    for (let i = 0; i < ALICE_JOBS; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, ALICE_JOBS - i) }, (_, k) => start(alice, aliceId(i + k), READY(i + k))));
    }
    await Promise.all(Array.from({ length: BOB_JOBS }, (_, i) => start(bob, `b${i}`, false)));
    // Wait until every job has settled (ready or concluded), counting with limit 0.
    const settled = async () => {
      const ready = (await alice.queryPage({ status: 'ready', limit: 0 })).count;
      const concluded = (await alice.queryPage({ status: 'concluded', limit: 0 })).count;
      return ready === ALICE_JOBS / 3 && concluded === (ALICE_JOBS * 2) / 3;
    };
    for (const deadline = Date.now() + 60_000; !(await settled()); ) {
      if (Date.now() > deadline) throw new Error('the jobs did not settle');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await stack?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('query-jobs {} whose list is over max_payload gets an error reply that says how to page (not silence)', async () => {
    const reply = await raw('alice', 'query-jobs', {});
    assert.equal(reply.code, '413');
    assert.match(reply.body.error!.desc, /max_payload/);
    assert.match(reply.body.error!.desc, /"limit"/);
    assert.match(reply.body.error!.desc, /"offset"/);
    // A filter that still matches too much is answered the same way.
    assert.equal((await raw('admin', 'query-jobs', { type: 'test' })).code, '413');
  });

  test('pages of 50 follow next-offset, newest first, with the total count, each within max_payload', async () => {
    const ids: string[] = [];
    let offset: number | undefined = 0;
    let pages = 0;
    while (offset !== undefined) {
      const reply = await raw('alice', 'query-jobs', { limit: 50, offset });
      assert.ok(reply.bytes <= MAX_PAYLOAD, `page of ${reply.bytes} bytes`);
      const page = reply.body.return as QueryPage;
      assert.equal(page.count, ALICE_JOBS);
      assert.ok(page.jobs.length <= 50);
      ids.push(...page.jobs.map((j) => j.id));
      offset = page['next-offset'];
      pages++;
    }
    assert.ok(pages >= ALICE_JOBS / 50);
    assert.deepEqual(ids, Array.from({ length: ALICE_JOBS }, (_, i) => aliceId(ALICE_JOBS - 1 - i)));
  });

  test('without a limit, a page holds as many jobs as fit; following next-offset lists everything once', async () => {
    const first = await raw('alice', 'query-jobs', { offset: 0 });
    const page = first.body.return as QueryPage;
    assert.ok(first.bytes <= MAX_PAYLOAD && first.bytes > MAX_PAYLOAD / 2, `a full page: ${first.bytes} bytes`);
    assert.ok(page.jobs.length > 10 && page.jobs.length < ALICE_JOBS);
    assert.equal(page['next-offset'], page.jobs.length);
    const seen = new Set<string>();
    for await (const job of alice.jobs()) seen.add(job.id);
    assert.equal(seen.size, ALICE_JOBS);
  });

  test('limit 0 counts; order-by oldest reverses; an offset past the end is an empty last page', async () => {
    assert.deepEqual(await alice.queryPage({ limit: 0 }), { jobs: [], count: ALICE_JOBS });
    const oldest = await alice.queryPage({ limit: 3, offset: 1, 'order-by': 'oldest' });
    assert.deepEqual(oldest.jobs.map((j) => j.id), [aliceId(1), aliceId(2), aliceId(3)]);
    assert.equal(oldest['next-offset'], 4);
    assert.deepEqual(await alice.queryPage({ offset: ALICE_JOBS + 5 }), { jobs: [], count: ALICE_JOBS });
    assert.deepEqual((await alice.queryPage({ limit: 2, offset: ALICE_JOBS - 1 })).jobs.map((j) => j.id), [aliceId(0)]);
  });

  test('filters hold across pages: status for alice, owner and status for an admin', async () => {
    const ready: JobInfo[] = [];
    for await (const job of alice.jobs({ status: 'ready' }, { pageSize: 7 })) ready.push(job);
    const expected = Array.from({ length: ALICE_JOBS }, (_, i) => ALICE_JOBS - 1 - i).filter(READY).map(aliceId);
    assert.deepEqual(ready.map((j) => j.id), expected);
    assert.ok(ready.every((j) => j.status === 'ready'));

    const bobs = await admin.queryPage({ owner: 'bob', limit: 10, offset: 10, 'order-by': 'oldest' });
    assert.equal(bobs.count, BOB_JOBS);
    assert.deepEqual(bobs.jobs.map((j) => j.id), Array.from({ length: 10 }, (_, i) => `b${10 + i}`));
    const everyone = await admin.queryPage({ status: 'concluded', limit: 0 });
    assert.equal(everyone.count, (ALICE_JOBS * 2) / 3 + BOB_JOBS);
    // A non-admin naming another owner still sees nothing, in either form.
    assert.deepEqual(await alice.queryPage({ owner: 'bob', limit: 5 }), { jobs: [], count: 0 });
  });

  test("the SDK's query() returns every job, whatever the size", async () => {
    const all = await admin.query();
    assert.equal(all.length, ALICE_JOBS + BOB_JOBS);
    assert.equal(new Set(all.map((j) => `${j.owner}/${j.id}`)).size, ALICE_JOBS + BOB_JOBS);
  });

  test('bad paging arguments are refused, naming the field', async () => {
    await assert.rejects(alice.queryPage({ limit: -1 }), (e: JobsError) => e.code === 400 && /'limit'/.test(e.message));
    await assert.rejects(alice.queryPage({ offset: 1.5 }), (e: JobsError) => e.code === 400 && /'offset'/.test(e.message));
    await assert.rejects(alice.request('query-jobs', { 'order-by': 'size' } as never), (e: JobsError) => e.code === 400 && /'order-by'/.test(e.message));
  });

  test('jobctl query lists more jobs than one reply holds', async () => {
    const r = await jobctl(['--server', server.url, '--prefix', stack.prefix, '--user', 'alice', 'query', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const ids = r.stdout.trim().split('\n');
    assert.deepEqual(ids, Array.from({ length: ALICE_JOBS }, (_, i) => aliceId(ALICE_JOBS - 1 - i)));
    const json = await jobctl(['--server', server.url, '--prefix', stack.prefix, '--user', 'alice', 'query', '--status', 'ready', '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as JobInfo[]).length, ALICE_JOBS / 3);
  });

  test('any reply over max_payload is an error reply (job-wait of a job whose result is too large)', async () => {
    // A stack of its own, in memory: a job this large could not be kept in the JetStream store.
    await using big = await startStack({ server, persistence: false, types: (data) => builtinTypes(data).register(bigResult) });
    const carol = await big.client('carol');
    const id = await carol.start('big-result', { 'auto-dismiss': false });
    const request = async (command: string, args: unknown) => {
      const msg = await carol.nc.request(`${big.prefix}.cmd.carol.${command}`, JSON.stringify(args), { timeout: 10_000 });
      return { body: msg.json<{ error?: { desc: string } }>(), code: msg.headers?.get('Nats-Service-Error-Code') };
    };
    const reply = await request('job-wait', { id });
    assert.equal(reply.code, '413');
    assert.match(reply.body.error!.desc, /job-wait.*max_payload/);
    // In a listing, that one job is named when it is too large for a page of its own.
    const listed = await request('query-jobs', { limit: 1 });
    assert.equal(listed.code, '413');
    assert.match(listed.body.error!.desc, new RegExp(`'${id}'`));
    assert.match(listed.body.error!.desc, /"offset": 1/);
  });
});
