/**
 * The service's own lifecycle: it rides out a nats-server restart (same port, same store)
 * with its subscriptions and jobs, and a clean shutdown answers what is in flight and then
 * takes no more commands. The tests run in order: the last one closes the service.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobsClient, JobsError } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder, sequence, sleep } from './helpers.js';

/** `promise`, or a failure after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('service lifecycle over a real nats-server', () => {
  let stack: Stack;
  let nc: NatsConnection;
  let alice: JobsClient;
  let events: Recorder;

  before(async () => {
    stack = await startStack();
    // A client that reconnects quickly, as the service's own connection does.
    nc = await connect({ servers: stack.server.url, maxReconnectAttempts: -1, reconnectTimeWait: 50, inboxPrefix: '_INBOX_alice' });
    alice = new JobsClient(nc, { user: 'alice', prefix: stack.prefix, timeoutMs: 2000 });
    events = new Recorder(nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });
  after(async () => {
    events.close();
    await nc.drain().catch(() => undefined);
    await stack.close();
  });

  /** Retry a command until the service answers it again. */
  async function untilAnswered<T>(command: () => Promise<T>, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await command();
      } catch (err) {
        if (err instanceof JobsError || Date.now() > deadline) throw err;
        await sleep(50);
      }
    }
  }

  test('a nats-server restart: the service reconnects, keeps its subscriptions and its jobs', async () => {
    await alice.start('test', { id: 'rs-ready', params: { steps: 1, 'step-ms': 1, ready: true, result: 'survived' } });
    await alice.start('test', { id: 'rs-run', params: { steps: 20, 'step-ms': 25, result: 'ran through' } });
    await events.event('rs-ready', 'JOB_READY');

    await stack.server.restart();

    // A command after the restart is answered.
    const jobs = await untilAnswered(() => alice.query({ owner: 'alice' }), 10_000);
    const ready = jobs.find((j) => j.id === 'rs-ready');
    assert.equal(ready?.status, 'ready');
    // The job started before the restart can still be waited for, and driven.
    const run = await alice.wait('rs-run', { timeoutMs: 5000 });
    assert.equal(run.result, 'ran through');
    const waited = alice.wait('rs-ready', { timeoutMs: 5000 });
    assert.deepEqual(await alice.complete('rs-ready'), {});
    assert.equal((await waited).result, 'survived');
    // Its events after the restart were published and received.
    await events.status('rs-ready', 'null');
    assert.deepEqual(sequence(events.events, 'rs-ready'), [
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
    // New jobs work as before.
    await alice.start('test', { id: 'rs-new', params: { steps: 2, 'step-ms': 1, result: 'new' } });
    assert.equal((await alice.wait('rs-new', { timeoutMs: 5000 })).result, 'new');
    await events.status('rs-new', 'null');
    assert.deepEqual(sequence(events.events, 'rs-new'), ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('a clean shutdown answers the job-waits in flight, then takes no more commands', async () => {
    await alice.start('test', { id: 'sd-short', params: { steps: 5, 'step-ms': 20, result: 'short' } });
    await alice.start('test', { id: 'sd-ready', params: { steps: 1, 'step-ms': 1, ready: true } });
    await events.event('sd-ready', 'JOB_READY');
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ value }),
        (err: unknown) => ({ err }),
      );
    const short = outcome(alice.wait('sd-short'));
    const never = outcome(alice.wait('sd-ready'));
    await nc.flush();
    await sleep(20); // the waits have reached the service

    const closing = stack.service.close();
    // The wait for a job that would never end is answered with an error reply, not silence.
    const a = await within(never, 5000, 'job-wait of a ready job during shutdown');
    assert.ok('err' in a && a.err instanceof JobsError, `an error reply: ${JSON.stringify(a)}`);
    assert.deepEqual({ code: a.err.code, message: a.err.message }, { code: 503, message: 'The service is shutting down' });
    // The other one gets its job's result or an error reply.
    const b = await within(short, 5000, 'job-wait of a short job during shutdown');
    if ('value' in b) assert.equal((b.value as { result?: unknown }).result, 'short');
    else assert.ok(b.err instanceof JobsError, `an error reply: ${String(b.err)}`);
    await within(closing, 5000, 'service.close()');

    // Afterwards nobody answers commands.
    await assert.rejects(alice.request('query-jobs', {}, 500), (err: unknown) => {
      assert.ok(!(err instanceof JobsError), `no reply at all, got ${String(err)}`);
      const text = `${(err as Error).message} ${String((err as Error).cause ?? '')}`;
      assert.match(text, /no responders|timeout/i);
      return true;
    });
    // close() is safe to call twice.
    await within(stack.service.close(), 1000, 'second service.close()');
  });
});
