/**
 * docs/model-testing.md as written: every ```js block that starts with `// <file>.mjs` is
 * written to a project of its own (with `jobstate` installed as a link to this package) and
 * run against a service this test starts — `node` for a plain file, `node --test` for a
 * test file. vitest is no dependency of jobstate: its block runs on a stand-in `vitest`
 * module (its describe/test/beforeAll/afterAll/expect over node:test). The printed examples
 * must be what the code prints and what the replayer reports.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { generatePaths } from '../../src/testing/index.js';
import { startStack } from '../support/stack.js';
import { countJob } from '../testing/count-job.js';
import type { Stack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/model-testing.md'), 'utf8');
const run = promisify(execFile);

const VITEST_STAND_IN = `
import assert from 'node:assert/strict';
import { after, before, describe, test as nodeTest } from 'node:test';
export { describe, before as beforeAll, after as afterAll };
/** vitest's test(name, fn, timeout). */
export function test(name, fn, timeout) {
  return nodeTest(name, { timeout }, fn);
}
export { test as it };
export function expect(actual) {
  return { toEqual: (expected) => assert.deepEqual(actual, expected), toBe: (expected) => assert.equal(actual, expected) };
}
`;

/** The runnable blocks, by file name, in the order of the page. */
function blocks(): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of DOC.matchAll(/^```js\n\/\/ ([\w.-]+\.mjs)\n([\s\S]*?)^```$/gm)) found.set(m[1]!, m[2]!);
  return found;
}

/** The ```text block right after the block of `file`. */
function printedAfter(file: string): string {
  const at = DOC.indexOf(`// ${file}\n`);
  const m = /```text\n([\s\S]*?)```/.exec(DOC.slice(at));
  return m![1]!;
}

describe('docs/model-testing.md, run as written', () => {
  let stack: Stack;
  let project: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    stack = await startStack({ types: (dir) => builtinTypes(dir).register(countJob) });
    project = mkdtempSync(join(tmpdir(), 'jobstate-tutorial-'));
    mkdirSync(join(project, 'node_modules/vitest'), { recursive: true });
    symlinkSync(ROOT, join(project, 'node_modules/jobstate'), 'dir');
    writeFileSync(join(project, 'node_modules/vitest/package.json'), JSON.stringify({ name: 'vitest', type: 'module', main: 'index.js' }));
    writeFileSync(join(project, 'node_modules/vitest/index.js'), VITEST_STAND_IN);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'tutorial', type: 'module', private: true }));
    for (const [file, code] of blocks()) writeFileSync(join(project, file), code);
    env = { ...process.env, NATS_URL: stack.server.url, JOBS_PREFIX: stack.prefix, JOBS_PASSWORD: '' };
    delete env.NODE_TEST_CONTEXT; // the files' own runs report to their stdout, not to this runner
  });
  after(async () => {
    await stack.close();
    rmSync(project, { recursive: true, force: true });
  });

  test('the page has the blocks this test runs', () => {
    assert.deepEqual([...blocks().keys()], ['generate.mjs', 'model.test.mjs', 'model.vitest.test.mjs', 'count.test.mjs']);
  });

  test('generate.mjs prints what the page shows', async () => {
    const { stdout } = await run(process.execPath, ['generate.mjs'], { cwd: project, env });
    const shown = printedAfter('generate.mjs').split('\n').filter((l) => l && !l.includes('…'));
    const lines = stdout.split('\n');
    for (const line of shown) assert.ok(lines.includes(line), `printed: ${line}\n${stdout}`);
  });

  for (const file of ['model.test.mjs', 'model.vitest.test.mjs', 'count.test.mjs']) {
    test(`${file} passes against the service, and leaves no job behind`, async () => {
      const user = file.split('.')[0]!;
      const r = await run(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: project, env: { ...env, JOBS_USER: user } }).catch(
        (err: { stdout: string; stderr: string }) => assert.fail(`${file} failed:\n${err.stdout}\n${err.stderr}`),
      );
      assert.match(r.stdout, /^# fail 0$/m);
      assert.match(r.stdout, /^# pass [1-9]\d*$/m);
      assert.equal((await (await stack.client(user)).query({})).length, 0);
    });
  }

  test('the failure the page reads is a path and step the generator makes', () => {
    const line = /^FAIL (#\d+ .+?): step (\d+) job-dismiss .* in state '(\w+)'/m.exec(DOC)!;
    const path = generatePaths({ transactions: false }).find((p) => p.name === line[1]);
    assert.ok(path, line[1]);
    const step = path.steps[Number(line[2]) - 1]!;
    assert.equal(step.command, 'job-dismiss');
    assert.equal(step.before, line[3]);
  });
});
