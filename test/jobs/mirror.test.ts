/**
 * The built-in `mirror` type: copies, enters ready, keeps the aside copy in sync with the
 * source until job-complete (final sync, put in place at finalize); a soft cancel in ready
 * completes without putting the target in place.
 */
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sequence, sleep } from '../service/helpers.js';
import { MiB, randomFile, sha256, startFilesStack, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

/** Overwrite `length` bytes of `path` at `position` with random data. */
function scribble(path: string, position: number, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(length), 0, length, position);
  } finally {
    closeSync(fd);
  }
}

async function until(what: string, probe: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('mirror', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack();
  });
  after(() => t.close());

  test('copies, is ready, follows changes of the source, and completes with a final sync', async () => {
    randomFile(t.at('m1/src'), MiB + 777);
    const id = await t.alice.start('mirror', { params: { source: 'm1/src', target: 'm1/dst' } });
    await t.events.event(id, 'JOB_READY');
    const aside = join(t.at('m1'), `.dst.jobstate-alice-${id}.part`);
    assert.equal(sha256(aside), sha256(t.at('m1/src')), 'the aside copy is complete at ready');
    assert.equal(existsSync(t.at('m1/dst')), false, 'not in place while ready');

    scribble(t.at('m1/src'), 300_000, 5000);
    appendFileSync(t.at('m1/src'), randomBytes(70_000));
    await until('the aside copy to follow the source', () => sha256(aside) === sha256(t.at('m1/src')));

    // A change right before job-complete is caught by the final sync.
    scribble(t.at('m1/src'), 10, 100);
    await t.alice.complete(id);
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.equal(sha256(t.at('m1/dst')), sha256(t.at('m1/src')));
    assert.deepEqual(tree(t.at('m1')), ['dst', 'src']);
    assert.deepEqual(sequence(t.events.events, id), [
      'created',
      'running',
      'ready',
      '[JOB_READY]',
      'waiting',
      'pending',
      '[JOB_COMPLETED]',
      'concluded',
      'null',
    ]);
    assert.equal(info['current-progress'], info['total-progress']);
  });

  test('a shrunk source is followed too', async () => {
    randomFile(t.at('m2/src'), 500_000);
    const id = await t.alice.start('mirror', { params: { source: 'm2/src', target: 'm2/dst' } });
    await t.events.event(id, 'JOB_READY');
    randomFile(t.at('m2/src'), 1000);
    await sleep(100);
    await t.alice.complete(id);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('m2/dst')), sha256(t.at('m2/src')));
  });

  test('soft cancel in ready: completes without error and without putting the target in place', async () => {
    randomFile(t.at('m3/src'), 200_000);
    const id = await t.alice.start('mirror', { params: { source: 'm3/src', target: 'm3/dst' } });
    await t.events.event(id, 'JOB_READY');
    await t.alice.cancel(id, { force: false });
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.deepEqual(tree(t.at('m3')), ['src'], 'no target, no aside copy');
    assert.deepEqual(sequence(t.events.events, id).slice(-5), ['waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('forced cancel in ready: cancelled, nothing left', async () => {
    randomFile(t.at('m4/src'), 200_000);
    const id = await t.alice.start('mirror', { params: { source: 'm4/src', target: 'm4/dst' } });
    await t.events.event(id, 'JOB_READY');
    await t.alice.cancel(id);
    assert.equal((await t.finished(id)).error, 'Operation canceled');
    assert.deepEqual(tree(t.at('m4')), ['src']);
  });

  test('pause in ready (standby) holds the sync; resume and complete bring the change', async () => {
    randomFile(t.at('m5/src'), 100_000);
    const id = await t.alice.start('mirror', { params: { source: 'm5/src', target: 'm5/dst' } });
    await t.events.event(id, 'JOB_READY');
    await t.alice.pause(id);
    const aside = join(t.at('m5'), `.dst.jobstate-alice-${id}.part`);
    const before = sha256(aside);
    scribble(t.at('m5/src'), 0, 1000);
    await sleep(200);
    assert.equal(sha256(aside), before, 'no sync while in standby');
    await t.alice.resume(id);
    await t.alice.complete(id);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('m5/dst')), sha256(t.at('m5/src')));
  });
});
