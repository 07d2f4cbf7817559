/**
 * The examples run as written (docs as tests): src/examples/custom-job.ts (with JetStream and
 * with JOBS_PERSIST=false), docs/workers.md's worker as a `node worker.mjs` of a project that
 * imports `jobstate/worker`, and every fenced ts/js/sh block of README.md and docs/ is either
 * run by a test or marked `not-run` in its info string (```ts not-run).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { codeBlocks } from './blocks.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The blocks the tests run, by file and language: README's js (readme.test.ts), workers.md's ts (here). */
const RUN: Record<string, string[]> = { 'README.md': ['js'], 'docs/workers.md': ['ts'] };

function run(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(process.execPath, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, probe: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the examples', () => {
  for (const persist of ['true', 'false']) {
    test(`src/examples/custom-job.ts runs to the end (JOBS_PERSIST=${persist})`, async () => {
      const ex = run([join(ROOT, 'dist/src/examples/custom-job.js')], { env: { JOBS_PERSIST: persist } });
      assert.equal(await ex.exited, 0, ex.err());
      assert.match(ex.out(), /photos: concluded, result \{"archive":"photos.tar","files":4\}/);
      assert.match(ex.out(), /notes: error "No space left on device"/);
      assert.match(ex.out(), /files in the archive directory: photos\.tar\n/);
    });
  }

  describe("docs/workers.md's worker", () => {
    let stack: Stack;
    const dirs: string[] = [];
    before(async () => {
      stack = await startStack({ prefix: 'jobs' }); // the example's prefix, on this private server
    });
    after(async () => {
      await stack.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    test('runs as worker.mjs importing jobstate/worker, says it connected, and its type is listed and runs', async () => {
      const blocks = codeBlocks(readFileSync(join(ROOT, 'docs/workers.md'), 'utf8')).filter((b) => b.info === 'ts');
      assert.equal(blocks.length, 1);
      mkdirSync(join(ROOT, '.tmp'), { recursive: true });
      const dir = mkdtempSync(join(ROOT, '.tmp', 'worker-'));
      dirs.push(dir);
      mkdirSync(join(dir, 'data'));
      writeFileSync(join(dir, 'data', 'nats.url'), `${stack.server.url}\n`);
      writeFileSync(join(dir, 'worker.mjs'), blocks[0]!.code);
      const worker = run(['worker.mjs'], { cwd: dir });
      try {
        await until('worker started', () => worker.out().includes('"worker started"') || worker.child.exitCode !== null);
        const started = worker
          .out()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.msg === 'worker started');
        assert.ok(started, worker.out() + worker.err());
        assert.equal(started.server, stack.server.url.replace('nats://', ''), 'it says where it connected');
        assert.deepEqual(started.types, ['resize']);

        const alice = await stack.client('alice');
        let listed: Array<{ type: string; runs: string; params: { properties?: Record<string, unknown>; required?: string[] } }> = [];
        for (let i = 0; i < 200 && !listed.some((t) => t.type === 'resize'); i++) {
          listed = await alice.request('query-job-types', {});
          await new Promise((r) => setTimeout(r, 50));
        }
        const resize = listed.find((t) => t.type === 'resize');
        assert.ok(resize, JSON.stringify(listed));
        assert.equal(resize.runs, 'remote');
        assert.deepEqual(Object.keys(resize.params.properties ?? {}), ['image', 'width']);
        assert.deepEqual(resize.params.required, ['image', 'width']);

        const id = await alice.start('resize', { params: { image: 'cat.png', width: 100 }, speed: 0 });
        const info = await alice.wait(id, { timeoutMs: 60_000 });
        assert.equal(info.status, 'concluded');
        assert.deepEqual(info.result, { width: 100 });
      } finally {
        worker.child.kill('SIGTERM');
        assert.equal(await worker.exited, 0, worker.err());
      }
    });
  });

  test('every ts, js and sh block of README.md and docs/ is run by a test or marked not-run', () => {
    const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const unaccounted: string[] = [];
    for (const file of files) {
      for (const block of codeBlocks(readFileSync(join(ROOT, file), 'utf8'))) {
        const [lang = '', ...flags] = block.info.split(/\s+/);
        if (!['ts', 'js', 'mjs', 'sh'].includes(lang)) continue;
        if (flags.includes('not-run')) continue;
        if (RUN[file]?.includes(lang)) continue;
        unaccounted.push(`${file}:${block.line} (${block.info})`);
      }
    }
    assert.deepEqual(unaccounted, [], 'blocks neither run by a test nor marked not-run');
  });
});
