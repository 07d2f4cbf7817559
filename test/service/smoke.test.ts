import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobsError } from '../../src/sdk/index.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

describe('the service over a real nats-server', () => {
  let stack: Stack;
  let alice: JobsClient;
  before(async () => {
    stack = await startStack();
    alice = await stack.client('alice');
  });
  after(() => stack.close());

  test('a test job runs to the end and job-wait returns its result', async () => {
    const events = alice.events({ id: 'smoke1', event: 'JOB_STATUS_CHANGE' });
    await events.ready;
    const id = await alice.start('test', { id: 'smoke1', params: { steps: 2, 'step-ms': 5, result: { ok: 1 } } });
    assert.equal(id, 'smoke1');
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.status, 'concluded');
    assert.deepEqual(info.result, { ok: 1 });
    const statuses: string[] = [];
    for await (const e of events) {
      statuses.push(String(e.data.status));
      if (e.data.status === 'null') break;
    }
    assert.deepEqual(statuses, ['created', 'running', 'waiting', 'pending', 'concluded', 'null']);
  });

  test('an unknown job is not found, with the service error headers', async () => {
    await assert.rejects(alice.pause('nope'), (err: JobsError) => err.code === 404 && err.message === 'Job not found');
  });
});
