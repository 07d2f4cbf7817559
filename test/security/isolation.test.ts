/**
 * Users and isolation over a real nats-server running the shipped nats-auth.conf, with the
 * service connected as its own user `jobstate`: alice can neither see nor touch bob's jobs —
 * the service answers her exactly as for a job that does not exist, and the broker refuses
 * her bob's events, bob's replies and bob's command subjects — while admin sees and controls
 * everyone's. Anonymous and wrongly credentialed connections are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PermissionViolationError, connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { storeNames } from '../../src/persist/names.js';
import { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder, errorReply, rawRequest } from '../service/helpers.js';
import { startAuthServer } from './auth-server.js';
import type { AuthServer } from './auth-server.js';

const LONG = { steps: 100_000, 'step-ms': 20 };

/** Resolves with the error the server closed `sub` with, or fails if it stays open. */
async function refusal(nc: NatsConnection, sub: Subscription): Promise<PermissionViolationError> {
  await nc.flush();
  const outcome = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 2000).unref())]);
  assert.ok(outcome instanceof PermissionViolationError, `subscription to ${sub.getSubject()} was not refused: ${String(outcome)}`);
  assert.equal(outcome.operation, 'subscription');
  assert.equal(outcome.subject, sub.getSubject());
  return outcome;
}

/** The PermissionViolationError a request on `subject` fails with. */
async function publishRefused(nc: NatsConnection, subject: string, payload = '{}'): Promise<void> {
  await assert.rejects(nc.request(subject, payload, { timeout: 2000 }), (err: Error) => {
    assert.ok(err.cause instanceof PermissionViolationError, `expected a permissions violation, got ${err.name}: ${err.message}`);
    assert.equal(err.cause.operation, 'publish');
    assert.equal(err.cause.subject, subject);
    return true;
  });
}

/** `num_requests` per endpoint, from $SRV.STATS (as admin, the one user allowed to ask). */
async function requestCounts(admin: NatsConnection): Promise<Record<string, number>> {
  const stats = (await admin.request('$SRV.STATS.jobstate', '', { timeout: 2000 })).json<{
    endpoints: Array<{ name: string; num_requests: number }>;
  }>();
  return Object.fromEntries(stats.endpoints.map((e) => [e.name, e.num_requests]));
}

