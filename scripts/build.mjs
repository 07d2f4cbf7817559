#!/usr/bin/env node
/**
 * `npm run build`: compile with tsc into a new directory `.dist-<time>` and then point the
 * `dist` symlink at it in one rename, so a build never pulls files from under a running
 * service, test or client: a process keeps reading the build it started from (Node resolves
 * modules by their real path), and `dist/` is never missing or half written.
 *
 * Skips tsc when `dist` is newer than every source (`--force` builds anyway). Keeps the
 * previous builds (KEEP) for processes still running on them and removes older ones.
 * Plain JavaScript on purpose: it runs before anything is compiled.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Builds sit beside `dist`, at the same depth, so paths relative to a module (`../../nats.conf`) hold. */
const BUILD = '.dist-';
const DIST = join(ROOT, 'dist');
const STAMP = '.built';
/** Builds kept besides the current one, for processes still running on them. */
const KEEP = 3;
/** What tsc reads (tsconfig.json's and tsconfig.web.json's include, and themselves). */
const SOURCES = ['machines', 'src', 'test', 'bench', 'web', 'tsconfig.json', 'tsconfig.web.json', 'package.json'];

/** The newest modification time among the sources (directories too: a deleted file counts). */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    if (!existsSync(path)) return;
    const st = statSync(path);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  for (const source of SOURCES) visit(join(ROOT, source));
  return newest;
}

function builtAt() {
  try {
    return statSync(join(DIST, STAMP)).mtimeMs;
  } catch {
    return -1;
  }
}

/** Point `dist` at `target` (a `.dist-*` directory) atomically. */
function swapTo(target) {
  const link = join(ROOT, `${BUILD}link-${process.pid}`);
  rmSync(link, { force: true });
  symlinkSync(relative(ROOT, target), link);
  let st;
  try {
    st = lstatSync(DIST);
  } catch {
    st = undefined;
  }
  if (st && !st.isSymbolicLink()) {
    // A dist/ directory from before builds were swapped: keep it aside like an old build.
    renameSync(DIST, join(ROOT, `${BUILD}old-${Date.now()}`));
  }
  renameSync(link, DIST);
}

/** Remove all but the newest KEEP builds that `dist` does not point at. */
function prune() {
  const current = existsSync(DIST) && lstatSync(DIST).isSymbolicLink() ? readlinkSync(DIST).split('/').pop() : undefined;
  const old = readdirSync(ROOT)
    .filter((name) => name.startsWith(BUILD) && name !== current && !/^\.dist-(tmp|link)-/.test(name))
    .map((name) => ({ name, mtime: lstatSync(join(ROOT, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of old.slice(KEEP)) rmSync(join(ROOT, name), { recursive: true, force: true });
}

const force = process.argv.includes('--force');
if (!force && builtAt() > newestSource()) process.exit(0);

const id = `${new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15)}-${process.pid}`;
const tmp = join(ROOT, `${BUILD}tmp-${id}`);
const started = Date.now();
const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  process.stderr.write('build: TypeScript is not installed: run `npm ci` first\n');
  process.exit(1);
}
/** The service, CLI, SDK and tests; then the dashboard's page code (into `web/` of the same build). */
const compile = (project, outDir) => spawnSync(process.execPath, [tsc, '-p', join(ROOT, project), '--outDir', outDir], { stdio: 'inherit', cwd: ROOT });
let result = compile('tsconfig.json', tmp);
if (result.status === 0 && existsSync(join(ROOT, 'tsconfig.web.json'))) result = compile('tsconfig.web.json', join(tmp, 'web'));
if (result.status !== 0) {
  rmSync(tmp, { recursive: true, force: true });
  process.exit(result.status ?? 1);
}
// The stamp records when the sources were read, so an edit during the build triggers the next.
writeFileSync(join(tmp, STAMP), '');
utimesSync(join(tmp, STAMP), new Date(started), new Date(started));
const final = join(ROOT, `${BUILD}${id}`);
renameSync(tmp, final);
swapTo(final);
prune();
