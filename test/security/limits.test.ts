/**
 * The service's configurable limits: payload size, description length, params size and
 * live jobs per owner — each refused with a clear, QEMU-style error at one over the limit,
 * accepted at the limit, and read from the environment with sensible defaults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { loadSettings } from '../../src/settings.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { errorReply, rawRequest, rejectsWith } from '../service/helpers.js';

const LIMITS = { maxPayload: 4096, maxJobsPerOwner: 3, maxDescription: 16, maxParamsBytes: 256 };
const LONG = { steps: 100_000, 'step-ms': 20 };

describe('limits', () => {
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;

  before(async () => {
    stack = await startStack({ limits: LIMITS });
    [alice, bob] = await Promise.all([stack.client('alice'), stack.client('bob')]);
  });
  after(() => stack.close());

  const send = (command: string, payload: string, caller = 'alice') => rawRequest(alice.nc, stack.prefix, caller, command, payload);

  test('payload size: one byte over is refused before it is decoded, whatever the command', async () => {
    const over = 'x'.repeat(LIMITS.maxPayload + 1);
    for (const command of ['job-start', 'transaction', 'job-pause', 'query-jobs', 'job-wait', 'job-log']) {
      assert.deepEqual(await send(command, over), errorReply(400, 'Payload is too large (max 4096 bytes)'), command);
    }
    // Exactly at the limit, the payload is decoded as usual.
    const filler = JSON.stringify({ owner: 'alice', type: '' });
    const atLimit = JSON.stringify({ owner: 'alice', type: 'y'.repeat(LIMITS.maxPayload - filler.length) });
    assert.equal(Buffer.byteLength(atLimit), LIMITS.maxPayload);
    assert.equal((await send('query-jobs', atLimit)).body, JSON.stringify({ error: { class: 'GenericError', desc: "Parameter 'type' is invalid: Too big: expected string to have <=64 characters" } }));
    // Counted in bytes, not characters.
    const unicode = JSON.stringify({ x: 'é'.repeat(LIMITS.maxPayload / 2) });
    assert.deepEqual(await send('query-jobs', unicode), errorReply(400, 'Payload is too large (max 4096 bytes)'));
  });

  test("description: 'Parameter 'description' is too long', in job-start and in each action", async () => {
    await rejectsWith(alice.start('test', { description: 'd'.repeat(17), params: { steps: 0 } }), 400, "Parameter 'description' is too long (max 16 characters)");
    const id = await alice.start('test', { description: 'd'.repeat(16), params: { steps: 0 } });
    assert.equal((await alice.wait(id, { timeoutMs: 5000 })).description, 'd'.repeat(16));
    await rejectsWith(
      alice.transaction([{ type: 'test', id: 'tx-a', params: { steps: 0 } }, { type: 'test', id: 'tx-b', description: 'é'.repeat(17) }]),
      400,
      "Parameter 'actions[1].description' is too long (max 16 characters)",
    );
    assert.deepEqual(await alice.query(), [], 'nothing of the refused transaction started');
  });

  test("params: 'Parameter 'params' is too large', measured as JSON bytes", async () => {
    const result = (n: number) => ({ steps: 0, result: 'r'.repeat(n) });
    const frame = Buffer.byteLength(JSON.stringify(result(0)));
    await rejectsWith(alice.start('test', { params: result(LIMITS.maxParamsBytes - frame + 1) }), 400, "Parameter 'params' is too large (max 256 bytes)");
    const id = await alice.start('test', { params: result(LIMITS.maxParamsBytes - frame) });
    assert.equal((await alice.wait(id, { timeoutMs: 5000 })).status, 'concluded');
    await rejectsWith(
      alice.transaction([{ type: 'test', params: result(LIMITS.maxParamsBytes) }]),
      400,
      "Parameter 'actions[0].params' is too large (max 256 bytes)",
    );
    // A params error of the type itself still comes first: it names the field.
    await rejectsWith(alice.start('test', { params: { steps: 'many', result: 'r'.repeat(300) } }), 400, "Invalid parameter type for 'params.steps', expected: integer");
  });

  test("jobs per owner: 'Too many jobs for owner', per owner, freed by dismissal", async () => {
    const ids = [];
    for (let i = 0; i < LIMITS.maxJobsPerOwner; i++) ids.push(await alice.start('test', { id: `cap${i}`, params: LONG }));
    await rejectsWith(alice.start('test', { params: LONG }), 409, "Too many jobs for owner 'alice' (max 3)");
    // Another owner has a quota of its own.
    const bobs = await bob.start('test', { params: LONG });
    // A transaction that would cross the limit starts nothing.
    await alice.cancel('cap2');
    await alice.wait('cap2', { timeoutMs: 5000 });
    await rejectsWith(
      alice.transaction([{ type: 'test', id: 'tx1', params: LONG }, { type: 'test', id: 'tx2', params: LONG }]),
      409,
      "actions[1]: Too many jobs for owner 'alice' (max 3)",
    );
    assert.deepEqual((await alice.query()).map((j) => j.id).sort(), ['cap0', 'cap1']);
    // A concluded job that is not dismissed still counts; dismissing frees its place.
    await alice.start('test', { id: 'kept', 'auto-dismiss': false, params: { steps: 0 } });
    await alice.wait('kept', { timeoutMs: 5000 });
    await rejectsWith(alice.start('test', { params: LONG }), 409, "Too many jobs for owner 'alice' (max 3)");
    await alice.dismiss('kept');
    const next = await alice.start('test', { params: LONG });
    for (const id of ['cap0', 'cap1', next]) await alice.cancel(id);
    await bob.cancel(bobs);
  });
});

describe('limit settings', () => {
  test('defaults', () => {
    assert.deepEqual(loadSettings({}).limits, DEFAULT_LIMITS);
    assert.deepEqual(DEFAULT_LIMITS, {
      maxPayload: 1_048_576,
      maxJobsPerOwner: 1000,
      maxDescription: 1024,
      maxParamsBytes: 65_536,
      maxPayloadKeys: 10_000,
      maxPayloadItems: 10_000,
    });
  });

  test('read from JOBS_MAX_PAYLOAD, JOBS_MAX_JOBS_PER_OWNER, JOBS_MAX_DESCRIPTION, JOBS_MAX_PARAMS_BYTES, JOBS_MAX_PAYLOAD_KEYS, JOBS_MAX_PAYLOAD_ITEMS', () => {
    const env = {
      JOBS_MAX_PAYLOAD: '65536',
      JOBS_MAX_JOBS_PER_OWNER: '10',
      JOBS_MAX_DESCRIPTION: '80',
      JOBS_MAX_PARAMS_BYTES: '4096',
      JOBS_MAX_PAYLOAD_KEYS: '500',
      JOBS_MAX_PAYLOAD_ITEMS: '600',
    };
    assert.deepEqual(loadSettings(env).limits, {
      maxPayload: 65_536,
      maxJobsPerOwner: 10,
      maxDescription: 80,
      maxParamsBytes: 4096,
      maxPayloadKeys: 500,
      maxPayloadItems: 600,
    });
    // Empty counts as unset.
    assert.equal(loadSettings({ JOBS_MAX_PAYLOAD: '' }).limits.maxPayload, DEFAULT_LIMITS.maxPayload);
  });

  test('a bad value names the variable', () => {
    for (const value of ['0', '-1', '1.5', 'lots', '1e6', ' 10', '0x10']) {
      for (const name of ['JOBS_MAX_PAYLOAD', 'JOBS_MAX_JOBS_PER_OWNER', 'JOBS_MAX_DESCRIPTION', 'JOBS_MAX_PARAMS_BYTES', 'JOBS_MAX_PAYLOAD_KEYS', 'JOBS_MAX_PAYLOAD_ITEMS']) {
        assert.throws(() => loadSettings({ [name]: value }), { message: `Invalid setting ${name}: a positive whole number` }, `${name}=${value}`);
      }
    }
  });

  test('NATS credentials and the embedded config', () => {
    const s = loadSettings({ JOBS_NATS_CONFIG: 'nats-auth.conf', NATS_USER: 'jobstate', NATS_PASSWORD: 'pw' });
    assert.deepEqual([s.natsConfig, s.natsUser, s.natsPassword], ['nats-auth.conf', 'jobstate', 'pw']);
    assert.deepEqual([loadSettings({}).natsConfig, loadSettings({}).natsUser], [undefined, undefined]);
    assert.throws(() => loadSettings({ NATS_URL: 'nats://127.0.0.1:1', JOBS_NATS_CONFIG: 'nats-auth.conf' }), /^Error: Invalid setting JOBS_NATS_CONFIG: /);
    assert.throws(() => loadSettings({ NATS_PASSWORD: 'pw' }), { message: 'Invalid setting NATS_PASSWORD: set NATS_USER too' });
  });
});

describe('jobs per owner and the lock queue', () => {
  /** One job at a time per lock; one of each owner's may wait, further starts get that one back. */
  const serial = defineJob('serial', { params: z.strictObject({}), lock: 'S', lockQueueSize: 1 }, async (job) => {
    await job.sleep(60_000);
  });
  let stack: Stack;
  before(async () => {
    stack = await startStack({ limits: { ...LIMITS, maxJobsPerOwner: 2 }, types: (dataDir) => builtinTypes(dataDir).register(serial) });
  });
  after(() => stack.close());

  test('at the limit, a start answered with the already queued job is not refused: it adds no job', async () => {
    const alice = await stack.client('alice');
    const running = await alice.start('serial');
    const queued = await alice.start('serial');
    assert.notEqual(queued, running);
    assert.equal(await alice.start('serial'), queued);
    await rejectsWith(alice.start('test', { params: LONG }), 409, "Too many jobs for owner 'alice' (max 2)");
    for (const id of [queued, running]) await alice.cancel(id);
  });
});
