/**
 * Isolation by construction under nats-auth.conf: whatever reply subject bob names — on a
 * JetStream pull from his own pipe stream, on a JetStream publish, or on a command — the
 * answer comes back into bob's own account. The hostile probe's F2 (bob's bytes stored in
 * the job store, which then stopped the service's next start) and F3 (bob filling alice's
 * pipe stream, and his bytes kept in the event stream as alice's history) are reproduced
 * exactly and must land nowhere of alice's or the service's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createInbox } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager } from '@nats-io/jetstream';
import { storeNames } from '../../src/persist/names.js';
import { pipeStream, pipeSubjects } from '../../src/pipes/names.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { startAuthServer } from './auth-server.js';
import type { AuthServer } from './auth-server.js';

/** Every message `nc` receives on `subject`, raw. */
function listen(nc: NatsConnection, subject: string): { got: string[]; sub: Subscription } {
  const got: string[] = [];
  const sub = nc.subscribe(subject, { callback: (err, msg) => void (err ? undefined : got.push(`${msg.subject}: ${msg.string()}`)) });
  return { got, sub };
}

/**
 * The subjects `stream` holds messages on, among `subjects` (asked as the service, who alone
 * may). A message JetStream delivers keeps its own subject: bob's bytes pulled into another
 * stream are kept there under his pipe's subject, not the reply subject they were sent to.
 */
async function held(jsm: JetStreamManager, stream: string, subjects: string[]): Promise<string[]> {
  const state = (await jsm.streams.info(stream, { subjects_filter: '>' })).state;
  return Object.keys(state.subjects ?? {}).filter((s) => subjects.includes(s));
}

describe('no reply subject lets a user deliver into what is not its own', () => {
  let auth: AuthServer;
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let svc: NatsConnection;
  let jsm: JetStreamManager;
  let P: string;
  let consumers = 0;

  before(async () => {
    auth = await startAuthServer();
    P = auth.prefix;
    stack = await startStack({ server: auth.server, prefix: P, connection: { user: 'jobstate', pass: auth.passwords.jobstate } });
    alice = await stack.client('alice', auth.passwords.alice);
    bob = await stack.client('bob', auth.passwords.bob);
    svc = await auth.connectAs('jobstate', { inboxPrefix: '_INBOX' });
    jsm = await jetstreamManager(svc);
    // Both have pipe streams: each starts a job taking an upload (the service makes the stream).
    for (const user of [alice, bob]) {
      const id = await user.start('backup', { params: { source: 'pipe:input', target: 'up.txt' }, pipes: { inputs: [{}] } });
      await user.cancel(id);
    }
    // Bob's bytes, in his own pipe stream: he may write there.
    await jetstream(bob.nc).publish(pipeSubjects.data(P, 'bob', 'junk', 'in-0'), 'this is not json');
  });
  after(async () => {
    await svc?.close();
    await stack?.close();
    await auth?.stop();
  });

  const junk = (pipe = 'in-0') => pipeSubjects.data(P, 'bob', 'junk', pipe);

  /** Bob pulls his junk from his own stream with `reply` as the pull's reply subject. */
  async function pullInto(reply: string): Promise<void> {
    const stream = pipeStream(P, 'bob');
    const name = `c${++consumers}`;
    const config = { stream_name: stream, config: { name, filter_subject: pipeSubjects.data(P, 'bob', 'junk', 'in-0'), ack_policy: 'none', deliver_policy: 'all' } };
    const created = await bob.nc.request(`$JS.API.CONSUMER.CREATE.${stream}.${name}.${config.config.filter_subject}`, JSON.stringify(config), { timeout: 5000 });
    assert.equal(created.json<{ error?: unknown }>().error, undefined);
    bob.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`, JSON.stringify({ batch: 1 }), { reply });
    // A second pull, to bob's own inbox, is taken after the first: it gets the message if the
    // first went nowhere, or a status (408, none left) once it expires if the first took it.
    const inbox = createInbox('_INBOX_bob');
    const answer = bob.nc.subscribe(inbox, { max: 1 });
    bob.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`, JSON.stringify({ batch: 1, expires: 1_000_000_000 }), { reply: inbox });
    for await (const m of answer) {
      if (m.data.length > 0) assert.equal(m.string(), 'this is not json');
      else assert.equal(m.headers?.code, 408);
    }
  }

  /** Waits until every write already sent to `stream` is stored (a write of its own, acknowledged after them). */
  async function barrier(subject: string): Promise<void> {
    await jetstream(svc).publish(subject, 'barrier');
  }

  test("F2: bob's pull answered into the job store stores nothing there", async () => {
    const { bucket } = storeNames(P);
    await pullInto(`$KV.${bucket}.job.alice.zz`);
    await barrier(`$KV.${bucket}.barrier`);
    assert.deepEqual(await held(jsm, `KV_${bucket}`, [`$KV.${bucket}.job.alice.zz`, junk()]), [], "bob's bytes are in the job store");
  });

  test("F3: bob's pull answered into alice's input stores nothing in alice's pipe stream or the event stream", async () => {
    const fill = pipeSubjects.data(P, 'alice', 'fill', 'in-0');
    const spy = listen(alice.nc, pipeSubjects.read(P, 'alice', 'fill', 'in-0'));
    await pullInto(fill);
    await pullInto(pipeSubjects.read(P, 'alice', 'fill', 'in-0'));
    await barrier(pipeSubjects.data(P, 'alice', 'barrier', 'in-0'));
    assert.deepEqual(await held(jsm, pipeStream(P, 'alice'), [fill, junk()]), [], "bob's bytes are in alice's pipe stream");
    assert.deepEqual(await held(jsm, storeNames(P).stream, [fill, junk()]), [], "bob's bytes are in the event stream");
    await alice.nc.flush();
    assert.deepEqual(spy.got, []);
    spy.sub.unsubscribe();
  });

  test("bob's pulls, JetStream publishes and commands answered into alice's events: nothing reaches her or the event stream", async () => {
    const subject = `${P}.evt.alice.forged.JOB_STATUS_CHANGE`;
    const spy = listen(alice.nc, `${P}.evt.alice.>`);
    await alice.nc.flush();
    await pullInto(subject);
    // A JetStream publish's acknowledgement goes to the publisher's reply subject.
    bob.nc.publish(pipeSubjects.data(P, 'bob', 'junk', 'in-1'), 'more', { reply: subject });
    // And a command's reply.
    bob.nc.publish(`${P}.cmd.bob.query-jobs`, '{}', { reply: subject });
    await bob.query();
    await barrier(`${P}.evt.barrier.x.y`);
    await alice.nc.flush();
    assert.deepEqual(spy.got, [], 'alice received what bob sent her way');
    assert.deepEqual(await held(jsm, storeNames(P).stream, [subject, junk(), junk('in-1')]), [], "bob's bytes are in the event stream as alice's");
    spy.sub.unsubscribe();
  });
});
