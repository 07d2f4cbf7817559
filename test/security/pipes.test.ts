/**
 * Pipes under nats-auth.conf: alice uploads to and downloads from her own jobs with only the
 * rights the file gives her, and the broker keeps bob out of her pipe data — he can neither
 * read it (subjects, stream, consumers) nor write into it — while his own download of her
 * job's id finds nothing (`Job not found`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PermissionViolationError } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { JobsClient } from '../../src/sdk/index.js';
import { pipeStream, pipeSubjects } from '../../src/pipes/names.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { startAuthServer } from './auth-server.js';
import type { AuthServer } from './auth-server.js';

/** Fails unless the broker refuses `subject` to `nc` for publishing. */
async function publishRefused(nc: NatsConnection, subject: string, payload = '{}'): Promise<void> {
  await assert.rejects(nc.request(subject, payload, { timeout: 2000 }), (err: Error) => {
    assert.ok(err.cause instanceof PermissionViolationError, `expected a permissions violation on ${subject}, got ${err.name}: ${err.message}`);
    assert.equal(err.cause.operation, 'publish');
    return true;
  });
}

describe('pipes under nats-auth.conf', () => {
  let auth: AuthServer;
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let P: string;

  before(async () => {
    auth = await startAuthServer();
    P = auth.prefix;
    stack = await startStack({ server: auth.server, prefix: P, connection: { user: 'jobstate', pass: auth.passwords.jobstate } });
    alice = await stack.client('alice', auth.passwords.alice);
    bob = await stack.client('bob', auth.passwords.bob);
  });
  after(async () => {
    await stack?.close();
    await auth?.stop();
  });

  test('alice uploads and downloads with her own rights; bob can neither read nor write her pipes', async () => {
    mkdirSync(join(stack.dataDir, 'alice'), { recursive: true });
    writeFileSync(join(stack.dataDir, 'alice', 'secret.txt'), 'alice only\n');
    const id = await alice.start('backup', { id: 'dl', params: { source: 'secret.txt', target: 'pipe:output' } });
    assert.equal((await alice.wait(id)).error, undefined);

    const up = await alice.start('backup', { id: 'up', params: { source: 'pipe:input', target: 'up.txt' }, pipes: { inputs: [{}] } });
    await alice.upload(up, 0, [Buffer.from('uploaded by alice\n')]);
    assert.equal((await alice.wait(up)).error, undefined);

    const chunks: Uint8Array[] = [];
    await alice.download(id, (c) => void chunks.push(c));
    assert.equal(Buffer.concat(chunks).toString(), 'alice only\n');

    // Bob's own download of that id looks in his own stream: nothing there, no such job of his.
    await assert.rejects(bob.download(id, () => undefined, { checkEveryMs: 100 }), { message: 'Job not found' });

    const nc = bob.nc;
    const stream = pipeStream(P, 'alice');
    await publishRefused(nc, `$JS.API.STREAM.INFO.${stream}`);
    await publishRefused(nc, `$JS.API.CONSUMER.CREATE.${stream}.peek.${pipeSubjects.data(P, 'alice', id, 'out')}`);
    await publishRefused(nc, `$JS.API.CONSUMER.CREATE.${stream}`);
    await publishRefused(nc, `$JS.API.STREAM.MSG.GET.${stream}`, '{"seq":1}');
    await publishRefused(nc, `$JS.API.DIRECT.GET.${stream}`, '{"seq":1}');
    await publishRefused(nc, `$JS.API.STREAM.PURGE.${stream}`);
    await publishRefused(nc, pipeSubjects.data(P, 'alice', up, 'in-0'), 'forged');
    await publishRefused(nc, pipeSubjects.read(P, 'alice', id, 'out'), '{"read":1}');
    await assert.rejects(jetstream(nc).consumers.get(stream, { filter_subjects: pipeSubjects.data(P, 'alice', id, 'out') }));

    const sub = nc.subscribe(pipeSubjects.stream(P, 'alice'));
    await nc.flush();
    const outcome = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 2000).unref())]);
    assert.ok(outcome instanceof PermissionViolationError, `bob's subscription to alice's pipes was not refused: ${String(outcome)}`);

    // Nor may alice touch the streams' configuration.
    await publishRefused(alice.nc, `$JS.API.STREAM.DELETE.${stream}`);
    await publishRefused(alice.nc, `$JS.API.STREAM.UPDATE.${stream}`);
  });
});
