/**
 * `jobctl serve` runs the same service as `npm start` (other jobctl commands reach it; SIGTERM
 * stops it with 0), and `jobctl worker` runs the worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startNatsServer } from '../support/stack.js';
import { jobctl, spawnCli } from './helpers.js';

describe('jobctl serve and worker', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.stop());

  test('serve: the service on --server and --prefix, reachable by the other commands; SIGTERM exits 0', async () => {
    const prefix = `serve${process.pid}`;
    const svc = spawnCli(['serve', '--server', server.url, '--prefix', prefix], { env: { LOG_LEVEL: 'info' } });
    try {
      await svc.until('ready', (o) => o.stdout.includes('"msg":"ready"'));
      const r = await jobctl(['--server', server.url, '--prefix', prefix, '--user', 'alice', 'call', '--job', 'test', '{"steps": 1, "step-ms": 1, "result": 1}']);
      assert.deepEqual([r.code, r.stdout], [0, '1\n'], r.stderr);
      svc.child.kill('SIGTERM');
      const exit = await svc.exited;
      assert.equal(exit.code, 0);
      const lines = exit.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; prefix?: string });
      assert.equal(lines.find((l) => l.msg === 'ready')?.prefix, prefix);
      assert.equal(lines.at(-1)?.msg, 'bye');
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  test('serve with a bad setting says so in one line and exits 1', async () => {
    const r = await jobctl(['serve', '--server', server.url], { env: { LOG_LEVEL: 'loud' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^jobstate: Invalid setting LOG_LEVEL/);
  });

  test('worker: the worker process on --server and --prefix; SIGTERM exits 0', async () => {
    const prefix = `worker${process.pid}`;
    const proc = spawnCli(['worker', '--server', server.url, '--prefix', prefix], { env: { LOG_LEVEL: 'info' } });
    try {
      await proc.until('ready', (o) => o.stdout.includes('"msg":"ready"'));
      const ready = proc.stdout().split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string; prefix?: string }) : undefined)).find((l) => l?.msg === 'ready');
      assert.equal(ready?.prefix, prefix);
      proc.child.kill('SIGTERM');
      assert.equal((await proc.exited).code, 0);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
