/**
 * LOG_FORMAT=pretty: the service logs readable lines (pino-pretty) for a terminal, with the
 * same fields; an unknown format is a bad setting, said in one line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startNatsServer } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'dist/src/main.js');

function run(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

describe('LOG_FORMAT', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  before(async () => {
    server = await startNatsServer();
  });
  after(() => server.stop());

  test('pretty: one readable line per entry, with level, message and fields', async () => {
    const svc = run({ NATS_URL: server.url, JOBS_PREFIX: `pretty${process.pid}`, LOG_FORMAT: 'pretty' });
    try {
      const deadline = Date.now() + 30_000;
      while (!/\bready\b/.test(svc.out()) && Date.now() < deadline && svc.child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      const lines = svc.out().trim().split('\n');
      const ready = lines.find((l) => /INFO.*ready/.test(l));
      assert.ok(ready, svc.out() + svc.err());
      assert.ok(!lines.some((l) => l.startsWith('{')), 'no JSON lines');
      assert.match(svc.out(), /prefix: "pretty\d+"/, 'the fields are there, one per line');
      svc.child.kill('SIGTERM');
      assert.equal(await svc.exited, 0);
      assert.match(svc.out(), /INFO.*bye/);
    } finally {
      svc.child.kill('SIGKILL');
    }
  });

  test('an unknown format is a bad setting', async () => {
    const svc = run({ NATS_URL: server.url, LOG_FORMAT: 'fancy' });
    assert.equal(await svc.exited, 1);
    assert.match(svc.err(), /^jobstate: Invalid setting LOG_FORMAT/);
  });
});
