/**
 * Issue 18's third end-to-end test: a rolling restart (SIGTERM each instance in turn, start
 * it again) while clients keep issuing commands — start, query, dismiss — fails no command,
 * and every job whose start was acknowledged is there (or was dismissed by its client). Before
 * it, on the same instances: commands sent straight to the instance serving the caller's jobs
 * (`Jobs-Instance`, docs/protocol.md), and the SDK's way back when that instance stops.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PARTITIONS, partitionOf } from '../../src/cluster/partition.js';
import { Command, INSTANCE_HEADER, subjects } from '../../src/protocol/subjects.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { eventually, fleetForSuite } from '../support/instances.js';
import { sleep, snapshot } from './failover-helpers.js';

const OWNERS = 9;

const suite = fleetForSuite();

/** Every partition has a holder, and `count` distinct instances hold them. */
async function spread(count: number): Promise<void> {
  await eventually(async () => {
    const h = await suite.fleet.holders();
    assert.equal(h.size, DEFAULT_PARTITIONS);
    assert.equal(new Set(h.values()).size, count);
  }, 30_000);
}

test("a client's commands go straight to the instance serving its jobs; when it stops, through the others", { timeout: 90_000 }, async () => {
  await spread(3);
  const user = 'd1';
  const holder = (await suite.fleet.holders()).get(partitionOf(user, DEFAULT_PARTITIONS))!;
  const k = suite.fleet.ids.indexOf(holder);
  const other = (k + 1) % 3;
  const c = await suite.fleet.client(user, other);
  const ask = (subject: string) => c.nc.request(subject, '{}', { timeout: 10_000 });

  // Every reply to the user names the holder, relayed by another instance or not.
  const viaAny = await ask(subjects.command(c.prefix, user, Command.queryJobs));
  assert.equal(viaAny.headers?.get(INSTANCE_HEADER), holder);
  const straight = await ask(subjects.commandTo(c.prefix, user, Command.queryJobs, holder));
  assert.equal(straight.headers?.get(INSTANCE_HEADER), holder);
  assert.deepEqual(straight.json(), viaAny.json());
  // Sent straight to an instance that does not serve the user: forwarded, answered all the same.
  const elsewhere = await ask(subjects.commandTo(c.prefix, user, Command.queryJobs, suite.fleet.ids[other]!));
  assert.equal(elsewhere.headers?.get(INSTANCE_HEADER), holder);
  assert.deepEqual(elsewhere.json(), viaAny.json());
  // An admin's commands address every owner's jobs: no instance is named.
  const admin = await suite.fleet.client('admin', other);
  const asAdmin = await admin.nc.request(subjects.command(c.prefix, 'admin', Command.queryJobs), '{}', { timeout: 10_000 });
  assert.ok(!asAdmin.headers?.has(INSTANCE_HEADER), 'no Jobs-Instance header');

  // The SDK goes straight to the holder once told (a second connection sees the subjects it uses).
  const seen: string[] = [];
  const spy = admin.nc.subscribe(`${c.prefix}.cmd.${user}.>`, { callback: (_err, m) => void seen.push(m.subject) });
  await admin.nc.flush();
  const id = await c.start('test', { params: { steps: 1000, 'step-ms': 50 } });
  await c.query({});
  spy.unsubscribe();
  await admin.nc.flush();
  assert.deepEqual(seen.slice(-1), [subjects.commandTo(c.prefix, user, Command.queryJobs, holder)], `subjects: ${seen.join(', ')}`);

  // The holder stops: nobody listens on its subject any more, and the next command goes through the others.
  await suite.fleet.signal(k, 'SIGTERM');
  await c.pause(id);
  assert.equal((await c.query({})).find((j) => j.id === id)?.status, 'paused');
  await suite.fleet.start(k);
  await c.cancel(id);
});

test('a rolling restart under load fails no command', { timeout: 150_000 }, async (t) => {
  await spread(3);
  const admin = await suite.fleet.client('admin', 0);
  const clients = new Map<string, JobsClient>();
  for (let k = 0; k < OWNERS; k++) clients.set(`r${k}`, await suite.fleet.client(`r${k}`, k % 3));

  const kept: Array<{ owner: string; id: string }> = [];
  const failures: string[] = [];
  let commands = 0;
  let running = true;
  const loops = [...clients].map(async ([owner, c]) => {
    // Each command labelled: a failure names the one that failed.
    const labelled = async <T>(command: string, op: () => Promise<T>): Promise<T> => {
      try {
        return await op();
      } catch (err) {
        throw new Error(`${command}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    for (let n = 0; running; n++) {
      try {
        const id = await labelled('job-start', () => c.start('test', { params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false }));
        commands++;
        await labelled('query-jobs', () => c.query({}));
        commands++;
        // Every other job is waited for and dismissed: verbs on jobs, not only starts.
        if (n % 2 === 0) {
          await labelled('job-wait', () => c.wait(id, { timeoutMs: 20_000 }));
          commands++;
          await labelled('job-dismiss', () => c.dismiss(id));
          commands++;
        } else kept.push({ owner, id });
      } catch (err) {
        failures.push(`${owner}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(20);
    }
  });

  await sleep(500);
  for (let k = 0; k < suite.fleet.ids.length; k++) {
    await suite.fleet.signal(k, 'SIGTERM');
    await sleep(500);
    await suite.fleet.start(k);
    await spread(3);
  }
  await sleep(500);
  running = false;
  await Promise.all(loops);
  t.diagnostic(`${commands} commands during the rolling restart, ${failures.length} failed`);
  assert.deepEqual(failures, [], 'no command failed');
  const all = await snapshot(admin);
  const lost = kept.filter(({ owner, id }) => !all.has(`${owner}.${id}`));
  assert.deepEqual(lost, [], 'no acknowledged start is lost');
});
