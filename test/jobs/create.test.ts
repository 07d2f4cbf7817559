/**
 * The built-in `create` type: a new sparse file of the given size, put in place at finalize;
 * an existing target is refused and left alone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { MiB, startFilesStack, textFile, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

describe('create', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack();
  });
  after(() => t.close());

  test('creates a sparse file of the size, reading zeros', async () => {
    const size = 16 * MiB + 123;
    const id = await t.alice.start('create', { params: { target: 'new.img', size } });
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    const stats = statSync(t.at('new.img'));
    assert.equal(stats.size, size);
    assert.ok(stats.blocks * 512 < MiB, `sparse (${stats.blocks} blocks)`);
    const data = readFileSync(t.at('new.img'));
    assert.equal(data.length, size);
    assert.ok(data.equals(Buffer.alloc(size)), 'reads zeros');
    assert.deepEqual([info['current-progress'], info['total-progress']], [size, size]);
  });

  test('size 0 and a subdirectory', async () => {
    textFile(t.at('c2/.keep'), '');
    const id = await t.alice.start('create', { params: { target: 'c2/zero', size: 0 } });
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(statSync(t.at('c2/zero')).size, 0);
    assert.deepEqual(tree(t.at('c2')), ['.keep', 'zero']);
  });

  test('refuses an existing target, which stays as it was', async () => {
    textFile(t.at('c3/taken'), 'mine');
    const id = await t.alice.start('create', { params: { target: 'c3/taken', size: 10 } });
    assert.equal((await t.finished(id)).error, "Target 'c3/taken' already exists");
    assert.equal(readFileSync(t.at('c3/taken'), 'utf8'), 'mine');
    assert.deepEqual(tree(t.at('c3')), ['taken']);
  });

  test('a target that appears before finalize is refused at finalize (prepare), and kept', async () => {
    const id = await t.alice.start('create', { params: { target: 'late', size: 10 }, 'auto-finalize': false });
    await t.events.event(id, 'JOB_PENDING');
    textFile(t.at('late'), 'someone else');
    await t.alice.finalize(id).catch(() => undefined);
    assert.equal((await t.finished(id)).error, "Target 'late' already exists");
    assert.equal(readFileSync(t.at('late'), 'utf8'), 'someone else');
    assert.equal(existsSync(t.at('.late.jobstate-alice-' + id + '.part')), false);
  });

  test('a negative or fractional size is refused at job-start', async () => {
    await assert.rejects(t.alice.start('create', { params: { target: 'x', size: -1 } }), /params\.size/);
    await assert.rejects(t.alice.start('create', { params: { target: 'x', size: 1.5 } }), /params\.size/);
  });
});
