/**
 * Ctrl-C on `npm start`, the way a terminal does it: SIGINT to the whole process group of
 * `npm start` (npm, and the service it runs) while commands are in flight. The service must
 * save everything, stop its embedded nats-server itself (the server is in its own process
 * group and does not get the terminal's SIGINT), exit 0 without an error line, and have every
 * acknowledged change after a restart. SIGINT to npm's pid alone must stop it too.
 *
 * `npm start` runs in a scratch directory whose package.json, dist, scripts and sources are
 * the repository's (symlinks), so its data/ and nats-server are private to the test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { JobsClient } from '../../src/sdk/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LINKED = ['package.json', 'package-lock.json', 'node_modules', 'dist', 'scripts', 'bin', 'src', 'machines', 'test', 'bench', 'tsconfig.json'];

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-ctrlc-'));
  for (const name of LINKED) symlinkSync(join(ROOT, name), join(dir, name));
  copyFileSync(join(ROOT, 'nats.conf'), join(dir, 'nats.conf'));
  return dir;
}

interface NpmStart {
  child: ChildProcess;
  out: () => string;
  lines: () => Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** `npm start` in `cwd`, detached: its own process group, as a terminal's foreground job. */
function npmStart(cwd: string): NpmStart {
  const child = spawn('npm', ['start'], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NATS_URL: '', LOG_LEVEL: 'info', LOG_FORMAT: '' },
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    out: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const ready = (run: NpmStart) => until('ready', () => (run.lines().some((l) => l.msg === 'ready') ? true : undefined));

/**
 * Lines that say something went wrong: pino errors, warnings past startup (after `ready`: a
 * startup warning such as `HTTP port taken: listening on a free one` says how it started, not
 * how it stopped), or a crash.
 */
function trouble(run: NpmStart): string[] {
  const lines = run.lines();
  const pastStartup = lines.slice(lines.findIndex((l) => l.msg === 'ready') + 1);
  const bad = [...lines.filter((l) => Number(l.level) >= 50), ...pastStartup.filter((l) => Number(l.level) === 40)];
  const raw = run.out().split('\n').filter((l) => /Error|Unhandled|ERR!|at .*\.js:\d+/.test(l) && !l.startsWith('{'));
  return [...bad.map((l) => JSON.stringify(l)), ...raw];
}

const serverGone = (url: string) =>
  JobsClient.connect({ servers: url, user: 'alice', connection: { reconnect: false, maxReconnectAttempts: 0 } }).then(
    async (c) => {
      await c.close();
      return false;
    },
    () => true,
  );

describe('Ctrl-C on npm start', () => {
  const dirs: string[] = [];
  const runs: NpmStart[] = [];
  after(() => {
    for (const run of runs) if (run.child.exitCode === null && run.child.pid) process.kill(-run.child.pid, 'SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('SIGINT to the process group with changes in flight: exit 0, no error line, everything there after a restart', async () => {
    const cwd = scratch();
    dirs.push(cwd);
    const first = npmStart(cwd);
    runs.push(first);
    await ready(first);
    const url = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
    const client = await JobsClient.connect({ servers: url, user: 'alice', timeoutMs: 30_000 });
    const started: string[] = [];
    const paused: string[] = [];
    try {
      for (let i = 0; i < 10; i++) started.push(await client.start('test', { params: { steps: 1000, 'step-ms': 20 } }));
      // In flight: more starts and pauses, sent without waiting, then the terminal's Ctrl-C.
      const inflight = [
        ...Array.from({ length: 20 }, () => client.start('test', { params: { steps: 1000, 'step-ms': 20 } }).then((id) => void started.push(id))),
        ...started.slice(0, 5).map((id) => client.pause(id).then(() => void paused.push(id))),
      ].map((p) => p.catch(() => undefined));
      await client.nc.flush();
      process.kill(-first.child.pid!, 'SIGINT');
      await Promise.all(inflight);
    } finally {
      await client.close().catch(() => undefined);
    }
    const { code, signal } = await first.exited;
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, first.out());
    assert.deepEqual(trouble(first), [], 'no error or warning line on the way out');
    assert.ok(first.lines().some((l) => l.msg === 'bye'), first.out());
    assert.ok(await serverGone(url), 'the service stopped its nats-server');

    const second = npmStart(cwd);
    runs.push(second);
    await ready(second);
    const url2 = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
    const again = await JobsClient.connect({ servers: url2, user: 'alice' });
    try {
      const jobs = new Map((await again.query()).map((j) => [j.id, j]));
      for (const id of started) assert.ok(jobs.has(id), `job ${id} (its start was acknowledged) is there after the restart`);
      for (const id of paused) assert.equal(jobs.get(id)?.status, 'paused', `job ${id} (its pause was acknowledged) is still paused`);
    } finally {
      await again.close();
    }
    process.kill(second.child.pid!, 'SIGINT');
    assert.deepEqual(await second.exited, { code: 0, signal: null }, second.out());
    assert.ok(await serverGone(url2));
  });

  test("SIGINT to npm's pid alone stops the service and its nats-server", async () => {
    const cwd = scratch();
    dirs.push(cwd);
    const run = npmStart(cwd);
    runs.push(run);
    await ready(run);
    const url = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
    run.child.kill('SIGINT');
    // A stall bound only (npm used to sit on the signal; the service stops in well under a second).
    let stall: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([run.exited, new Promise((r) => (stall = setTimeout(() => r('still running after 60 s'), 60_000)))]);
    clearTimeout(stall); // else this file's process waits it out
    assert.deepEqual(outcome, { code: 0, signal: null }, run.out());
    assert.deepEqual(trouble(run), []);
    assert.ok(await serverGone(url), 'the service stopped its nats-server');
  });
});
