#!/usr/bin/env node
/**
 * `npm test` (after the build): `node --test` over the build's test files,
 * `dist/test/**\/*.test.js` (the helpers beside them are not test files), three at once
 * (JOBS_TEST_CONCURRENCY), ending with node's summary and exit code.
 *
 * Three, measured on 2 cores: the suite's files wait more than they compute (leases running
 * out, processes starting), so three keep both cores busy (310–356 s in five runs); four made
 * timing tests fail under the load.
 *
 * Arguments: the files or directories to run instead of dist/test; those starting with `--` go
 * to node's test runner (`--test-reporter=spec`, say). Plain JavaScript, as scripts/build.mjs.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TESTS = fileURLToPath(new URL('../dist/test', import.meta.url));
const concurrency = Number(process.env.JOBS_TEST_CONCURRENCY ?? 3);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`JOBS_TEST_CONCURRENCY must be a whole number of 1 or more, not ${JSON.stringify(process.env.JOBS_TEST_CONCURRENCY)}`);
  process.exit(2);
}

/** Every `*.test.js` under `path` (a file is taken as it is). */
function testFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(path, e.name)) : e.name.endsWith('.test.js') ? [join(path, e.name)] : [],
  );
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const paths = args.filter((a) => !a.startsWith('--'));
const files = (paths.length > 0 ? paths : [TESTS]).flatMap(testFiles);
const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...flags, ...files], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
