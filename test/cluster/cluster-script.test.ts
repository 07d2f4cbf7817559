/**
 * `npm run cluster` (scripts/cluster.mjs) starts three nats-servers and three instances, each
 * of which answers, and stops them all cleanly on SIGINT. Ports shifted away from the
 * defaults (CLUSTER_PORT_SHIFT) so that it runs beside anything; skipped when they are taken.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { connect, createInbox } from '@nats-io/transport-node';
import { JobsClient } from '../../src/sdk/index.js';
import { findNatsServer } from '../../src/nats/server.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/cluster.mjs', import.meta.url));

const free = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

test('npm run cluster: three servers and three instances that answer, all stopped by SIGINT', { timeout: 60_000 }, async (t) => {
  if (!findNatsServer()) return t.skip('nats-server is not installed');
  const shift = 10_000 + (process.pid % 1400) * 10;
  const ports = [4301, 4302, 4303, 6301, 6302, 6303, 8301, 8302, 8303].map((p) => p + shift);
  const busy = [];
  for (const port of ports) if (!(await free(port))) busy.push(port);
  if (busy.length > 0) return t.skip(`ports taken: ${busy.join(', ')}`);
  const data = mkdtempSync(join(tmpdir(), 'jobstate-cluster-script-'));
  const began = Date.now();
  const child = spawn(process.execPath, [SCRIPT], {
    env: { ...process.env, CLUSTER_PORT_SHIFT: String(shift), CLUSTER_DATA: data, CLUSTER_HTTP: 'off', JOBS_PREFIX: `cs${process.pid}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within 40 s:\n${out}`)), 40_000);
      void exit.then((code) => reject(new Error(`exited (${code}) before ready:\n${out}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        out += line + '\n';
        if (line === 'cluster: ready') {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const urls = [1, 2, 3].map((n) => `nats://127.0.0.1:${4300 + n + shift}`);
    for (const n of [1, 2, 3]) assert.match(out, new RegExp(`i${n} {2}jobstate +pid \\d+ +up`), out);

    // Three service instances answer the micro-service ping.
    const nc = await connect({ servers: urls[0] });
    const pongs: string[] = [];
    const sub = nc.subscribe(createInbox(), {
      callback: (_err, msg) => void pongs.push(msg.json<{ id: string }>().id),
    });
    nc.publish('$SRV.PING.jobstate', '', { reply: sub.getSubject() });
    const deadline = Date.now() + 3000;
    while (pongs.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(new Set(pongs).size, 3, `pongs: ${JSON.stringify(pongs)}`);
    await nc.close();

    // A client on each server gets the job types (its server's instance is the nearest member of the queue group).
    for (const url of urls) {
      const client = await JobsClient.connect({ servers: url, user: 'alice', prefix: `cs${process.pid}` });
      try {
        const types = await client.request('query-job-types', {});
        assert.ok(JSON.stringify(types).includes('"test"'), JSON.stringify(types));
      } finally {
        await client.close();
      }
    }
    assert.ok(Date.now() - began < 40_000, `started and answered in ${Date.now() - began} ms`);

    child.kill('SIGINT');
    const code = await Promise.race([exit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000).unref())]);
    assert.equal(code, 0, out);
    assert.match(out, /cluster: stopped/);
    // Nothing listens any more.
    for (const port of ports) assert.ok(await free(port), `port ${port} still taken`);
  } finally {
    // SIGTERM: the script stops its servers and instances too.
    child.kill('SIGTERM');
    await Promise.race([exit, new Promise((r) => setTimeout(r, 20_000).unref())]);
    child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
});
