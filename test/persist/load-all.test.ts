/**
 * Reading every record at a takeover (loadAll) while other instances keep writing the same
 * bucket: every record written before the read began is read, each time, and the read ends
 * (it does not chase the writes that keep coming).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { JobStore } from '../../src/persist/job-store.js';
import { natsForSuite } from '../support/stack.js';

describe('loadAll under writes', () => {
  const nats = natsForSuite();
  let store: JobStore;

  before(async () => {
    store = await JobStore.open(nats.nc, `loadall${process.pid}`, { logger: pino({ level: 'silent' }) });
  });
  after(() => store?.close());

  test('reads every record written before it began, however many writes come meanwhile', async () => {
    const ours = Array.from({ length: 300 }, (_, i) => `job.ours${i % 7}.j${i}`);
    for (const key of ours) await store.kv.put(key, JSON.stringify({ key }));
    // Another instance's jobs, rewritten and created all the time, and some of ours removed and made again before each read.
    let writing = true;
    let n = 0;
    const others = (async () => {
      while (writing) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.kv.put(`job.other${i}.x${n % 50}`, JSON.stringify({ n }))));
        if (n % 10 === 0) await store.kv.delete(`job.other0.x${n % 50}`);
        n++;
      }
    })();
    try {
      for (let round = 0; round < 4; round++) {
        // The previous holder's last writes land just before the read: ours at the stream's tail.
        await Promise.all(ours.slice(round * 30, round * 30 + 30).map((key) => store.kv.put(key, JSON.stringify({ key, round }))));
        const read = new Set((await store.loadAll()).map((r) => r.key));
        const missing = ours.filter((k) => !read.has(k));
        assert.deepEqual(missing, [], `round ${round}: records missing`);
      }
    } finally {
      writing = false;
      await others;
    }
    assert.ok(n > 0);
  });
});
