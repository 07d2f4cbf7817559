/**
 * A stale owner stands down (issue 18): two instances that both believe they own a partition
 * never both write it. A real process SIGSTOPped past its lease, then continued, stops serving
 * at once (its clock says the lease is gone) and writes nothing; the instance that took over
 * goes on, and no job's saved state goes back. And the second line of defence: a job store
 * write refused for its revision while the lease is no longer this instance's makes it stop
 * serving the partition and let the lease go (while one changed record under a lease still
 * held only stops that job's saving: test/service/unsaved.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import { pino } from 'pino';
import { assign } from '../../src/cluster/assignment.js';
import { partitionOf } from '../../src/cluster/partition.js';
import { storeNames } from '../../src/persist/names.js';
import { JobsClient } from '../../src/sdk/index.js';
import { until } from '../durability/helpers.js';
import { natsForSuite } from '../support/stack.js';
import { FAST_TIMINGS, InstanceProcess, startInProcess } from './instances.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
let prefixes = 0;

/** An owner whose partition (of 32) `assign(members)` gives to `member`. */
function ownerOn(member: string, members: string[]): string {
  const table = assign(members, 32);
  for (let i = 0; ; i++) if (table[partitionOf(`u${i}`, 32)] === member) return `u${i}`;
}

describe('stale owners', () => {
  const nats = natsForSuite();
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-stale-'));
  const prefix = () => `so${process.pid}x${++prefixes}`;

  after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('SIGSTOP past the lease, then SIGCONT: the other instance took over; the stale one stands down and writes nothing; no state goes back', async () => {
    const p = prefix();
    const owner = ownerOn('b', ['a', 'b']);
    const part = partitionOf(owner, 32);
    const a = new InstanceProcess('a', [nats.server.url], p, { fast: true, dataDir });
    const b = new InstanceProcess('b', [nats.server.url], p, { fast: true, dataDir });
    const client = await JobsClient.connect({ servers: nats.server.url, user: owner, prefix: p });
    const kv: KV = await new Kvm(nats.nc).open(storeNames(p).bucket).catch(() => undefined as never);
    try {
      // Alone, a serves everything: the job starts there, then b takes its share over.
      await a.start();
      await client.start('test', { id: 'long', params: { steps: 120, 'step-ms': 75 }, 'auto-dismiss': false });
      await b.start();
      const store = kv ?? (await new Kvm(nats.nc).open(storeNames(p).bucket));
      const servedBy = (inst: InstanceProcess) =>
        inst.lines().some((l) => l.msg === 'partitions served' && Array.isArray(l.partitions) && (l.partitions as number[]).includes(part));
      await until('b to serve the owner\'s partition', async () => (servedBy(b) ? true : undefined), 10_000);

      // Every saved progress of the job, in order: it must never go back.
      const progress: number[] = [];
      const watch = await store.watch({ key: `job.${owner}.long` });
      void (async () => {
        for await (const e of watch) {
          if (e.operation !== 'PUT') continue;
          const cur = e.json<{ snapshot: { context: { progress?: { current: number } } } }>().snapshot.context.progress?.current;
          if (cur !== undefined) progress.push(cur);
        }
      })();

      b.signal('SIGSTOP');
      const stoppedAt = b.lines().length;
      const aLinesBefore = a.lines().length;
      await until('a to take the partition over', async () => (a.lines().slice(aLinesBefore).some((l) => l.msg === 'partitions served' && (l.partitions as number[]).includes(part)) ? true : undefined), 10_000);
      await sleep(800); // a moves the job on
      b.signal('SIGCONT');
      await until('b to stand down', async () =>
        b.lines().slice(stoppedAt).some((l) => l.msg === 'partition no longer served' && l.partition === part) ? true : undefined,
      5000);
      // b comes back as a member and takes its share again, gracefully, from what a saved.
      const job = await until('the job to finish', async () => {
        const found = (await client.query().catch(() => [])).find((j) => j.id === 'long');
        return found?.status === 'concluded' ? found : undefined;
      }, 30_000);
      assert.equal(job['current-progress'], 120);
      watch.stop();
      const down = b.lines().slice(stoppedAt).find((l) => l.msg === 'partition no longer served' && l.partition === part);
      if (process.env.CLUSTER_REPORT) console.log('b stood down:', down?.reason, '; saved progress:', progress.join(','));
      assert.ok(progress.length > 3, 'the job was saved as it went on');
      for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]!, `saved progress went back: ${progress.join(',')}`);
      const conflicts = [...a.lines(), ...b.lines()].filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('job store conflict'));
      assert.deepEqual(conflicts, [], 'no write of one instance was refused: the stale one wrote nothing');
    } finally {
      await client.close();
      await b.stop();
      await a.stop();
    }
  });

  test('a write refused for its revision while the lease is someone else\'s: the partition is no longer served, its lease let go, then taken back with the stored state', async () => {
    const p = prefix();
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const inst = await startInProcess('solo', [nats.server.url], p, { dataDir, cluster: FAST_TIMINGS, logger });
    const alice = await JobsClient.connect({ servers: nats.server.url, user: 'alice', prefix: p });
    try {
      const part = partitionOf('alice', 32);
      await alice.start('test', { id: 'x', params: { steps: 100_000, 'step-ms': 50 } });
      const store = await new Kvm(nats.nc).open(storeNames(p).bucket);
      const leases = await new Kvm(nats.nc).open(`${p}_leases`);
      // Another instance took the lease (unseen yet) and wrote the job's record: its state is theirs.
      const theirs = (await store.get('job.alice.x'))!.string();
      await leases.put(`p.${part}`, JSON.stringify({ holder: 'other', epoch: 999_999 }));
      await store.put('job.alice.x', theirs);
      const err = await alice.pause('x').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof Error, 'the pause is not reported as saved');
      await until('the partition to be let go', async () => (inst.service.jobs.ownership.serves(part) ? undefined : true), 3000);
      const logged = lines.find((l) => l.partition === part && l.key === 'job.alice.x' && l.level === 50);
      assert.ok(logged, 'an error logged with the partition and the key');
      assert.equal(inst.service.jobs.size, 0, 'its jobs are dropped');
      assert.equal((await store.get('job.alice.x'))?.string(), theirs, 'the other writer\'s record is left alone');
      // "other" renews nothing: its lease goes stale and the partition comes back, from the store.
      await until('the partition to be served again', async () => (inst.service.jobs.ownership.serves(part) ? true : undefined), 10_000);
      assert.equal((await alice.query()).find((j) => j.id === 'x')?.status, 'running', 'the job as the store has it');
    } finally {
      await alice.close();
      await inst.close();
    }
  });
});