describe('users and isolation under nats-auth.conf', () => {
  let auth: AuthServer;
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let admin: JobsClient;
  let P: string;
  /** Bob's jobs, in the statuses a foreign verb could disturb. */
  const BOB_JOBS = ['bob-run', 'bob-paused', 'bob-ready', 'bob-pending', 'bob-done'] as const;

  const statuses = async (client: JobsClient, owner?: string) =>
    Object.fromEntries((await client.query(owner ? { owner } : {})).map((j) => [`${j.owner}/${j.id}`, j.status]));

  before(async () => {
    auth = await startAuthServer();
    P = auth.prefix;
    stack = await startStack({
      server: auth.server,
      prefix: P,
      connection: { user: 'jobstate', pass: auth.passwords.jobstate },
    });
    [alice, bob, admin] = await Promise.all([
      stack.client('alice', auth.passwords.alice),
      stack.client('bob', auth.passwords.bob),
      stack.client('admin', auth.passwords.admin),
    ]);
    const bobEvents = new Recorder(bob.nc, `${P}.evt.bob.>`);
    await bobEvents.ready;
    await bob.start('test', { id: 'bob-run', params: LONG });
    await bob.start('test', { id: 'bob-paused', params: LONG });
    await bob.pause('bob-paused');
    await bob.start('test', { id: 'bob-ready', params: { steps: 1, 'step-ms': 1, ready: true } });
    await bob.start('test', { id: 'bob-pending', 'auto-finalize': false, params: { steps: 1, 'step-ms': 1 } });
    await bob.start('test', { id: 'bob-done', 'auto-dismiss': false, params: { steps: 1, 'step-ms': 1, result: 'secret' } });
    await bobEvents.event('bob-ready', 'JOB_READY');
    await bobEvents.event('bob-pending', 'JOB_PENDING');
    await bobEvents.status('bob-done', 'concluded');
    bobEvents.close();
    // The same id for alice: isolation is per owner, not per id.
    await alice.start('test', { id: 'bob-run', params: LONG });
    await alice.start('test', { id: 'alice-run', params: LONG });
  });

  after(async () => {
    await stack?.close();
    await auth?.stop();
  });

  const bobStatuses = { 'bob/bob-run': 'running', 'bob/bob-paused': 'paused', 'bob/bob-ready': 'ready', 'bob/bob-pending': 'pending', 'bob/bob-done': 'concluded' };

  test("query-jobs: alice sees only her jobs, with or without naming bob", async () => {
    assert.deepEqual(await statuses(alice), { 'alice/alice-run': 'running', 'alice/bob-run': 'running' });
    assert.deepEqual(await alice.query({ owner: 'bob' }), []);
    assert.deepEqual(await alice.query({ owner: 'admin' }), []);
    assert.deepEqual(await statuses(bob), bobStatuses);
  });

  test("every verb, job-wait and job-log on bob's jobs: byte-identical to a job that does not exist", async () => {
    const extras: Array<[string, Record<string, unknown>]> = [
      ['job-pause', {}],
      ['job-resume', {}],
      ['job-cancel', {}],
      ['job-cancel', { force: false }],
      ['job-complete', {}],
      ['job-finalize', {}],
      ['job-dismiss', {}],
      ['job-set-speed', { speed: 1 }],
      ['job-wait', {}],
      ['job-wait', { 'timeout-ms': 10 }],
      ['job-log', {}],
    ];
    let compared = 0;
    for (const [command, extra] of extras) {
      const nonexistent = await rawRequest(alice.nc, P, 'alice', command, JSON.stringify({ id: 'no-such-job', ...extra }));
      assert.deepEqual(nonexistent, errorReply(404, 'Job not found'), command);
      for (const id of BOB_JOBS) {
        for (const args of [{ id, owner: 'bob', ...extra }, { owner: 'bob', id, ...extra }]) {
          const reply = await rawRequest(alice.nc, P, 'alice', command, JSON.stringify(args));
          assert.deepEqual(reply, nonexistent, `${command} ${JSON.stringify(args)}`);
          compared++;
        }
      }
      // A job only bob has, addressed as alice's own: not found either.
      for (const id of BOB_JOBS.filter((id) => id !== 'bob-run')) {
        assert.deepEqual(await rawRequest(alice.nc, P, 'alice', command, JSON.stringify({ id, ...extra })), nonexistent);
        compared++;
      }
    }
    assert.ok(compared > 100);
    // Nothing happened to any of bob's jobs.
    assert.deepEqual(await statuses(bob), bobStatuses);
    assert.equal((await bob.query()).find((j) => j.id === 'bob-run')?.speed, 0);
  });

  test("alice's SDK calls naming bob fail as for a missing job, and leave bob's jobs alone", async () => {
    for (const call of [
      () => alice.pause('bob-run', { owner: 'bob' }),
      () => alice.cancel('bob-paused', { owner: 'bob' }),
      () => alice.complete('bob-ready', { owner: 'bob' }),
      () => alice.finalize('bob-pending', { owner: 'bob' }),
      () => alice.dismiss('bob-done', { owner: 'bob' }),
      () => alice.setSpeed('bob-run', 5, { owner: 'bob' }),
      () => alice.wait('bob-done', { owner: 'bob' }),
    ]) {
      await assert.rejects(call(), { name: 'JobsError', message: 'Job not found', code: 404 });
    }
    assert.deepEqual(await statuses(bob), bobStatuses);
  });

  test("alice's subscriptions to bob's events are refused by the server", async () => {
    for (const subject of [`${P}.evt.bob.>`, `${P}.evt.bob.bob-run.*`, `${P}.evt.*.>`, `${P}.evt.>`, `${P}.evt.*.bob-run.JOB_STATUS_CHANGE`, '>']) {
      await refusal(alice.nc, alice.nc.subscribe(subject));
    }
    // Through the SDK: the stream's ready rejects, and so does the iteration.
    const stream = alice.events({ owner: 'bob' });
    await assert.rejects(stream.ready, PermissionViolationError);
    await assert.rejects(async () => {
      for await (const _ of stream) assert.fail('got one of bob\'s events');
    }, PermissionViolationError);
    // alice's connection survives the refusals; her own events still come, and only hers.
    const own = new Recorder(alice.nc, `${P}.evt.alice.>`);
    await own.ready;
    const bobId = await bob.start('test', { params: { steps: 1, 'step-ms': 1 } });
    const aliceId = await alice.start('test', { params: { steps: 1, 'step-ms': 1 } });
    await own.status(aliceId, 'null');
    await bob.wait(bobId, { timeoutMs: 5000 });
    await alice.nc.flush();
    assert.ok(own.events.length > 0);
    assert.deepEqual(own.events.filter((e) => e.data.owner !== 'alice' || !e.subject.startsWith(`${P}.evt.alice.`)), []);
    own.close();
  });

  test("alice cannot read replies meant for bob, nor snoop on commands", async () => {
    for (const subject of ['_INBOX_bob.>', `_INBOX_bob.${'x'.repeat(22)}.*`, '_INBOX.>', '_INBOX_admin.>', `${P}.cmd.>`, `${P}.cmd.bob.>`, `${P}.cmd.*.job-start`, '$SRV.>']) {
      await refusal(alice.nc, alice.nc.subscribe(subject));
    }
    // A queue subscription does not help either.
    await refusal(alice.nc, alice.nc.subscribe(`${P}.cmd.*.query-jobs`, { queue: 'q' }));
  });

  test("alice cannot publish on bob's command subjects: refused by the server, never seen by the service", async () => {
    const raw = await auth.connectAs('admin');
    try {
      const before = await requestCounts(raw);
      await publishRefused(alice.nc, `${P}.cmd.bob.query-jobs`);
      await publishRefused(alice.nc, `${P}.cmd.bob.job-start`, JSON.stringify({ type: 'test', id: 'forged' }));
      await publishRefused(alice.nc, `${P}.cmd.bob.job-cancel`, JSON.stringify({ id: 'bob-run' }));
      await publishRefused(alice.nc, `${P}.cmd.admin.query-jobs`);
      // Fire-and-forget publishes are dropped the same way.
      alice.nc.publish(`${P}.cmd.bob.job-dismiss`, JSON.stringify({ id: 'bob-done' }));
      alice.nc.publish(`${P}.cmd.bob.job-pause`, JSON.stringify({ id: 'bob-run' }));
      await alice.nc.flush();
      const afterwards = await requestCounts(raw);
      assert.deepEqual(afterwards, before, 'the service received a command alice was not allowed to send');
    } finally {
      await raw.close();
    }
    assert.deepEqual(await statuses(bob), bobStatuses);
    assert.equal((await bob.query()).find((j) => j.id === 'forged'), undefined);
  });

  test('alice cannot forge events, replies or discovery requests', async () => {
    const watcher = new Recorder(bob.nc, `${P}.evt.bob.>`);
    await watcher.ready;
    await publishRefused(alice.nc, `${P}.evt.bob.bob-run.JOB_STATUS_CHANGE`, JSON.stringify({ event: 'JOB_STATUS_CHANGE', data: { id: 'bob-run', owner: 'bob', status: 'concluded' } }));
    await publishRefused(alice.nc, `${P}.evt.alice.alice-run.JOB_STATUS_CHANGE`);
    await publishRefused(alice.nc, '_INBOX_bob.fake.reply');
    await publishRefused(alice.nc, '$SRV.PING.jobstate');
    await publishRefused(alice.nc, '$JS.API.INFO');
    await bob.nc.flush();
    // bob-run's own progress may come meanwhile (it runs): anything else would be forged.
    assert.deepEqual(watcher.events.filter((e) => e.event !== 'JOB_PROGRESS'), []);
    watcher.close();
  });

  test("the service's own user cannot act as a user", async () => {
    const svc = await auth.connectAs('jobstate', { inboxPrefix: '_INBOX' });
    try {
      await publishRefused(svc, `${P}.cmd.alice.job-cancel`, JSON.stringify({ id: 'alice-run' }));
      await refusal(svc, svc.subscribe('_INBOX_alice.>'));
    } finally {
      await svc.close();
    }
    assert.equal((await alice.query()).find((j) => j.id === 'alice-run')?.status, 'running');
  });

  test("admin sees and controls everyone's jobs, and every owner's events", async () => {
    const all = await statuses(admin);
    assert.deepEqual(all, { ...bobStatuses, 'alice/alice-run': 'running', 'alice/bob-run': 'running' });
    assert.deepEqual(await statuses(admin, 'bob'), bobStatuses);
    assert.deepEqual(await statuses(admin, 'alice'), { 'alice/alice-run': 'running', 'alice/bob-run': 'running' });

    const everyone = new Recorder(admin.nc, `${P}.evt.>`);
    await everyone.ready;
    await admin.pause('bob-run', { owner: 'bob' });
    assert.equal((await bob.query()).find((j) => j.id === 'bob-run')?.status, 'paused');
    assert.equal((await alice.query()).find((j) => j.id === 'bob-run')?.status, 'running', "alice's job of the same id is untouched");
    await admin.resume('bob-run', { owner: 'bob' });
    await admin.setSpeed('alice-run', 7, { owner: 'alice' });
    await everyone.until((e) => e.subject === `${P}.evt.bob.bob-run.JOB_STATUS_CHANGE` && e.data.status === 'running');
    assert.ok(everyone.events.some((e) => e.data.owner === 'bob' && e.data.status === 'paused'));
    // Admin's own events and alice's come on the same subscription.
    const aliceId = await alice.start('test', { params: { steps: 1, 'step-ms': 1 } });
    await everyone.status(aliceId, 'null');
    everyone.close();

    // Discovery and stats are the admin's.
    const ping = (await admin.nc.request('$SRV.PING.jobstate', '', { timeout: 2000 })).json<{ name: string }>();
    assert.equal(ping.name, 'jobstate');

    // And an admin ends bob's job.
    await admin.cancel('bob-paused', { owner: 'bob' });
    assert.equal((await admin.wait('bob-paused', { owner: 'bob', timeoutMs: 5000 })).error, 'Operation canceled');
  });

  test('anonymous connections, wrong passwords and borrowed names are refused', async () => {
    const url = auth.server.url;
    const attempts: Array<[string, Parameters<typeof connect>[0]]> = [
      ['no credentials', { servers: url }],
      ['no password', { servers: url, user: 'alice' }],
      ['a wrong password', { servers: url, user: 'alice', pass: 'wrong' }],
      ["bob's password for alice", { servers: url, user: 'alice', pass: auth.passwords.bob }],
      ['an unknown user', { servers: url, user: 'mallory', pass: auth.passwords.alice }],
      ['a token', { servers: url, token: auth.passwords.alice }],
      ['an empty user', { servers: url, user: '', pass: '' }],
    ];
    for (const [what, opts] of attempts) {
      await assert.rejects(connect({ ...opts, reconnect: false, timeout: 3000 }), { name: 'AuthorizationError' }, what);
    }
    // The SDK without a password, too.
    await assert.rejects(JobsClient.connect({ servers: url, user: 'alice', prefix: P, connection: { reconnect: false } }), { name: 'AuthorizationError' });
  });
  test("the event stream: admin replays every owner's history; a user cannot read it", async () => {
    const stream = storeNames(P).stream;
    const adminNc = await auth.connectAs('admin');
    try {
      const jsm = await jetstreamManager(adminNc);
      await jsm.consumers.add(stream, { name: 'audit', filter_subject: `${P}.evt.bob.bob-done.JOB_STATUS_CHANGE`, ack_policy: AckPolicy.None });
      const consumer = await jetstream(adminNc).consumers.get(stream, 'audit');
      const statuses: string[] = [];
      for await (const m of await consumer.fetch({ max_messages: 3, expires: 2000 })) {
        statuses.push(m.json<{ data: { status: string } }>().data.status);
      }
      assert.deepEqual(statuses.slice(0, 3), ['created', 'running', 'waiting']);
      await jsm.consumers.delete(stream, 'audit');
    } finally {
      await adminNc.close();
    }
    // alice asks JetStream for a consumer of bob's events directly: the broker refuses the request.
    const aliceNc = await auth.connectAs('alice');
    try {
      const create = `$JS.API.CONSUMER.CREATE.${stream}.peek.${P}.evt.bob.>`;
      const config = { stream_name: stream, config: { name: 'peek', filter_subject: `${P}.evt.bob.>`, ack_policy: 'none' } };
      await assert.rejects(aliceNc.request(create, JSON.stringify(config), { timeout: 1000 }));
    } finally {
      await aliceNc.close().catch(() => undefined);
    }
    const check = await auth.connectAs('admin');
    try {
      const names: string[] = [];
      for await (const c of (await jetstreamManager(check)).consumers.list(stream)) names.push(c.name);
      assert.ok(!names.includes('peek'), 'no consumer was made for alice');
    } finally {
      await check.close();
    }
  });
});
