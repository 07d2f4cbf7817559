/**
 * Forwarding under the shipped nats-auth.conf: two instances connected as the service's user
 * `jobstate` forward commands and gather queries over `P.int.>`, and no user may publish or
 * subscribe there (a user cannot forge `Jobs-Caller`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PermissionViolationError, headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionOf } from '../../src/cluster/partition.js';
import { JobsClient } from '../../src/sdk/index.js';
import { startAuthServer } from '../security/auth-server.js';
import type { AuthServer } from '../security/auth-server.js';
import { startInstance } from './instances.js';
import type { Instance } from './instances.js';

const P = 8;
const LONG = { steps: 100_000, 'step-ms': 20 };

describe('forwarding under nats-auth.conf', () => {
  let auth: AuthServer;
  let a: Instance;
  let b: Instance;
  let alice: JobsClient;
  let bob: JobsClient;
  let admin: JobsClient;
  let raw: NatsConnection;
  const pAlice = partitionOf('alice', P);
  const pBob = partitionOf('bob', P);

  before(async () => {
    assert.notEqual(pAlice, pBob);
    auth = await startAuthServer();
    const common = { url: auth.server.url, prefix: auth.prefix, partitions: P, waitMs: 1000, connection: { user: 'jobstate', pass: auth.passwords.jobstate } };
    // B serves bob's partition only; A every other.
    a = await startInstance({ ...common, served: Array.from({ length: P }, (_, p) => p).filter((p) => p !== pBob) });
    b = await startInstance({ ...common, served: [pBob] });
    const client = (user: 'alice' | 'bob' | 'admin') => JobsClient.connect({ servers: auth.server.url, user, pass: auth.passwords[user], prefix: auth.prefix });
    [alice, bob, admin] = await Promise.all([client('alice'), client('bob'), client('admin')]);
    raw = await auth.connectAs('alice');
  });
  after(async () => {
    await Promise.all([alice.close(), bob.close(), admin.close(), raw.close()]);
    await a.close();
    await b.close();
    await auth.stop();
  });

  test('commands reach the owner’s instance and an admin’s query gathers both, as the service’s user', async () => {
    for (let i = 0; i < 6; i++) {
      await alice.start('test', { id: `a${i}`, params: LONG });
      await bob.start('test', { id: `b${i}`, params: LONG });
    }
    assert.equal(a.service.jobs.query('alice', {}).count, 6);
    assert.equal(b.service.jobs.query('bob', {}).count, 6);
    for (let i = 0; i < 6; i++) {
      await bob.pause(`b${i}`);
      await alice.pause(`a${i}`);
    }
    assert.deepEqual((await bob.query()).map((j) => `${j.id}:${j.status}`).sort(), Array.from({ length: 6 }, (_, i) => `b${i}:paused`));
    const all = await admin.query({ status: 'paused' });
    assert.deepEqual(all.map((j) => `${j.owner}/${j.id}`).sort(), [...Array.from({ length: 6 }, (_, i) => `alice/a${i}`), ...Array.from({ length: 6 }, (_, i) => `bob/b${i}`)].sort());
    for (let i = 0; i < 6; i++) {
      await admin.cancel(`b${i}`, { owner: 'bob' });
      await admin.cancel(`a${i}`, { owner: 'alice' });
    }
  });

  test('no user may publish or subscribe on the internal subjects', async () => {
    for (const subject of [`${auth.prefix}.int.i.${b.ownership.id}.${pBob}.job-cancel`, `${auth.prefix}.int.query`]) {
      const h = headers();
      h.set('Jobs-Caller', 'bob');
      await assert.rejects(raw.request(subject, '{"id":"b0"}', { headers: h, timeout: 2000 }), (err: Error) => {
        assert.ok(err.cause instanceof PermissionViolationError, `expected a permissions violation, got ${err.name}: ${err.message}`);
        return true;
      });
    }
    const sub = raw.subscribe(`${auth.prefix}.int.>`);
    await raw.flush();
    const outcome = await Promise.race([sub.closed, new Promise<'open'>((r) => setTimeout(() => r('open'), 2000).unref())]);
    assert.ok(outcome instanceof PermissionViolationError, `the subscription was not refused: ${String(outcome)}`);
  });
});
