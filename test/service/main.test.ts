/**
 * `npm start` as a process: the service on NATS_URL, the embedded default (with its port
 * taken), clean shutdown on SIGTERM/SIGINT, and the one-line message without nats-server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { JobsClient } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'dist/src/main.js');

interface Running {
  child: ChildProcess;
  lines: () => Array<Record<string, unknown>>;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: NodeJS.ProcessEnv, cwd = ROOT): Running {
  const child = spawn(process.execPath, [MAIN], { cwd, env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    stderr: () => err,
    exited,
  };
}

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('npm start (dist/src/main.js)', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.stop());

  test('with NATS_URL it serves there, logs as JSON, and exits 0 on SIGTERM after answering', async () => {
    const prefix = `main${process.pid}`;
    const svc = run({ NATS_URL: server.url, JOBS_PREFIX: prefix });
    await until('ready', () => svc.lines().find((l) => l.msg === 'ready'));
    const client = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
    try {
      const id = await client.start('test', { params: { steps: 1, 'step-ms': 1 } });
      const info = await client.wait(id, { timeoutMs: 5000 });
      assert.equal(info.status, 'concluded');
      // The service's stdout reaches this process on its own pipe, maybe after the reply.
      const jobLines = await until('the job concluded line', () => {
        const lines = svc.lines().filter((l) => l.job === id);
        return lines.some((l) => l.msg === 'job concluded') ? lines : undefined;
      });
      for (const line of jobLines) assert.equal(line.owner, 'alice', 'every job line carries the owner');
      svc.child.kill('SIGTERM');
      assert.equal(await svc.exited, 0);
      assert.ok(svc.lines().some((l) => l.msg === 'bye'));
    } finally {
      await client.close();
      svc.child.kill('SIGKILL');
    }
  });

  test('without NATS_URL it starts its own nats-server, on another port when 4322 is taken, and stops it on SIGINT', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'jobstate-main-'));
    copyFileSync(join(ROOT, 'nats.conf'), join(cwd, 'nats.conf'));
    const squatter: Server = createServer();
    const squatted = await new Promise<boolean>((resolve) => {
      squatter.once('error', () => resolve(false));
      squatter.listen(4322, '127.0.0.1', () => resolve(true));
    });
    const svc = run({ NATS_URL: '' }, cwd);
    try {
      await until('ready', () => svc.lines().find((l) => l.msg === 'ready'));
      const warning = svc.lines().find((l) => String(l.msg).includes('WITHOUT authentication'));
      assert.ok(warning, 'the startup log says the development default has no authentication');
      const url = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
      if (squatted) assert.notEqual(url, 'nats://127.0.0.1:4322', 'a taken port is not reused');
      const client = await JobsClient.connect({ servers: url, user: 'bob' });
      const id = await client.start('test', { params: { steps: 0 } });
      assert.equal((await client.wait(id, { timeoutMs: 5000 })).status, 'concluded');
      await client.close();
      svc.child.kill('SIGINT');
      assert.equal(await svc.exited, 0);
      await assert.rejects(JobsClient.connect({ servers: url, user: 'bob', connection: { maxReconnectAttempts: 0, reconnect: false } }));
    } finally {
      svc.child.kill('SIGKILL');
      squatter.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('without nats-server it says so in one line, with how to install it', async () => {
    const svc = run({ NATS_URL: '', NATS_SERVER_BIN: '/nonexistent/nats-server' }, mkdtempSync(join(tmpdir(), 'jobstate-main-')));
    assert.equal(await svc.exited, 1);
    const lines = svc.stderr().trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /nats-server is not installed.*apt-get install nats-server/);
  });
});
