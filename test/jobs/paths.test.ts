/**
 * Paths of the file jobs stay inside the data directory: absolute paths and `..` are
 * refused at job-start (400); a symlink that leads out is refused when the job runs, and
 * nothing is read or written outside.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rejectsWith } from '../service/helpers.js';
import { randomFile, sha256, startFilesStack, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

describe('paths of file jobs', () => {
  let t: FilesStack;
  let outside: string;

  before(async () => {
    t = await startFilesStack();
    outside = mkdtempSync(join(tmpdir(), 'jobstate-outside-'));
    writeFileSync(join(outside, 'secret'), 'not yours');
    symlinkSync(outside, t.at('out')); // a directory symlink leading out
    symlinkSync(join(outside, 'secret'), t.at('secret-link')); // a file symlink leading out
  });
  after(async () => {
    await t.close();
    rmSync(outside, { recursive: true, force: true });
  });

  test('`..` and absolute paths are refused at job-start with a 400', async () => {
    const escapes = "path escapes the data directory";
    await rejectsWith(t.alice.start('backup', { params: { source: '../x', target: 'y' } }), 400, `Parameter 'params.source' is invalid: ${escapes}`);
    await rejectsWith(t.alice.start('backup', { params: { source: '/etc/passwd', target: 'y' } }), 400, `Parameter 'params.source' is invalid: ${escapes}`);
    await rejectsWith(t.alice.start('mirror', { params: { source: 'a', target: 'b/../../c' } }), 400, `Parameter 'params.target' is invalid: ${escapes}`);
    await rejectsWith(t.alice.start('create', { params: { target: '/tmp/x', size: 1 } }), 400, `Parameter 'params.target' is invalid: ${escapes}`);
    await rejectsWith(t.alice.start('stream', { params: { base: '..', top: 'a' } }), 400, `Parameter 'params.base' is invalid: ${escapes}`);
    await rejectsWith(t.alice.start('commit', { params: { base: 'a', top: '.' } }), 400, "Parameter 'params.top' is invalid: path names the data directory itself");
    await rejectsWith(
      t.alice.transaction([{ type: 'backup', params: { source: 'a', target: '../b' } }]),
      400,
      `Parameter 'actions[0].params.target' is invalid: ${escapes}`,
    );
    assert.deepEqual(await t.alice.query(), [], 'no job started');
  });

  test('a source through a symlink that leads out fails the job, whatever on-error says', async () => {
    for (const source of ['out/secret', 'secret-link']) {
      const id = await t.alice.start('backup', { params: { source, target: 'stolen' }, 'on-error': 'stop' });
      assert.equal((await t.finished(id)).error, `Path '${source}' escapes the data directory`);
    }
    assert.deepEqual(tree(t.dir).filter((p) => p.startsWith('stolen') || p.startsWith('.stolen')), []);
  });

  test('a target through a symlink that leads out fails the job; nothing is written outside', async () => {
    randomFile(t.at('p2/src'), 10_000);
    for (const [type, params] of [
      ['backup', { source: 'p2/src', target: 'out/planted' }],
      ['backup', { source: 'p2/src', target: 'secret-link' }],
      ['create', { target: 'out/planted', size: 10 }],
      ['mirror', { source: 'p2/src', target: 'out/planted' }],
      ['stream', { base: 'p2', top: 'out' }],
      ['commit', { base: 'out', top: 'p2' }],
    ] as const) {
      const id = await t.alice.start(type, { params });
      const { error } = await t.finished(id);
      assert.match(error ?? '', /^Path '.*' escapes the data directory$/, `${type} ${JSON.stringify(params)}`);
    }
    assert.deepEqual(readdirSync(outside), ['secret']);
    assert.equal(sha256(join(outside, 'secret')), sha256(join(outside, 'secret')));
    assert.deepEqual(tree(t.at('p2')), ['src'], 'the source layer is untouched');
  });

  test('symlinks inside the data directory are followed', async () => {
    randomFile(t.at('p3/real'), 5000);
    symlinkSync('real', t.at('p3/alias'));
    const id = await t.alice.start('backup', { params: { source: 'p3/alias', target: 'p3/copy' } });
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('p3/copy')), sha256(t.at('p3/real')));
  });
});
