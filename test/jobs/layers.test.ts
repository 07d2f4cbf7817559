/**
 * The built-in layer types, on directories: `stream` copies into top what it lacks from
 * base; `commit` merges top into base (overwriting) and empties top. Both stage their copies
 * and move them only at finalize.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { contents, startFilesStack, textFile, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

function layer(t: FilesStack, root: string, files: Record<string, string>): void {
  mkdirSync(t.at(root), { recursive: true });
  for (const [path, text] of Object.entries(files)) textFile(t.at(`${root}/${path}`), text);
}

describe('stream and commit', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack();
  });
  after(() => t.close());

  test('stream: top gets every file of base it lacks; its own stay; base is unchanged', async () => {
    const base = { 'a.txt': 'base a', 'shared.txt': 'base shared', 'sub/b.txt': 'base b', 'sub/deep/c.txt': 'base c', 'both/x': 'base x' };
    layer(t, 's1/base', base);
    layer(t, 's1/top', { 'shared.txt': 'top shared', 'own.txt': 'top own', 'both/y': 'top y' });
    const id = await t.alice.start('stream', { params: { base: 's1/base', top: 's1/top' }, 'auto-finalize': false });
    await t.events.event(id, 'JOB_PENDING');
    assert.deepEqual(tree(t.at('s1/top')), ['both/', 'both/y', 'own.txt', 'shared.txt'], 'nothing moved before finalize');
    await t.alice.finalize(id);
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.deepEqual(contents(t.at('s1/top')), {
      'a.txt': 'base a',
      'both/x': 'base x',
      'both/y': 'top y',
      'own.txt': 'top own',
      'shared.txt': 'top shared',
      'sub/b.txt': 'base b',
      'sub/deep/c.txt': 'base c',
    });
    assert.deepEqual(contents(t.at('s1/base')), base);
    assert.deepEqual(readdirSync(t.at('s1')).sort(), ['base', 'top'], 'no staging left');
    const bytes = 'base a'.length + 'base b'.length + 'base c'.length + 'base x'.length;
    assert.deepEqual([info['current-progress'], info['total-progress']], [bytes, bytes]);
  });

  test('stream cancelled: top unchanged, no staging left', async () => {
    layer(t, 's2/base', { big: 'x'.repeat(1_000_000) });
    layer(t, 's2/top', { own: 'own' });
    const id = await t.alice.start('stream', { params: { base: 's2/base', top: 's2/top' }, speed: 200_000 });
    await t.events.until((e) => e.data.id === id && e.event === 'JOB_PROGRESS' && Number(e.data['current-progress']) > 0);
    await t.alice.cancel(id);
    assert.equal((await t.finished(id)).error, 'Operation canceled');
    assert.deepEqual(tree(t.at('s2/top')), ['own']);
    assert.deepEqual(readdirSync(t.at('s2')).sort(), ['base', 'top']);
  });

  test('commit: top merges into base, overwriting; top is left empty', async () => {
    layer(t, 'k1/base', { a: 'base a', shared: 'base shared', 'sub/x': 'base x', conflict: 'base file', 'dir/keep': 'base keep' });
    layer(t, 'k1/top', { shared: 'top shared', new: 'top new', 'sub/y': 'top y', 'conflict/inner': 'top inner', 'fresh/z': 'top z', 'dir/add': 'top add' });
    const id = await t.alice.start('commit', { params: { base: 'k1/base', top: 'k1/top' } });
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.deepEqual(contents(t.at('k1/base')), {
      a: 'base a',
      'conflict/inner': 'top inner',
      'dir/add': 'top add',
      'dir/keep': 'base keep',
      'fresh/z': 'top z',
      new: 'top new',
      shared: 'top shared',
      'sub/x': 'base x',
      'sub/y': 'top y',
    });
    assert.deepEqual(tree(t.at('k1/top')), [], 'top is empty');
    assert.deepEqual(readdirSync(t.at('k1')).sort(), ['base', 'top'], 'no staging left');
  });

  test('commit failed in a grouped transaction: base and top unchanged', async () => {
    layer(t, 'k2/base', { a: 'base a' });
    layer(t, 'k2/top', { a: 'top a', b: 'top b' });
    const [commit, failing] = await t.alice.transaction(
      [
        { type: 'commit', params: { base: 'k2/base', top: 'k2/top' } },
        { type: 'test', params: { steps: 5, 'step-ms': 20, fail: 'sibling failed' } },
      ],
      'grouped',
    );
    await Promise.all([t.finished(commit!), t.finished(failing!)]);
    assert.deepEqual(contents(t.at('k2/base')), { a: 'base a' });
    assert.deepEqual(contents(t.at('k2/top')), { a: 'top a', b: 'top b' });
    assert.deepEqual(readdirSync(t.at('k2')).sort(), ['base', 'top']);
  });

  test('a layer that is not a directory, a missing layer, and overlapping layers fail the job', async () => {
    layer(t, 'k3/base', { f: 'file' });
    const notDir = await t.alice.start('stream', { params: { base: 'k3/base/f', top: 'k3/base' } });
    assert.equal((await t.finished(notDir)).error, "Layer 'k3/base/f' is not a directory");
    const missing = await t.alice.start('commit', { params: { base: 'k3/base', top: 'k3/none' } });
    assert.equal((await t.finished(missing)).error, "Could not open 'k3/none': No such file or directory");
    mkdirSync(t.at('k3/base/inner'));
    const overlap = await t.alice.start('commit', { params: { base: 'k3/base', top: 'k3/base/inner' } });
    assert.equal((await t.finished(overlap)).error, "Layers 'k3/base/inner' and 'k3/base' overlap");
    assert.equal(existsSync(t.at('k3/base/f')), true);
  });
});
