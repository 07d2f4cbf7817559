/**
 * Starting an instance of a prefix (issue 18): JOBS_PARTITIONS is kept in the store as
 * `meta.partitions` and another value later is a clear startup error; a second live process
 * with one instance id refuses to start; a SIGKILLed instance restarted with its id takes its
 * leases back at once (no lease timeout to wait out) with its jobs as they were.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import { InstanceIdInUseError } from '../../src/cluster/membership.js';
import { PartitionsMismatchError } from '../../src/persist/open.js';
import { storeNames } from '../../src/persist/names.js';
import { Command, INSTANCE_HEADER, subjects } from '../../src/protocol/subjects.js';
import { JobsClient } from '../../src/sdk/index.js';
import { natsForSuite } from '../support/stack.js';
import { InstanceProcess, startInProcess } from './instances.js';

let prefixes = 0;

describe('starting an instance', () => {
  const nats = natsForSuite();
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-startup-'));
  const prefix = () => `st${process.pid}x${++prefixes}`;

  after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('JOBS_PARTITIONS is kept as meta.partitions; another value later is refused, naming both and the fix', async () => {
    const p = prefix();
    const first = await startInProcess('one', [nats.server.url], p, { dataDir, partitions: 16 });
    await first.close();
    const kv = await new Kvm(nats.nc).open(storeNames(p).bucket);
    assert.equal((await kv.get('meta.partitions'))?.json(), 16);
    const err = await startInProcess('one', [nats.server.url], p, { dataDir, partitions: 32 }).then(
      (s) => s.close().then(() => undefined),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PartitionsMismatchError, `a PartitionsMismatchError, got ${String(err)}`);
    assert.match(err.message, /^Invalid setting JOBS_PARTITIONS: it is 32, but this prefix's job store was created with 16 partitions/);
    assert.match(err.message, /set JOBS_PARTITIONS=16/);
    // The same number again starts.
    const again = await startInProcess('one', [nats.server.url], p, { dataDir, partitions: 16 });
    await again.close();
  });

  test('a second live instance with the same id refuses to start', async () => {
    const p = prefix();
    const first = await startInProcess('twin', [nats.server.url], p, { dataDir });
    try {
      const err = await startInProcess('twin', [nats.server.url], p, { dataDir }).then(
        (s) => s.close().then(() => undefined),
        (e: unknown) => e,
      );
      assert.ok(err instanceof InstanceIdInUseError, `an InstanceIdInUseError, got ${String(err)}`);
      assert.match(err.message, /^instance id twin is in use by a live instance; set JOBS_INSTANCE_ID/);
      assert.ok(first.service.jobs.ownership.serves(0), 'the first one goes on serving');
    } finally {
      await first.close();
    }
  });

  test('a SIGKILLed instance restarted with its id takes its leases back at once, its jobs as they were', async () => {
    const p = prefix();
    const inst = new InstanceProcess('solo', [nats.server.url], p, { dataDir });
    const cold = await inst.start();
    const alice = await JobsClient.connect({ servers: nats.server.url, user: 'alice', prefix: p });
    try {
      await alice.start('test', { id: 'held', params: { steps: 100_000, 'step-ms': 50 } });
      await alice.pause('held');
      await inst.stop('SIGKILL');
      const warm = await inst.start();
      if (process.env.CLUSTER_REPORT) console.log(`start ${Math.round(cold)} ms; restart after SIGKILL ${Math.round(warm)} ms`);
      // Well under the 13 s a stale lease of another id would take.
      assert.ok(warm < 6000, `restarted in ${Math.round(warm)} ms`);
      const served = inst.lines().filter((l) => l.msg === 'jobstate service started').at(-1);
      assert.equal(served?.served, 32, 'every partition served at once');
      assert.equal((await alice.query()).find((j) => j.id === 'held')?.status, 'paused');
      // Alone, it names no instance on its replies: there is no hop for a client to skip.
      const reply = await alice.nc.request(subjects.command(p, 'alice', Command.queryJobs), '{}', { timeout: 10_000 });
      assert.ok(!reply.headers?.has(INSTANCE_HEADER), 'no Jobs-Instance header');
    } finally {
      await alice.close();
      await inst.stop();
    }
  });
});
