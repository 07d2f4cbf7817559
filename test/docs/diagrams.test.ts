/**
 * The committed pages of docs/machines/ are exactly what the machines generate.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { machineDocs } from '../../src/docs/machines.js';

/** The repository root: this test runs from dist/test/docs/. */
const root = fileURLToPath(new URL('../../../', import.meta.url));

for (const [path, generated] of Object.entries(machineDocs())) {
  test(`${path} matches its machine`, async () => {
    const committed = await readFile(join(root, path), 'utf8').catch(() => '(missing)');
    assert.ok(committed === generated, `${path} is out of date with its machine: run npm run docs`);
  });
}
