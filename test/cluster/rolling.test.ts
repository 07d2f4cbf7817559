/**
 * Issue 18's third end-to-end test: a rolling restart (SIGTERM each instance in turn, start
 * it again) while clients keep issuing commands — start, query, dismiss — fails no command,
 * and every job whose start was acknowledged is there (or was dismissed by its client).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
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
