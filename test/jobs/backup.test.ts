/**
 * The built-in `backup` type over a real nats-server, on real files: the copy is exact and
 * appears only at finalize; pause freezes it; cancel leaves nothing behind; on-error stop
 * waits for a fix and job-resume; a grouped transaction where one backup fails leaves
 * neither target in place.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sequence, sleep } from '../service/helpers.js';
import { MiB, progressOf, randomFile, sha256, startFilesStack, textFile, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

describe('backup', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack();
  });
  after(() => t.close());

  test('copies the source exactly; the target appears only at finalize', async () => {
    randomFile(t.at('b1/disk.img'), 3 * MiB + 12345);
    const id = await t.alice.start('backup', { params: { source: 'b1/disk.img', target: 'b1/copy.img' }, 'auto-finalize': false });
    await t.events.event(id, 'JOB_PENDING');
    assert.equal(existsSync(t.at('b1/copy.img')), false, 'not in place before finalize');
    assert.equal(tree(t.at('b1')).length, 2, 'the source and the aside copy');
    await t.alice.finalize(id);
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.equal(sha256(t.at('b1/copy.img')), sha256(t.at('b1/disk.img')));
    assert.deepEqual(tree(t.at('b1')), ['copy.img', 'disk.img'], 'no aside file left');
    assert.deepEqual([info['current-progress'], info['total-progress']], [3 * MiB + 12345, 3 * MiB + 12345]);
  });

  test('an empty source gives an empty copy; an existing target is replaced', async () => {
    textFile(t.at('b2/empty'), '');
    textFile(t.at('b2/old'), 'previous contents');
    const id = await t.alice.start('backup', { params: { source: 'b2/empty', target: 'b2/old' } });
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('b2/old')), sha256(t.at('b2/empty')));
    assert.deepEqual(tree(t.at('b2')), ['empty', 'old']);
  });

  test('pause freezes the copy (no progress) and resume continues it', async () => {
    randomFile(t.at('b3/src'), 2 * MiB);
    const id = await t.alice.start('backup', { params: { source: 'b3/src', target: 'b3/dst' }, speed: 2 * MiB });
    await t.events.until((e) => e.data.id === id && e.event === 'JOB_PROGRESS' && Number(e.data['current-progress']) > 0);
    await t.alice.pause(id);
    await sleep(150); // a chunk under way when the pause came may still finish
    const frozenAt = await progressOf(t.alice, id);
    const eventsBefore = t.events.of(id).length;
    await sleep(300);
    assert.equal(await progressOf(t.alice, id), frozenAt, 'current-progress unchanged while paused');
    assert.equal(t.events.of(id).length, eventsBefore, 'no JOB_PROGRESS while paused');
    assert.ok(frozenAt !== undefined && frozenAt < 2 * MiB, `paused midway (${frozenAt})`);
    await t.alice.resume(id);
    await t.alice.setSpeed(id, 0);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('b3/dst')), sha256(t.at('b3/src')));
    assert.deepEqual(sequence(t.events.events, id), ['created', 'running', 'paused', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('cancel leaves no partial output: no target, no aside file', async () => {
    randomFile(t.at('b4/src'), 2 * MiB);
    const id = await t.alice.start('backup', { params: { source: 'b4/src', target: 'b4/dst' }, speed: MiB });
    await t.events.until((e) => e.data.id === id && e.event === 'JOB_PROGRESS' && Number(e.data['current-progress']) > 0);
    assert.equal(tree(t.at('b4')).length, 2, 'the aside copy exists while running');
    await t.alice.cancel(id);
    const info = await t.finished(id);
    assert.equal(info.error, 'Operation canceled');
    assert.deepEqual(tree(t.at('b4')), ['src']);
  });

  test('on-error stop: a target directory that is a file stops the job; fixed and resumed, it succeeds', async () => {
    randomFile(t.at('b5/src'), 300 * 1024);
    textFile(t.at('b5/out'), 'a file where a directory should be');
    const id = await t.alice.start('backup', { params: { source: 'b5/src', target: 'b5/out/copy' }, 'on-error': 'stop' });
    await t.events.status(id, 'paused');
    assert.deepEqual(sequence(t.events.events, id), ['created', 'running', '[JOB_ERROR]', 'paused']);
    assert.deepEqual((await t.events.event(id, 'JOB_ERROR')).data, { id, owner: 'alice', operation: 'write', action: 'stop' });
    const [log] = (await t.alice.query()).filter((j) => j.id === id).map((j) => j['logs-excerpt']);
    assert.match(log ?? '', /Could not open 'b5\/out\/copy': Not a directory/);
    rmSync(t.at('b5/out'));
    mkdirSync(t.at('b5/out'));
    await t.alice.resume(id);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('b5/out/copy')), sha256(t.at('b5/src')));
    assert.deepEqual(tree(t.at('b5/out')), ['copy']);
  });

  test('on-error ignore: JOB_ERROR and the job keeps retrying; once fixed, it succeeds without a resume', async () => {
    randomFile(t.at('b8/src'), 1000);
    textFile(t.at('b8/out'), 'a file');
    const id = await t.alice.start('backup', { params: { source: 'b8/src', target: 'b8/out/copy' }, 'on-error': 'ignore' });
    assert.deepEqual((await t.events.event(id, 'JOB_ERROR')).data, { id, owner: 'alice', operation: 'write', action: 'ignore' });
    rmSync(t.at('b8/out'));
    mkdirSync(t.at('b8/out'));
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('b8/out/copy')), sha256(t.at('b8/src')));
    assert.ok(!sequence(t.events.events, id).includes('paused'));
  });

  test('on-error report: the same error fails the job with a text naming the path', async () => {
    randomFile(t.at('b6/src'), 1000);
    textFile(t.at('b6/out'), 'a file');
    const id = await t.alice.start('backup', { params: { source: 'b6/src', target: 'b6/out/copy' } });
    assert.equal((await t.finished(id)).error, "Could not open 'b6/out/copy': Not a directory");
    assert.deepEqual(tree(t.at('b6')), ['out', 'src']);
  });

  test('a missing source fails the job', async () => {
    const id = await t.alice.start('backup', { params: { source: 'nowhere/src', target: 'copy' } });
    assert.equal((await t.finished(id)).error, "Could not open 'nowhere/src': No such file or directory");
    assert.equal(existsSync(t.at('copy')), false);
  });

  test('a grouped transaction where one backup fails (missing source) leaves neither target in place', async () => {
    randomFile(t.at('b7/one'), MiB);
    const [ok, bad] = await t.alice.transaction(
      [
        { type: 'backup', id: 'txn-ok', params: { source: 'b7/one', target: 'b7/one.bak' } },
        { type: 'backup', id: 'txn-bad', params: { source: 'b7/two', target: 'b7/two.bak' } },
      ],
      'grouped',
    );
    const [okInfo, badInfo] = await Promise.all([t.finished(ok!), t.finished(bad!)]);
    assert.equal(badInfo.error, "Could not open 'b7/two': No such file or directory");
    assert.equal(okInfo.error, 'Operation canceled');
    assert.deepEqual(tree(t.at('b7')), ['one'], 'no target and no aside file');
  });
});
