#!/usr/bin/env node
/**
 * `npm test` (after the build): node's test runner over the build's test files,
 * `dist/test/**\/*.test.js` (the helpers beside them are not test files), several at once
 * (JOBS_TEST_CONCURRENCY, default 3), ending with node's summary.
 *
 * Order: the directories whose files mostly wait (cluster failover on the default lease timings,
 * the CLI and the browser end to end) start first, so that their waits overlap the rest's CPU
 * work and the run does not end on one long file alone; the others follow in path order.
 *
 * Arguments: the files or directories to run instead of dist/test; those starting with `--` go
 * to node's test runner (`--test-reporter=tap`, say). Plain JavaScript, as scripts/build.mjs.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TESTS = join(ROOT, 'dist', 'test');
/** Directories under dist/test started first, in this order. */
const FIRST = ['cluster', 'cli', 'dashboard', 'testing', 'worker', 'durability'];
const concurrency = Number(process.env.JOBS_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`JOBS_TEST_CONCURRENCY must be a whole number of 1 or more, not ${JSON.stringify(process.env.JOBS_TEST_CONCURRENCY)}`);
  process.exit(2);
}

/** Every `*.test.js` under `path` (a file is taken as it is). */
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith('.test.js') ? [join(path, e.name)] : []));
}

const rank = (file) => {
  const i = FIRST.indexOf(relative(TESTS, file).split('/')[0]);
  return i < 0 ? FIRST.length : i;
};
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const paths = args.filter((a) => !a.startsWith('--'));
const roots = paths.length > 0 ? paths : [TESTS];
const files = roots.flatMap(testFiles).map((f, i) => ({ f, i, r: rank(f) }));
files.sort((a, b) => a.r - b.r || a.i - b.i);

const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...flags, ...files.map((x) => x.f)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
