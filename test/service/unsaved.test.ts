/**
 * What a command answers when the state it changed cannot be saved (issue #12, F1): never
 * `Internal error` for a change that happened. JetStream refusing writes for a while makes the reply a 503 saying that the change took effect but is not saved
 * yet; once JetStream takes writes again, saving resumes by itself. A job whose record
 * another writer changed can no longer be saved: the command that found out is answered
 * with a 503 saying so, and later commands on the job are refused before they change it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { storeNames } from '../../src/persist/names.js';
import { JobsError } from '../../src/sdk/index.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { until } from '../durability/helpers.js';

const LONG = { steps: 100_000, 'step-ms': 50 };

describe('commands whose change cannot be saved', () => {
  let stack: Stack;
  let alice: JobsClient;
  let kv: KV;

  before(async () => {
    stack = await startStack({ persistence: { saveTimeoutMs: 2000 } });
    alice = await stack.client('alice');
    kv = await new Kvm(stack.nc).open(storeNames(stack.prefix).bucket);
  });
  after(() => stack.close());

  const snapshotValue = async (id: string) => (await kv.get(`job.alice.${id}`))?.json<{ snapshot: { value: unknown } }>().snapshot.value;

  test('JetStream refusing writes (records larger than it takes): 503 "not saved yet"; saved once it takes them again', async () => {
    await alice.start('test', { id: 'full', params: LONG });
    const jsm = await jetstreamManager(stack.nc);
    const name = `KV_${storeNames(stack.prefix).bucket}`;
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, max_msg_size: 16 });
    try {
      const err = await alice.pause('full').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof JobsError, `an error reply, got ${String(err)}`);
      assert.equal(err.code, 503);
      assert.match(err.message, /^Job 'full' was changed, but its state is not saved yet/);
      assert.equal((await alice.query()).find((j) => j.id === 'full')?.status, 'paused', 'the change took effect');
    } finally {
      await jsm.streams.update(name, info.config);
    }
    await until('the paused job to be saved', async () => ((await snapshotValue('full')) === 'paused' ? true : undefined));
    await alice.resume('full');
    assert.equal(await snapshotValue('full'), 'running');
  });

  test('a record another writer changed: 503 naming it; later commands refused before they change the job', async () => {
    await alice.start('test', { id: 'other', params: LONG });
    await kv.put('job.alice.other', JSON.stringify({ theirs: true }));
    const err = await alice.pause('other').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof JobsError, `an error reply, got ${String(err)}`);
    assert.equal(err.code, 503);
    assert.match(err.message, /^Job 'other' was changed, but its state can no longer be saved: another writer changed its record/);
    const again = await alice.resume('other').then(() => undefined, (e: unknown) => e);
    assert.ok(again instanceof JobsError);
    assert.equal(again.code, 503);
    assert.match(again.message, /^Job 'other' cannot be changed: its state can no longer be saved/);
    assert.equal((await alice.query()).find((j) => j.id === 'other')?.status, 'paused', 'the refused resume changed nothing');
    assert.deepEqual((await kv.get('job.alice.other'))?.json(), { theirs: true }, 'the other writer\'s record is left alone');
  });
});
