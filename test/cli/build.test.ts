/**
 * Builds do not pull the floor from under running processes (scripts/build.mjs), and jobctl
 * in a clone that was never built says what to run (bin/jobctl.js).
 *
 * The build test uses a tiny project laid out like this one (scripts/build.mjs, tsconfig.json,
 * src/, node_modules → this repository's), so that tsc takes seconds.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT } from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-build-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'src'));
  copyFileSync(join(ROOT, 'scripts/build.mjs'), join(dir, 'scripts/build.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', rootDir: '.', outDir: 'dist', types: [] }, include: ['src'] }),
  );
  return dir;
}

/** src/main.ts prints its version, then (on a line on stdin) imports ./late.js lazily and prints its. */
function writeSources(dir: string, version: number): void {
  writeFileSync(
    join(dir, 'src/main.ts'),
    `declare const console: any, process: any;\nexport const version = ${version};\nconsole.log('main', version);\nprocess.stdin.once('data', async () => { const late = await import('./late.js'); console.log('late', late.version); process.exit(0); });\n`,
  );
  writeFileSync(join(dir, 'src/late.ts'), `export const version = ${version};\n`);
}

const build = (dir: string, ...args: string[]) => spawnSync(process.execPath, [join(dir, 'scripts/build.mjs'), ...args], { cwd: dir, encoding: 'utf8' });

describe('npm run build (scripts/build.mjs)', () => {
  test('a rebuild leaves dist in place throughout, and a running process on its own build', async () => {
    const dir = project();
    writeSources(dir, 1);
    assert.equal(build(dir).status, 0);
    const first = realpathSync(join(dir, 'dist'));

    // A process started on build 1 that imports a module only later.
    const running = spawn(process.execPath, [join(dir, 'dist/src/main.js')], { cwd: dir });
    let out = '';
    running.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    while (!out.includes('main 1')) await new Promise((r) => setTimeout(r, 10));

    // Unchanged sources: nothing is built, dist stays where it is.
    assert.equal(build(dir).status, 0);
    assert.equal(realpathSync(join(dir, 'dist')), first);

    // Changed sources: build 2, watched from outside while it runs — dist is never missing.
    writeSources(dir, 2);
    const rebuilding = spawn(process.execPath, [join(dir, 'scripts/build.mjs')], { cwd: dir, stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => rebuilding.once('exit', resolve));
    let finished = false;
    void done.then(() => (finished = true));
    let missing = 0;
    let looks = 0;
    while (!finished) {
      looks++;
      if (!existsSync(join(dir, 'dist/src/main.js')) || !existsSync(join(dir, 'dist/src/late.js'))) missing++;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(await done, 0);
    assert.equal(missing, 0, `dist/ was missing in ${missing} of ${looks} looks during the rebuild`);
    assert.notEqual(realpathSync(join(dir, 'dist')), first, 'dist points at the new build');
    const fresh = spawnSync(process.execPath, [join(dir, 'dist/src/main.js')], { cwd: dir, input: '\n', encoding: 'utf8' });
    assert.equal(fresh.stdout, 'main 2\nlate 2\n');

    // The process started on build 1 still loads build 1's modules.
    running.stdin!.write('\n');
    await new Promise((resolve) => running.once('exit', resolve));
    assert.equal(out, 'main 1\nlate 1\n');
  });

  test('old builds are removed beyond the last few; a failed build leaves dist as it was', () => {
    const dir = project();
    // Five builds from before, oldest first.
    for (let i = 0; i < 5; i++) {
      const old = join(dir, `.dist-2020010${i}-000000-1`);
      mkdirSync(old);
      utimesSync(old, new Date(2020, 0, i + 1), new Date(2020, 0, i + 1));
    }
    writeSources(dir, 1);
    assert.equal(build(dir).status, 0);
    const builds = readdirSync(dir).filter((n) => n.startsWith('.dist-'));
    assert.ok(!builds.includes('.dist-20200100-000000-1') && !builds.includes('.dist-20200101-000000-1'), 'the oldest are gone');
    assert.equal(builds.length, 4, `the current build and three before it: ${builds.join(', ')}`);
    const current = realpathSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'src/late.ts'), 'export const version: number = "not a number";\n');
    const failed = build(dir);
    assert.notEqual(failed.status, 0);
    assert.match(failed.stdout + failed.stderr, /not assignable/);
    assert.equal(realpathSync(join(dir, 'dist')), current);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.dist-tmp')), [], 'no half-built directory is left');
  });
});

describe('jobctl in a clone that was never built', () => {
  test('says to run npm run build, with exit code 5', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobstate-unbuilt-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(ROOT, 'bin/jobctl.js'), join(dir, 'bin/jobctl.js'));
    copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    const run = spawnSync(process.execPath, [join(dir, 'bin/jobctl.js'), 'query'], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 5);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^jobctl: jobstate is not built yet: run `npm run build` in .* first\n$/);
  });

  test('and runs the CLI once it is built', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/jobctl.js'), '--version'], { encoding: 'utf8' });
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^jobctl \d+\.\d+\.\d+\n$/);
  });
});
