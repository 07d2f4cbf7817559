/**
 * Every command of protocol v1 over a real nats-server, and its reply: job-start,
 * transaction, the seven verbs, query-jobs and job-wait.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { JOB_ID, Recorder, errorOf, rawRequest, rejectsWith, sequence, withoutTimes } from './helpers.js';

/** A test job that runs for a long time (until cancelled). */
const LONG = { steps: 1000, 'step-ms': 20 };
/** A test job that is ready almost at once and stays there until job-complete. */
const READY = { steps: 1, 'step-ms': 1, ready: true };

describe('commands over a real nats-server', () => {
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let admin: JobsClient;
  let events: Recorder;

  before(async () => {
    stack = await startStack();
    [alice, bob, admin] = await Promise.all([stack.client('alice'), stack.client('bob'), stack.client('admin')]);
    // Alice's events on alice's own connection: they arrive in order with her replies.
    events = new Recorder(alice.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });
  after(async () => {
    events.close();
    await stack.close();
  });

  describe('job-start', () => {
    test('with an id: replies {"id"} once created and running are published, and query-jobs shows it', async () => {
      const reply = await rawRequest(
        alice.nc,
        stack.prefix,
        'alice',
        'job-start',
        JSON.stringify({ type: 'test', id: 'start1', params: LONG, description: 'long one' }),
      );
      // Taken at the reply, before anything else is awaited.
      const seen = sequence(events.events, 'start1');
      assert.deepEqual(reply, { body: '{"return":{"id":"start1"}}', headers: {} });
      assert.deepEqual(seen, ['created', 'running']);
      const [info] = (await alice.query()).filter((j) => j.id === 'start1');
      assert.ok(info, 'query-jobs shows the job');
      assert.equal(info.status, 'running');
      assert.equal(info.type, 'test');
      assert.equal(info.owner, 'alice');
      assert.equal(info.description, 'long one');
      assert.equal(info['auto-finalize'], true);
      assert.equal(info['auto-dismiss'], true);
      assert.equal(info.speed, 0);
      assert.equal(info.txn, undefined);
      await alice.cancel('start1');
    });

    test('without an id: a generated id that matches the id pattern, fresh each time', async () => {
      const a = await alice.start('test', { params: READY });
      const b = await alice.start('test', { params: READY });
      assert.match(a, JOB_ID);
      assert.match(b, JOB_ID);
      assert.notEqual(a, b);
      const seen = sequence(events.events, a);
      assert.deepEqual(seen.slice(0, 2), ['created', 'running']);
      const ids = (await alice.query()).map((j) => j.id);
      assert.ok(ids.includes(a) && ids.includes(b), `query-jobs shows both: ${ids.join(',')}`);
      await Promise.all([alice.cancel(a), alice.cancel(b)]);
    });

    test('every JobInfo field is as given at start', async () => {
      await alice.start('test', {
        id: 'info1',
        params: { steps: 2, 'step-ms': 1, ready: true, result: { n: 7 } },
        'auto-finalize': false,
        'auto-dismiss': false,
        speed: 1000,
        description: 'all fields',
      });
      await events.event('info1', 'JOB_READY');
      const [info] = await alice.query({ status: 'ready', type: 'test' }).then((l) => l.filter((j) => j.id === 'info1'));
      assert.ok(info);
      assert.deepEqual(withoutTimes(info, { started: true, finished: false }), {
        id: 'info1',
        type: 'test',
        status: 'ready',
        'current-progress': 2,
        'total-progress': 2,
        owner: 'alice',
        'auto-finalize': false,
        'auto-dismiss': false,
        speed: 1000,
        description: 'all fields',
        params: { steps: 2, 'step-ms': 1, ready: true, result: { n: 7 } },
      });
      assert.deepEqual(await alice.complete('info1'), {});
      await events.event('info1', 'JOB_PENDING');
      assert.deepEqual(await alice.finalize('info1'), {});
      const final = await alice.wait('info1', { timeoutMs: 5000 });
      assert.deepEqual(withoutTimes(final, { started: true, finished: true }), {
        id: 'info1',
        type: 'test',
        status: 'concluded',
        'current-progress': 2,
        'total-progress': 2,
        owner: 'alice',
        'auto-finalize': false,
        'auto-dismiss': false,
        speed: 1000,
        description: 'all fields',
        result: { n: 7 },
        params: { steps: 2, 'step-ms': 1, ready: true, result: { n: 7 } },
      });
      assert.deepEqual(await alice.dismiss('info1'), {});
    });
  });

  describe('transaction', () => {
    test('individual: independent jobs, no txn field; one failing leaves the other alone', async () => {
      const reply = await rawRequest(
        alice.nc,
        stack.prefix,
        'alice',
        'transaction',
        JSON.stringify({
          actions: [
            { type: 'test', id: 'ind-a', params: { steps: 2, 'step-ms': 5, fail: 'boom' } },
            { type: 'test', id: 'ind-b', params: { steps: 4, 'step-ms': 10, result: 'b done' } },
          ],
          properties: { 'completion-mode': 'individual' },
        }),
      );
      assert.deepEqual(reply, { body: '{"return":{"jobs":["ind-a","ind-b"]}}', headers: {} });
      // Both were started by the time of the reply.
      assert.deepEqual(sequence(events.events, 'ind-a').slice(0, 2), ['created', 'running']);
      assert.deepEqual(sequence(events.events, 'ind-b').slice(0, 2), ['created', 'running']);
      const [a, b] = await Promise.all([alice.wait('ind-a', { timeoutMs: 5000 }), alice.wait('ind-b', { timeoutMs: 5000 })]);
      assert.equal(a.error, 'boom');
      assert.equal(a.txn, undefined);
      assert.equal(b.error, undefined);
      assert.equal(b.result, 'b done');
      assert.equal(b.txn, undefined);
    });

    test('the default completion mode is individual', async () => {
      const { jobs } = await alice.request('transaction', {
        actions: [
          { type: 'test', id: 'def-a', params: READY },
          { type: 'test', id: 'def-b', params: READY },
        ],
      });
      assert.deepEqual(jobs, ['def-a', 'def-b']);
      const infos = (await alice.query()).filter((j) => jobs.includes(j.id));
      assert.equal(infos.length, 2);
      for (const info of infos) assert.equal(info.txn, undefined);
      // Independent: cancelling one leaves the other running.
      await alice.cancel('def-a');
      await events.status('def-a', 'null');
      const [b] = (await alice.query()).filter((j) => j.id === 'def-b');
      assert.ok(b && (b.status === 'ready' || b.status === 'running'), `def-b still going: ${b?.status}`);
      await alice.cancel('def-b');
    });

    test('grouped: the members share one txn, shown in query-jobs and job-wait', async () => {
      const jobs = await alice.transaction(
        [
          { type: 'test', id: 'grp-a', params: { steps: 5, 'step-ms': 20 } },
          { type: 'test', id: 'grp-b', params: { steps: 6, 'step-ms': 20 } },
        ],
        'grouped',
      );
      assert.deepEqual(jobs, ['grp-a', 'grp-b']);
      const live = (await alice.query()).filter((j) => jobs.includes(j.id));
      assert.equal(live.length, 2);
      const [a, b] = await Promise.all([alice.wait('grp-a', { timeoutMs: 5000 }), alice.wait('grp-b', { timeoutMs: 5000 })]);
      assert.equal(typeof a.txn, 'string');
      assert.ok(a.txn!.length > 0);
      assert.equal(b.txn, a.txn);
      assert.ok(!jobs.includes(a.txn!), 'the txn id is not a job id');
      for (const info of live) assert.equal(info.txn, a.txn, `${info.id} in query-jobs`);
      assert.equal(a.error, undefined);
      assert.equal(b.error, undefined);
    });

    test('all-or-nothing: an invalid second action starts nothing, and the error names it', async () => {
      const err = await errorOf(
        alice.transaction([
          { type: 'test', id: 'aon-ok', params: LONG },
          { type: 'nope', id: 'aon-bad' },
        ]),
      );
      assert.equal(err.code, 400);
      assert.ok(err.message.includes('actions[1]'), err.message);
      assert.ok(err.message.includes("Invalid parameter 'type': unknown job type 'nope'"), err.message);
      await rejectsWith(alice.wait('aon-ok', { timeoutMs: 0 }), 404, 'Job not found');
      assert.deepEqual(events.of('aon-ok'), [], 'no event for the first action');
    });

    test('all-or-nothing in grouped mode too, for bad params and for a duplicate id', async () => {
      const params = await errorOf(
        alice.transaction(
          [
            { type: 'test', id: 'aon2-ok', params: LONG },
            { type: 'test', id: 'aon2-bad', params: { steps: 'ten' } },
          ],
          'grouped',
        ),
      );
      assert.equal(params.code, 400);
      assert.ok(params.message.includes('actions[1]'), params.message);
      assert.ok(params.message.includes("Invalid parameter type for 'actions[1].params.steps', expected: integer"), params.message);

      const dup = await errorOf(
        alice.transaction(
          [
            { type: 'test', id: 'aon2-ok', params: LONG },
            { type: 'test', id: 'aon2-ok', params: LONG },
          ],
          'grouped',
        ),
      );
      assert.ok(dup.message.includes('actions[1]'), dup.message);
      assert.ok(dup.message.includes("Job ID 'aon2-ok' already in use"), dup.message);
      await rejectsWith(alice.wait('aon2-ok', { timeoutMs: 0 }), 404, 'Job not found');
      assert.deepEqual(events.of('aon2-ok'), []);
    });

    test('all-or-nothing when a later action names an id already in use', async () => {
      await alice.start('test', { id: 'aon3-live', params: LONG });
      const err = await errorOf(
        alice.transaction([
          { type: 'test', id: 'aon3-new', params: LONG },
          { type: 'test', id: 'aon3-live', params: LONG },
        ]),
      );
      assert.equal(err.code, 409);
      assert.ok(err.message.includes('actions[1]'), err.message);
      assert.ok(err.message.includes("Job ID 'aon3-live' already in use"), err.message);
      await rejectsWith(alice.wait('aon3-new', { timeoutMs: 0 }), 404, 'Job not found');
      await alice.cancel('aon3-live');
    });
  });

  describe('verbs', () => {
    test('job-pause and job-resume reply {} once the job is paused / running again', async () => {
      await alice.start('test', { id: 'pr1', params: LONG });
      assert.deepEqual(await rawRequest(alice.nc, stack.prefix, 'alice', 'job-pause', '{"id":"pr1"}'), {
        body: '{"return":{}}',
        headers: {},
      });
      assert.deepEqual(sequence(events.events, 'pr1').slice(-1), ['paused']);
      assert.equal((await alice.query({ status: 'paused' })).find((j) => j.id === 'pr1')?.status, 'paused');
      assert.deepEqual(await alice.resume('pr1'), {});
      assert.deepEqual(sequence(events.events, 'pr1').slice(-2), ['paused', 'running']);
      assert.equal((await alice.query()).find((j) => j.id === 'pr1')?.status, 'running');
      await alice.cancel('pr1');
    });

    test('job-cancel forces by default: replies {} once aborting; job-wait says Operation canceled', async () => {
      await alice.start('test', { id: 'cf1', params: LONG });
      assert.deepEqual(await alice.cancel('cf1'), {});
      assert.ok(sequence(events.events, 'cf1').includes('aborting'), 'aborting is published before the reply');
      const info = await alice.wait('cf1', { timeoutMs: 5000 });
      assert.equal(info.status, 'concluded');
      assert.equal(info.error, 'Operation canceled');
      assert.equal(info.result, undefined);
      assert.ok(sequence(events.events, 'cf1').includes('[JOB_CANCELLED]'));
    });

    test('job-cancel force:false of a ready job completes it without error', async () => {
      await alice.start('test', { id: 'cs1', params: { ...READY, result: 'soft' } });
      await events.event('cs1', 'JOB_READY');
      assert.deepEqual(await alice.cancel('cs1', { force: false }), {});
      const info = await alice.wait('cs1', { timeoutMs: 5000 });
      assert.equal(info.error, undefined);
      assert.equal(info.result, 'soft');
      await events.status('cs1', 'null');
      assert.deepEqual(sequence(events.events, 'cs1'), [
        'created',
        'running',
        'ready',
        '[JOB_READY]',
        'waiting',
        'pending',
        '[JOB_COMPLETED]',
        'concluded',
        'null',
      ]);
    });

    test('job-cancel force:false before ready acts as a forced cancel', async () => {
      await alice.start('test', { id: 'cs2', params: LONG });
      assert.deepEqual(await alice.cancel('cs2', { force: false }), {});
      const info = await alice.wait('cs2', { timeoutMs: 5000 });
      assert.equal(info.error, 'Operation canceled');
      assert.ok(sequence(events.events, 'cs2').includes('[JOB_CANCELLED]'));
    });

    test('job-complete replies {} and the ready job finishes', async () => {
      await alice.start('test', { id: 'cp1', params: { ...READY, result: 42 } });
      await events.event('cp1', 'JOB_READY');
      assert.deepEqual(await alice.complete('cp1'), {});
      const info = await alice.wait('cp1', { timeoutMs: 5000 });
      assert.equal(info.result, 42);
      assert.equal(info.error, undefined);
    });

    test('job-finalize replies {} once the job concluded', async () => {
      await alice.start('test', { id: 'fin1', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false, 'auto-dismiss': false });
      await events.event('fin1', 'JOB_PENDING');
      assert.equal((await alice.query()).find((j) => j.id === 'fin1')?.status, 'pending');
      assert.deepEqual(await alice.finalize('fin1'), {});
      assert.deepEqual(sequence(events.events, 'fin1').slice(-2), ['[JOB_COMPLETED]', 'concluded']);
      assert.equal((await alice.query()).find((j) => j.id === 'fin1')?.status, 'concluded');
      await alice.dismiss('fin1');
    });

    test('job-dismiss replies {} once the job is null; it is gone from query-jobs', async () => {
      await alice.start('test', { id: 'dis1', params: { steps: 1, 'step-ms': 1, result: 'kept' }, 'auto-dismiss': false });
      await events.status('dis1', 'concluded');
      assert.equal((await alice.query()).find((j) => j.id === 'dis1')?.status, 'concluded');
      assert.deepEqual(await alice.dismiss('dis1'), {});
      assert.deepEqual(sequence(events.events, 'dis1').slice(-2), ['concluded', 'null']);
      assert.equal((await alice.query()).find((j) => j.id === 'dis1'), undefined);
      // job-wait still has the final JobInfo of a dismissed job.
      const info = await alice.wait('dis1', { timeoutMs: 1000 });
      assert.equal(info.status, 'concluded');
      assert.equal(info.result, 'kept');
    });

    test('job-set-speed replies {} and query-jobs shows the new speed', async () => {
      await alice.start('test', { id: 'spd1', params: LONG, speed: 5 });
      assert.equal((await alice.query()).find((j) => j.id === 'spd1')?.speed, 5);
      assert.deepEqual(await alice.setSpeed('spd1', 0), {});
      assert.equal((await alice.query()).find((j) => j.id === 'spd1')?.speed, 0);
      assert.deepEqual(await alice.setSpeed('spd1', 123), {});
      assert.equal((await alice.query()).find((j) => j.id === 'spd1')?.speed, 123);
      await alice.cancel('spd1');
    });

    test('an admin acts on another owner\'s job with "owner"', async () => {
      await alice.start('test', { id: 'adm1', params: READY });
      await events.event('adm1', 'JOB_READY');
      // Without owner, the admin addresses its own namespace.
      await rejectsWith(admin.pause('adm1'), 404, 'Job not found');
      assert.deepEqual(await admin.pause('adm1', { owner: 'alice' }), {});
      assert.equal((await alice.query()).find((j) => j.id === 'adm1')?.status, 'standby');
      assert.deepEqual(await admin.resume('adm1', { owner: 'alice' }), {});
      assert.deepEqual(await admin.setSpeed('adm1', 7, { owner: 'alice' }), {});
      assert.deepEqual(
        (await admin.query({ owner: 'alice' })).filter((j) => j.id === 'adm1').map((j) => [j.status, j.speed, j.owner]),
        [['ready', 7, 'alice']],
      );
      const waited = admin.wait('adm1', { owner: 'alice', timeoutMs: 5000 });
      assert.deepEqual(await admin.complete('adm1', { owner: 'alice' }), {});
      const info = await waited;
      assert.equal(info.owner, 'alice');
      assert.equal(info.status, 'concluded');
    });

    test('job ids are per owner: alice and bob may both use the same id', async () => {
      await alice.start('test', { id: 'same1', params: LONG });
      assert.equal(await bob.start('test', { id: 'same1', params: LONG }), 'same1');
      await bob.cancel('same1');
      assert.equal((await alice.query()).find((j) => j.id === 'same1')?.status, 'running');
      await alice.cancel('same1');
    });
  });

  describe('query-jobs', () => {
    test('newest first, filtered by status and type; a non-admin gets [] for another owner', async () => {
      const qa = await stack.client('qa1');
      await bob.start('test', { id: 'qb1', params: LONG });
      for (const id of ['q1', 'q2', 'q3']) await qa.start('test', { id, params: READY });
      const readyAll = async () => {
        for (let i = 0; i < 200; i++) {
          const list = await qa.query({ status: 'ready' });
          if (list.length === 3) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        assert.fail('the three jobs did not become ready');
      };
      await readyAll();
      await qa.pause('q2');
      assert.deepEqual((await qa.query()).map((j) => j.id), ['q3', 'q2', 'q1']);
      assert.deepEqual((await qa.query({ owner: 'qa1' })).map((j) => j.id), ['q3', 'q2', 'q1']);
      assert.deepEqual((await qa.query({ status: 'standby' })).map((j) => j.id), ['q2']);
      assert.deepEqual((await qa.query({ status: 'ready' })).map((j) => j.id), ['q3', 'q1']);
      assert.deepEqual((await qa.query({ status: 'running' })).map((j) => j.id), []);
      assert.deepEqual((await qa.query({ type: 'test' })).map((j) => j.id), ['q3', 'q2', 'q1']);
      assert.deepEqual((await qa.query({ type: 'other' })).map((j) => j.id), []);
      assert.deepEqual((await qa.query({ type: 'test', status: 'standby' })).map((j) => j.id), ['q2']);
      // Only ever one's own jobs.
      for (const info of await qa.query()) assert.equal(info.owner, 'qa1');
      assert.deepEqual(await qa.query({ owner: 'alice' }), []);
      assert.deepEqual(await bob.query({ owner: 'qa1' }), []);
      assert.ok((await bob.query()).every((j) => j.owner === 'bob'));
      // An admin sees them with owner, and among everyone's without.
      assert.deepEqual((await admin.query({ owner: 'qa1' })).map((j) => j.id), ['q3', 'q2', 'q1']);
      const all = await admin.query();
      assert.deepEqual(
        all.filter((j) => j.owner === 'qa1').map((j) => j.id),
        ['q3', 'q2', 'q1'],
      );
      assert.ok(all.some((j) => j.owner === 'bob' && j.id === 'qb1'), "the admin sees bob's job too");
      for (const id of ['q1', 'q2', 'q3']) await qa.cancel(id);
      await bob.cancel('qb1');
    });
  });

  describe('job-wait', () => {
    test('returns the final JobInfo with result on success', async () => {
      await alice.start('test', { id: 'w1', params: { steps: 2, 'step-ms': 5, result: { ok: true } } });
      const info = await alice.wait('w1', { timeoutMs: 5000 });
      assert.deepEqual(withoutTimes(info, { started: true, finished: true }), {
        id: 'w1',
        type: 'test',
        status: 'concluded',
        'current-progress': 2,
        'total-progress': 2,
        owner: 'alice',
        'auto-finalize': true,
        'auto-dismiss': true,
        speed: 0,
        result: { ok: true },
        params: { steps: 2, 'step-ms': 5, ready: false, result: { ok: true } },
      });
    });

    test('returns the final JobInfo with error on failure', async () => {
      await alice.start('test', { id: 'w2', params: { steps: 2, 'step-ms': 5, fail: 'disk on fire', result: 'never' } });
      const info = await alice.wait('w2', { timeoutMs: 5000 });
      assert.deepEqual(withoutTimes(info, { started: true, finished: true }), {
        id: 'w2',
        type: 'test',
        status: 'concluded',
        'current-progress': 1,
        'total-progress': 2,
        error: 'disk on fire',
        owner: 'alice',
        'auto-finalize': true,
        'auto-dismiss': true,
        speed: 0,
        params: { steps: 2, 'step-ms': 5, ready: false, fail: 'disk on fire', result: 'never' },
      });
    });

    test('returns for a job that concluded and was auto-dismissed before the wait was sent', async () => {
      await alice.start('test', { id: 'w3', params: { steps: 1, 'step-ms': 1, result: 'late' } });
      await events.status('w3', 'null');
      const info = await alice.wait('w3', { timeoutMs: 1000 });
      assert.equal(info.status, 'concluded');
      assert.equal(info.result, 'late');
      // A failed one too.
      await alice.start('test', { id: 'w3f', params: { steps: 1, 'step-ms': 1, fail: 'nope' } });
      await events.status('w3f', 'null');
      const failed = await alice.wait('w3f', { timeoutMs: 1000 });
      assert.equal(failed.status, 'concluded');
      assert.equal(failed.error, 'nope');
    });

    test('returns at once for a concluded job that is not dismissed', async () => {
      await alice.start('test', { id: 'w4', params: { steps: 1, 'step-ms': 1, result: 1 }, 'auto-dismiss': false });
      await events.status('w4', 'concluded');
      const info = await alice.wait('w4', { timeoutMs: 0 });
      assert.equal(info.status, 'concluded');
      assert.equal(info.result, 1);
      await alice.dismiss('w4');
    });

    test('several waiters of one job all get the same final JobInfo', async () => {
      await alice.start('test', { id: 'w5', params: { steps: 3, 'step-ms': 10, result: 'x' } });
      const infos = await Promise.all([alice.wait('w5'), alice.wait('w5', { timeoutMs: 5000 }), alice.wait('w5')]);
      assert.deepEqual(infos[1], infos[0]);
      assert.deepEqual(infos[2], infos[0]);
      assert.equal(infos[0]!.result, 'x');
    });

    test('timeout-ms: Timed out waiting for job; the job goes on', async () => {
      await alice.start('test', { id: 'w6', params: LONG });
      const started = Date.now();
      await rejectsWith(alice.wait('w6', { timeoutMs: 100 }), 408, "Timed out waiting for job 'w6'");
      assert.ok(Date.now() - started >= 90, 'waited about timeout-ms');
      assert.equal((await alice.query()).find((j) => j.id === 'w6')?.status, 'running');
      await alice.cancel('w6');
    });

    test("another owner's job is not found", async () => {
      await alice.start('test', { id: 'w7', params: LONG });
      await rejectsWith(bob.wait('w7', { timeoutMs: 100 }), 404, 'Job not found');
      await rejectsWith(bob.wait('w7', { owner: 'alice', timeoutMs: 100 }), 404, 'Job not found');
      await alice.cancel('w7');
    });
  });
});
