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
 * Arguments: the files or directories to run instead of dist/test. The report is node's: spec on
 * a terminal, TAP otherwise. Plain JavaScript, as scripts/build.mjs.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TESTS = join(ROOT, 'dist', 'test');
/** Directories under dist/test whose files mostly wait: started first, taking turns. */
const FIRST = ['cluster', 'cli', 'dashboard', 'testing', 'worker', 'durability'];
const concurrency = Number(process.env.JOBS_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`JOBS_TEST_CONCURRENCY must be a whole number of 1 or more, not ${JSON.stringify(process.env.JOBS_TEST_CONCURRENCY)}`);
  process.exit(2);
}

/** Every `*.test.js` under `path`, in path order (a file is taken as it is). */
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => (e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith('.test.js') ? [join(path, e.name)] : []));
}

/** The FIRST directories' files taking turns (one of each, then the next of each), then the rest in path order. */
function ordered(files) {
  const lanes = FIRST.map((dir) => files.filter((f) => relative(TESTS, f).split('/')[0] === dir));
  const first = [];
  for (let i = 0; lanes.some((l) => i < l.length); i++) for (const lane of lanes) if (i < lane.length) first.push(lane[i]);
  return [...first, ...files.filter((f) => !first.includes(f))];
}

const paths = process.argv.slice(2);
const files = (process.env.JOBS_TEST_ORDER === 'path' ? (x) => x : ordered)((paths.length > 0 ? paths : [TESTS]).map((p) => resolve(p)).flatMap(testFiles));
// node --test would sort the files by path; run() keeps this order.
const stream = run({ files, concurrency });
stream.on('test:fail', (event) => {
  if (!event.todo) process.exitCode = 1;
});
stream.compose(process.stdout.isTTY ? spec : tap).pipe(process.stdout);
