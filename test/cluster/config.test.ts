/**
 * config/cluster/n1..n3.conf start a 3-node cluster that elects a JetStream meta leader. Run in
 * a temporary working directory (their store dirs are relative: ./data/cluster/nX), on their
 * fixed ports; skipped when one of those ports is taken on this machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { findNatsServer } from '../../src/nats/server.js';

const CONFIG_DIR = fileURLToPath(new URL('../../../config/cluster', import.meta.url));
const PORTS = [4301, 4302, 4303, 6301, 6302, 6303, 8301, 8302, 8303];

const free = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });

test('config/cluster: three nodes start and elect a meta leader', async (t) => {
  const busy = [];
  for (const port of PORTS) if (!(await free(port))) busy.push(port);
  if (busy.length > 0) return t.skip(`ports taken: ${busy.join(', ')}`);
  const cwd = mkdtempSync(join(tmpdir(), 'jobstate-cluster-conf-'));
  cpSync(CONFIG_DIR, join(cwd, 'config', 'cluster'), { recursive: true });
  const children: ChildProcess[] = [];
  try {
    for (const n of [1, 2, 3]) children.push(spawn(findNatsServer()!, ['-c', `config/cluster/n${n}.conf`], { cwd, stdio: 'ignore' }));
    const deadline = Date.now() + 20_000;
    let leaders: string[] = [];
    while (Date.now() < deadline) {
      leaders = await Promise.all(
        [8301, 8302, 8303].map((port) =>
          fetch(`http://127.0.0.1:${port}/jsz`, { signal: AbortSignal.timeout(1000) })
            .then((r) => r.json() as Promise<{ meta_cluster?: { leader?: string; cluster_size?: number } }>)
            .then((j) => (j.meta_cluster?.cluster_size === 3 ? (j.meta_cluster.leader ?? '') : ''))
            .catch(() => ''),
        ),
      );
      if (leaders.every((l) => l !== '' && l === leaders[0])) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(leaders[0]?.startsWith('jobstate-n'), `no common meta leader: ${JSON.stringify(leaders)}`);
    assert.ok(leaders.every((l) => l === leaders[0]));
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(cwd, { recursive: true, force: true });
  }
});
