/**
 * The service answers only into inboxes (docs/protocol.md, Replies): a command whose reply
 * subject is not `_INBOX.…`, `_INBOX_<name>.…` or a server-made `_R_.…` is neither run nor
 * answered. Without authentication (the development default), where any client may name any
 * reply subject, a command must not become a way to make the service publish into the job
 * store or onto another owner's event subjects.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { storeNames } from '../../src/persist/names.js';
import { isInboxReply } from '../../src/protocol/subjects.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

describe('replies go only to inboxes', () => {
  let stack: Stack;
  let raw: NatsConnection;
  let alice: JobsClient;
  let P: string;

  before(async () => {
    stack = await startStack();
    P = stack.prefix;
    raw = await connect({ servers: stack.server.url });
    alice = await stack.client('alice');
  });
  after(async () => {
    await raw?.close();
    await stack?.close();
  });

  test('which reply subjects are inboxes', () => {
    for (const ok of ['_INBOX.abc.def', '_INBOX_alice.abc', '_INBOX_a-b_c.x.y', '_R_.abc.def']) assert.equal(isInboxReply(ok), true, ok);
    for (const bad of ['$KV.jobs_store.job.x', 'jobs.evt.alice.j.JOB_STATUS_CHANGE', '_INBOX', '_INBOX.', '_INBOXalice.x', '_INBOX_.x', '_R_', '_R_.', 'x._INBOX.y', '_INBOX_a.b.c.*', '_INBOX.>', '']) {
      assert.equal(isInboxReply(bad), false, bad);
    }
  });

  test('a command answered into the job store or an event subject is not run, and nothing arrives there', async () => {
    const { bucket } = storeNames(P);
    const targets = [`$KV.${bucket}.job.x`, `${P}.evt.alice.j.JOB_STATUS_CHANGE`];
    const got: string[] = [];
    const spy = raw.subscribe(`${P}.evt.>`, { callback: (_e, m) => void got.push(`${m.subject}: ${m.string()}`) });
    await raw.flush();
    for (const reply of targets) {
      raw.publish(`${P}.cmd.alice.query-jobs`, '{}', { reply });
      raw.publish(`${P}.cmd.alice.job-start`, JSON.stringify({ type: 'test', id: `forged-${got.length}${reply.length}`, params: { steps: 1, 'step-ms': 1 } }), { reply });
    }
    await raw.flush();
    // The same commands with an inbox are answered (and the service has taken the ones before).
    assert.deepEqual(await alice.query(), []);
    await raw.flush();
    assert.deepEqual(got, [], 'the service answered into an event subject');
    const kv = await (await jetstreamManager(stack.nc)).streams.info(`KV_${bucket}`, { subjects_filter: '>' }).catch(() => undefined);
    assert.deepEqual(Object.keys(kv?.state.subjects ?? {}).filter((s) => s.startsWith(`$KV.${bucket}.job.x`)), []);
    spy.unsubscribe();
  });
});
