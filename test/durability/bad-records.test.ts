/**
 * The job store does not trust what it reads (issue #12, F2's store root): records that are
 * not JSON, not of a record's shape, under a key of no form the service writes, or whose job
 * is not the one their key names, are each logged (with the key) and moved aside, under
 * `aside.<key>` in the same bucket, byte for byte — and the service starts, with every good
 * job back. The same for a garbled service instance id: a new one is made.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { pino } from 'pino';
import { storeNames } from '../../src/persist/names.js';
import { natsForSuite, startStack } from '../support/stack.js';
import { jobsById } from './helpers.js';

describe('bad records in the job store', () => {
  const nats = natsForSuite();
  const prefix = `badrec${process.pid}`;

  test('each is logged and moved aside; the service starts and restores the rest', async () => {
    const first = await startStack({ server: nats.server, prefix });
    const alice = await first.client('alice');
    for (const id of ['good1', 'good2']) await alice.start('test', { id, params: { steps: 0 }, 'auto-dismiss': false });
    await alice.start('test', { id: 'good3', params: { steps: 100_000, 'step-ms': 50 }, 'auto-dismiss': false });
    await alice.pause('good3');
    await first.close();

    const kv: KV = await new Kvm(nats.nc).open(storeNames(prefix).bucket);
    const good = (await kv.get('job.alice.good1'))!.json<{ snapshot: { value: unknown; context: { job: { id: string } } } }>();
    const bad: Record<string, string> = {
      'job.alice.zz': 'this is not json',
      'job.alice.array': '[1,2,3]',
      'job.alice.shape': '{"v":1,"seq":"x"}',
      'job.bob.notbobs': JSON.stringify(good), // alice's job under bob's key
      'job.alice.nostate': JSON.stringify({ ...good, snapshot: { ...good.snapshot, value: 'nonsense' } }),
      'txn.alice.t1': '{"v":1,"seq":3}',
      'weird.key': '{}',
      'service.instance': '"not an id"',
    };
    for (const [k, v] of Object.entries(bad)) await kv.put(k, v);

    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
    const second = await startStack({ server: nats.server, prefix, logger });
    try {
      const alice2 = await second.client('alice');
      const jobs = await jobsById(alice2);
      assert.deepEqual([...jobs.keys()].sort(), ['good1', 'good2', 'good3']);
      assert.equal(jobs.get('good3')?.status, 'paused');
      assert.equal(jobs.get('good1')?.status, 'concluded');
      const kv2 = kv;
      for (const [k, v] of Object.entries(bad)) {
        const logged = lines.find((l) => l.key === k && l.level === 50);
        assert.ok(logged, `an error logged with the key ${k}`);
        assert.equal(typeof logged.reason, 'string', `${k}: the reason is logged`);
        assert.equal((await kv2.get(`aside.${k}`))?.string(), v, `${k} is kept aside as it was`);
        if (k !== 'service.instance') assert.notEqual((await kv2.get(k))?.operation, 'PUT', `${k} is gone from its place`);
      }
      // A new instance id in place of the garbled one.
      assert.match((await kv2.get('service.instance'))!.json<string>(), /^[A-Za-z0-9_-]+$/);
      // The freed key is the owner's again.
      await alice2.start('test', { id: 'zz', params: { steps: 0 }, 'auto-dismiss': false });
      assert.equal((await alice2.wait('zz')).status, 'concluded');
    } finally {
      await second.close();
    }
    // Set aside once: a third start finds nothing more to set aside.
    const aside = lines.filter((l) => String(l.msg).includes('set aside')).length;
    assert.ok(aside >= Object.keys(bad).length);
    const third = await startStack({ server: nats.server, prefix, logger });
    await third.close();
    assert.equal(lines.filter((l) => String(l.msg).includes('set aside')).length, aside);
  });
});
