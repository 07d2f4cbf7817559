/**
 * Speed of the file jobs in bytes per second, with QEMU's 100 ms slices: a 4 MiB backup at
 * 1 MiB/s takes about 4 s (the suite's long test; it has a file of its own so it runs
 * alongside the others).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MiB, randomFile, sha256, startFilesStack } from './helpers.js';
import type { FilesStack } from './helpers.js';

describe('speed of file jobs', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack();
  });
  after(() => t.close());

  test('a 4 MiB backup at speed 1048576 takes at least 3.5 s (and is not stalled), with steady progress', async () => {
    randomFile(t.at('big'), 4 * MiB);
    const started = performance.now();
    const id = await t.alice.start('backup', { params: { source: 'big', target: 'big.bak' }, speed: 1048576 });
    await t.events.event(id, 'JOB_COMPLETED', 10_000);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(`# 4 MiB at 1 MiB/s took ${seconds.toFixed(2)} s\n`);
    // The limit is what the lower bound proves; the upper one only that the copy does not stall
    // (it is wide: a loaded CI machine may take its time over the fdatasync).
    assert.ok(seconds >= 3.5 && seconds <= 9, `took ${seconds.toFixed(2)} s`);
    await t.finished(id);
    assert.equal(sha256(t.at('big.bak')), sha256(t.at('big')));
    const progress = t.events.of(id).filter((e) => e.event === 'JOB_PROGRESS');
    assert.ok(progress.length >= 20, `progress all along (${progress.length} events)`);
    assert.ok(progress.every((e) => e.data['total-progress'] === 4 * MiB));
    assert.equal(progress.at(-1)?.data['current-progress'], 4 * MiB);
  });
});
