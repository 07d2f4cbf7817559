/**
 * `npm run docs`: writes every generated file of the repository. Each generator gives a record
 * of path (relative to the repository root) to content; add one by merging its record below.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineDocs } from './machines.js';
import { schemaDocs } from './schemas.js';

/** The repository root: this script runs from dist/src/docs/. */
const root = fileURLToPath(new URL('../../../', import.meta.url));

const outputs: Record<string, string> = { ...machineDocs(), ...schemaDocs() };

for (const [path, content] of Object.entries(outputs)) {
  const file = join(root, path);
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) {
    process.stdout.write(`unchanged ${path}\n`);
    continue;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  process.stdout.write(`wrote ${path}\n`);
}
