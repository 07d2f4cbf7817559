/**
 * Every error text of protocol.md's table over the wire, with its code: the reply body is
 * exactly `{"error":{"class":"GenericError","desc":...}}` and the headers
 * `Nats-Service-Error` / `Nats-Service-Error-Code` are set. Refusals change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder, errorReply, rawRequest, rejectsWith, sequence, sleep } from './helpers.js';

const LONG = { steps: 1000, 'step-ms': 20 };
const READY = { steps: 1, 'step-ms': 1, ready: true };

/**
 * A mirror-like job: after its ready phase ends (job-complete or a soft cancel) it takes a
 * while for its final sync, so it is still in ready when the next command comes.
 */
const finalSync = defineJob('final-sync', { params: z.strictObject({ 'sync-ms': z.number().int().nonnegative() }) }, async (job) => {
  job.progress(1, 1);
  await job.ready();
  await new Promise((resolve) => setTimeout(resolve, job.params['sync-ms']));
  return 'synced';
});

describe('error replies over a real nats-server', () => {
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let admin: JobsClient;
  let events: Recorder;

  /** Send a raw command as `caller` and check the whole error reply. */
  async function expectError(command: string, args: unknown, code: number, desc: string, caller = 'alice'): Promise<void> {
    const payload = typeof args === 'string' ? args : JSON.stringify(args);
    assert.deepEqual(await rawRequest(alice.nc, stack.prefix, caller, command, payload), errorReply(code, desc));
  }

  const statusOf = async (id: string, client = alice) => (await client.query()).find((j) => j.id === id)?.status;

  before(async () => {
    stack = await startStack({ types: (dataDir) => builtinTypes(dataDir).register(finalSync) });
    [alice, bob, admin] = await Promise.all([stack.client('alice'), stack.client('bob'), stack.client('admin')]);
    events = new Recorder(alice.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });
  after(async () => {
    events.close();
    await stack.close();
  });

  describe('Job not found', () => {
    test('every verb and job-wait on a job that does not exist: 404', async () => {
      for (const command of ['job-pause', 'job-resume', 'job-cancel', 'job-complete', 'job-finalize', 'job-dismiss']) {
        await expectError(command, { id: 'ghost' }, 404, 'Job not found');
      }
      await expectError('job-set-speed', { id: 'ghost', speed: 1 }, 404, 'Job not found');
      await expectError('job-wait', { id: 'ghost' }, 404, 'Job not found');
      // An id that could never exist is simply not found (only job-start checks the pattern).
      await expectError('job-pause', { id: '9 not an id' }, 404, 'Job not found');
    });

    test("alice addressing bob's job gets exactly the reply for a job that does not exist", async () => {
      await bob.start('test', { id: 'bobs', params: READY });
      const cases: Array<[string, Record<string, unknown>]> = [
        ['job-pause', {}],
        ['job-resume', {}],
        ['job-cancel', {}],
        ['job-cancel', { force: false }],
        ['job-complete', {}],
        ['job-finalize', {}],
        ['job-dismiss', {}],
        ['job-set-speed', { speed: 1 }],
        ['job-wait', { 'timeout-ms': 10 }],
      ];
      for (const [command, extra] of cases) {
        const nonexistent = await rawRequest(alice.nc, stack.prefix, 'alice', command, JSON.stringify({ id: 'nobody', ...extra }));
        for (const args of [{ id: 'bobs', ...extra }, { id: 'bobs', owner: 'bob', ...extra }]) {
          const reply = await rawRequest(alice.nc, stack.prefix, 'alice', command, JSON.stringify(args));
          assert.deepEqual(reply, nonexistent, `${command} ${JSON.stringify(args)}`);
        }
        assert.deepEqual(nonexistent, errorReply(404, 'Job not found'));
      }
      // Nothing happened to bob's job.
      assert.equal(await statusOf('bobs', bob), 'ready');
      // An admin may act on it with owner.
      assert.deepEqual(await admin.cancel('bobs', { owner: 'bob' }), {});
      assert.deepEqual((await admin.wait('bobs', { owner: 'bob', timeoutMs: 5000 })).error, 'Operation canceled');
    });
  });

  describe('verb refusals', () => {
    test("the verb table: Job '<id>' in state '<status>' cannot accept command verb '<verb>' (409)", async () => {
      await alice.start('test', { id: 'vt1', params: LONG });
      await expectError('job-complete', { id: 'vt1' }, 409, "Job 'vt1' in state 'running' cannot accept command verb 'complete'");
      await expectError('job-finalize', { id: 'vt1' }, 409, "Job 'vt1' in state 'running' cannot accept command verb 'finalize'");
      await expectError('job-dismiss', { id: 'vt1' }, 409, "Job 'vt1' in state 'running' cannot accept command verb 'dismiss'");
      assert.equal(await statusOf('vt1'), 'running');
      await alice.pause('vt1');
      await expectError('job-finalize', { id: 'vt1' }, 409, "Job 'vt1' in state 'paused' cannot accept command verb 'finalize'");
      await alice.cancel('vt1');

      await alice.start('test', { id: 'vt2', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false, 'auto-dismiss': false });
      await events.event('vt2', 'JOB_PENDING');
      await expectError('job-pause', { id: 'vt2' }, 409, "Job 'vt2' in state 'pending' cannot accept command verb 'pause'");
      await expectError('job-set-speed', { id: 'vt2', speed: 1 }, 409, "Job 'vt2' in state 'pending' cannot accept command verb 'set-speed'");
      await expectError('job-complete', { id: 'vt2' }, 409, "Job 'vt2' in state 'pending' cannot accept command verb 'complete'");
      await expectError('job-dismiss', { id: 'vt2' }, 409, "Job 'vt2' in state 'pending' cannot accept command verb 'dismiss'");
      assert.equal(await statusOf('vt2'), 'pending');
      await alice.finalize('vt2');
      await expectError('job-cancel', { id: 'vt2' }, 409, "Job 'vt2' in state 'concluded' cannot accept command verb 'cancel'");
      await expectError('job-pause', { id: 'vt2' }, 409, "Job 'vt2' in state 'concluded' cannot accept command verb 'pause'");
      await expectError('job-finalize', { id: 'vt2' }, 409, "Job 'vt2' in state 'concluded' cannot accept command verb 'finalize'");
      await expectError('job-set-speed', { id: 'vt2', speed: 0 }, 409, "Job 'vt2' in state 'concluded' cannot accept command verb 'set-speed'");
      assert.equal(await statusOf('vt2'), 'concluded');
      // Nothing after the refused verbs: the job is exactly where it was.
      assert.deepEqual(sequence(events.events, 'vt2'), ['created', 'running', 'waiting', 'pending', '[JOB_PENDING]', '[JOB_COMPLETED]', 'concluded']);
      await alice.dismiss('vt2');
    });

    test('Job is already paused (409), in paused and in standby', async () => {
      await alice.start('test', { id: 'ap1', params: LONG });
      await alice.pause('ap1');
      await expectError('job-pause', { id: 'ap1' }, 409, 'Job is already paused');
      assert.equal(await statusOf('ap1'), 'paused');
      // One resume is enough: the refused pause did not add to the pause count.
      await alice.resume('ap1');
      assert.equal(await statusOf('ap1'), 'running');
      await alice.cancel('ap1');

      await alice.start('test', { id: 'ap2', params: READY });
      await events.event('ap2', 'JOB_READY');
      await alice.pause('ap2');
      await expectError('job-pause', { id: 'ap2' }, 409, 'Job is already paused');
      assert.equal(await statusOf('ap2'), 'standby');
      await alice.cancel('ap2');
    });

    test("Can't resume a job that was not paused (409), before the verb table", async () => {
      await alice.start('test', { id: 'rs1', params: LONG });
      await expectError('job-resume', { id: 'rs1' }, 409, "Can't resume a job that was not paused");
      await alice.cancel('rs1');
      await alice.start('test', { id: 'rs2', params: READY });
      await events.event('rs2', 'JOB_READY');
      await expectError('job-resume', { id: 'rs2' }, 409, "Can't resume a job that was not paused");
      await alice.cancel('rs2');
      // In pending and concluded, whose verb tables refuse resume, the text is the same.
      await alice.start('test', { id: 'rs3', params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false, 'auto-dismiss': false });
      await events.event('rs3', 'JOB_PENDING');
      await expectError('job-resume', { id: 'rs3' }, 409, "Can't resume a job that was not paused");
      await alice.finalize('rs3');
      await expectError('job-resume', { id: 'rs3' }, 409, "Can't resume a job that was not paused");
      await alice.dismiss('rs3');
    });

    test("The active job '<id>' cannot be completed: complete after a soft cancel of a ready job (409)", async () => {
      await alice.start('final-sync', { id: 'nc1', params: { 'sync-ms': 300 } });
      await events.event('nc1', 'JOB_READY');
      await alice.cancel('nc1', { force: false });
      assert.equal(await statusOf('nc1'), 'ready');
      await expectError('job-complete', { id: 'nc1' }, 409, "The active job 'nc1' cannot be completed");
      const info = await alice.wait('nc1', { timeoutMs: 5000 });
      assert.equal(info.error, undefined);
      assert.equal(info.result, 'synced');
    });

    test("The active job '<id>' cannot be completed: the test type, complete sent right behind a soft cancel", async () => {
      await alice.start('test', { id: 'nc2', params: { ...READY, result: 'r' } });
      await events.event('nc2', 'JOB_READY');
      // Both commands leave in one flush and are handled one after the other.
      const [cancel, complete] = await Promise.allSettled([alice.cancel('nc2', { force: false }), alice.complete('nc2')]);
      assert.deepEqual(cancel, { status: 'fulfilled', value: {} });
      assert.equal(complete.status, 'rejected');
      await rejectsWith(Promise.reject(complete.status === 'rejected' ? complete.reason : undefined), 409, "The active job 'nc2' cannot be completed");
      const info = await alice.wait('nc2', { timeoutMs: 5000 });
      assert.equal(info.error, undefined);
    });

    test("The job '<id>' is currently paused: soft cancel of a user-paused job (409)", async () => {
      await alice.start('test', { id: 'cp1', params: LONG });
      await alice.pause('cp1');
      await expectError('job-cancel', { id: 'cp1', force: false }, 409, "The job 'cp1' is currently paused");
      assert.equal(await statusOf('cp1'), 'paused');
      // A forced cancel still goes through.
      await alice.cancel('cp1', { force: true });
      assert.equal((await alice.wait('cp1', { timeoutMs: 5000 })).error, 'Operation canceled');

      await alice.start('test', { id: 'cp2', params: READY });
      await events.event('cp2', 'JOB_READY');
      await alice.pause('cp2');
      await expectError('job-cancel', { id: 'cp2', force: false }, 409, "The job 'cp2' is currently paused");
      assert.equal(await statusOf('cp2'), 'standby');
      await alice.cancel('cp2');
    });
  });

  describe('ids', () => {
    test("Invalid job ID '<id>' (400)", async () => {
      for (const id of ['1abc', '-x', 'a b', 'a.b', 'é', '', 'a'.repeat(129)]) {
        await expectError('job-start', { type: 'test', id }, 400, `Invalid job ID '${id.length > 128 ? `${id.slice(0, 128)}…` : id}'`);
      }
      // The longest valid id is fine.
      const longest = `a${'b'.repeat(127)}`;
      assert.equal(await alice.start('test', { id: longest, params: { steps: 0 } }), longest);
    });

    test("Job ID '<id>' already in use (409): live, concluded but not dismissed; free after dismiss", async () => {
      await alice.start('test', { id: 'used1', params: LONG });
      await expectError('job-start', { type: 'test', id: 'used1' }, 409, "Job ID 'used1' already in use");
      await alice.cancel('used1');

      await alice.start('test', { id: 'used2', params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false });
      await events.status('used2', 'concluded');
      await expectError('job-start', { type: 'test', id: 'used2' }, 409, "Job ID 'used2' already in use");
      await alice.dismiss('used2');
      assert.equal(await alice.start('test', { id: 'used2', params: { steps: 1, 'step-ms': 1, result: 'again' } }), 'used2');
      assert.equal((await alice.wait('used2', { timeoutMs: 5000 })).result, 'again');
    });

    test('an auto-dismissed job frees its id at once', async () => {
      await alice.start('test', { id: 'used3', params: { steps: 1, 'step-ms': 1 } });
      await events.status('used3', 'null');
      assert.equal(await alice.start('test', { id: 'used3', params: { steps: 1, 'step-ms': 1 } }), 'used3');
    });
  });

  describe('speed', () => {
    test("Parameter 'speed' expects a non-negative value: job-start and job-set-speed (400)", async () => {
      await expectError('job-start', { type: 'test', id: 'neg1', speed: -1 }, 400, "Parameter 'speed' expects a non-negative value");
      await rejectsWith(alice.wait('neg1', { timeoutMs: 0 }), 404, 'Job not found');
      await alice.start('test', { id: 'neg2', params: LONG, speed: 50 });
      await expectError('job-set-speed', { id: 'neg2', speed: -1 }, 400, "Parameter 'speed' expects a non-negative value");
      assert.equal((await alice.query()).find((j) => j.id === 'neg2')?.speed, 50);
      await alice.cancel('neg2');
    });
  });

  describe('arguments', () => {
    test("Invalid parameter 'type': unknown job type '<type>' (400)", async () => {
      // QEMU's text, then every type the service runs (the built-ins and this test's).
      const known = [...builtinTypes('/nonexistent').names(), 'final-sync'].join(', ');
      await expectError('job-start', { type: 'nope', id: 'ut1' }, 400, `Invalid parameter 'type': unknown job type 'nope' (known: ${known})`);
      await rejectsWith(alice.wait('ut1', { timeoutMs: 0 }), 404, 'Job not found');
    });

    test("Parameter '<name>' is missing (400)", async () => {
      await expectError('job-start', {}, 400, "Parameter 'type' is missing");
      await expectError('job-start', '', 400, "Parameter 'type' is missing");
      await expectError('job-pause', {}, 400, "Parameter 'id' is missing");
      await expectError('job-wait', { 'timeout-ms': 5 }, 400, "Parameter 'id' is missing");
      await expectError('job-set-speed', { id: 'x' }, 400, "Parameter 'speed' is missing");
      await expectError('transaction', {}, 400, "Parameter 'actions' is missing");
      await expectError('transaction', { actions: [{ id: 'm1' }] }, 400, "Parameter 'actions[0].type' is missing");
    });

    test("Invalid parameter type for '<name>', expected: <type> (400)", async () => {
      await expectError('job-pause', { id: 5 }, 400, "Invalid parameter type for 'id', expected: string");
      await expectError('job-start', { type: 'test', 'auto-finalize': 'yes' }, 400, "Invalid parameter type for 'auto-finalize', expected: boolean");
      await expectError('job-cancel', { id: 'x', force: 'no' }, 400, "Invalid parameter type for 'force', expected: boolean");
      await expectError('job-set-speed', { id: 'x', speed: 'fast' }, 400, "Invalid parameter type for 'speed', expected: integer");
      await expectError('job-start', { type: 'test', params: [] }, 400, "Invalid parameter type for 'params', expected: object");
      await expectError('job-start', { type: 'test', params: { steps: 'x' } }, 400, "Invalid parameter type for 'params.steps', expected: integer");
      await expectError('transaction', { actions: {} }, 400, "Invalid parameter type for 'actions', expected: array");
      await expectError('query-jobs', { owner: 1 }, 400, "Invalid parameter type for 'owner', expected: string");
      await expectError('job-wait', { id: 'x', 'timeout-ms': '10' }, 400, "Invalid parameter type for 'timeout-ms', expected: integer");
      await expectError('job-start', { type: 'test', params: { fail: 1 } }, 400, "Invalid parameter type for 'params.fail', expected: string");
    });

    test("Parameter '<name>' is unexpected (400)", async () => {
      await expectError('job-pause', { id: 'x', bogus: 1 }, 400, "Parameter 'bogus' is unexpected");
      await expectError('job-start', { type: 'test', colour: 'red' }, 400, "Parameter 'colour' is unexpected");
      await expectError('job-start', { type: 'test', params: { stepz: 3 } }, 400, "Parameter 'params.stepz' is unexpected");
      await expectError('query-jobs', { mine: true }, 400, "Parameter 'mine' is unexpected");
      await expectError('transaction', { actions: [{ type: 'test' }], properties: { mode: 'grouped' } }, 400, "Parameter 'properties.mode' is unexpected");
    });

    test('a malformed payload gets an error reply (400), never silence', async () => {
      await expectError('job-start', 'not json', 400, 'Invalid JSON payload: expected a JSON object');
      await expectError('job-start', '{"type":', 400, 'Invalid JSON payload: expected a JSON object');
      for (const payload of ['[]', '42', 'null', '"text"']) {
        await expectError('query-jobs', payload, 400, 'Invalid payload: expected a JSON object');
      }
      // The service is still there.
      assert.ok(Array.isArray(await alice.query()));
    });

    test('a caller that is not a valid account name gets an error reply (400)', async () => {
      await expectError('query-jobs', {}, 400, 'Invalid caller in the command subject', 'bad$name');
    });
  });

  describe('job-wait', () => {
    test("Timed out waiting for job '<id>'", async () => {
      await alice.start('test', { id: 'to1', params: LONG });
      await expectError('job-wait', { id: 'to1', 'timeout-ms': 50 }, 408, "Timed out waiting for job 'to1'");
      await expectError('job-wait', { id: 'to1', 'timeout-ms': 0 }, 408, "Timed out waiting for job 'to1'");
      assert.equal(await statusOf('to1'), 'running');
      await alice.cancel('to1');
      // Once it is over the same wait answers with the job.
      assert.equal((await alice.wait('to1', { timeoutMs: 1000 })).error, 'Operation canceled');
    });
  });

  test('the error replies leave the service answering', async () => {
    await sleep(0);
    assert.deepEqual(await rawRequest(alice.nc, stack.prefix, 'alice', 'query-jobs', '{"status":"paused"}'), {
      body: '{"return":[]}',
      headers: {},
    });
  });
});
