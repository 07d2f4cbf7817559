/**
 * The dashboard's server side without a browser: the model the page gets is the machine's
 * verb table (the one docs/machines/job.md shows) and statechart; a nats-server's WebSocket
 * listener moves to a free port when the wanted one is taken; nats.js wrapped for browsers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { esmOfCommonJs } from '../../src/dashboard/browser-module.js';
import { machineModel } from '../../src/dashboard/model.js';
import { NatsServer } from '../../src/nats/server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test("the page's verb table is the one docs/machines/job.md shows", () => {
  const doc = readFileSync(`${ROOT}docs/machines/job.md`, 'utf8');
  const lines = doc.split('\n').filter((l) => l.startsWith('| '));
  const header = lines.find((l) => l.startsWith('| status |'))!.split('|').slice(2, -1).map((c) => c.trim());
  const model = machineModel();
  assert.deepEqual(header, model.verbs);
  let rows = 0;
  for (const line of lines) {
    const m = /^\| `([a-z]+)` \|(.*)\|$/.exec(line);
    if (!m || !(m[1]! in model.accepts)) continue;
    const marks = m[2]!.split('|').map((c) => c.trim());
    assert.deepEqual(model.accepts[m[1]!], header.filter((_, i) => marks[i] === '✓'), m[1]);
    rows++;
  }
  assert.equal(rows, model.statuses.length);
});

test('the statechart has a box per status and the arrows of the machine', () => {
  const { svg, statuses } = machineModel();
  for (const s of statuses) assert.match(svg, new RegExp(`<g class="state" data-status="${s}">`));
  assert.match(svg, /data-from="running" data-to="paused"/);
  assert.match(svg, /data-from="paused" data-to="running"/);
  assert.doesNotMatch(svg, /data-from="concluded" data-to="running"/);
});

function upgrades(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }, () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString().split('\r\n')[0]!);
    });
    socket.once('error', reject);
  });
}

test("a taken WebSocket port: the server listens on a free one and says which", async () => {
  const squatter: Server = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  const taken = (squatter.address() as { port: number }).port;
  const server = await NatsServer.start({ websocket: { port: taken } });
  try {
    assert.notEqual(server.wsPort, taken);
    assert.equal(server.wsUrl, `ws://127.0.0.1:${server.wsPort}`);
    assert.match(await upgrades(server.wsPort!), /^HTTP\/1\.1 101/);
  } finally {
    await server.stop();
    squatter.close();
  }
});

test('two servers run with nats.conf at once: each its own WebSocket port, not the one in the file', async () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'jobstate-ws-')));
  const servers = await Promise.all(dirs.map((cwd) => NatsServer.start({ config: `${ROOT}nats.conf`, cwd })));
  try {
    const [a, b] = servers.map((s) => s.wsPort!);
    assert.ok(a !== undefined && b !== undefined && a !== b, `${a} ${b}`);
    for (const s of servers) assert.match(await upgrades(s.wsPort!), /^HTTP\/1\.1 101/);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test('nats.js as one ES module: its exports, no Node built-in needed', () => {
  const text = esmOfCommonJs('@nats-io/nats-core');
  assert.match(text, /export const \{[^}]*\bwsconnect\b[^}]*\} = main;/);
  assert.doesNotMatch(text, /\bimport\s/);
});
