/**
 * Bounded memory: the service, run as its own process (`dist/src/main.js`), takes a 256 MiB
 * upload into the data directory and serves a 256 MiB download of it, both with the SHA-256
 * of the original, while its resident memory (VmRSS, sampled every 10 ms from /proc) grows
 * by less than 64 MiB over what it used before the transfers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { JobsClient } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';
import { MiB, bigFile, fileSha256, hashingSink, rss, sampler } from './helpers.js';

const MAIN = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist/src/main.js');
const SIZE_MIB = 256;

describe('memory of the service during 256 MiB transfers', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let child: ChildProcess;
  let client: JobsClient;
  let dir: string;
  const prefix = `mem${process.pid}`;

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'jobstate-mem-'));
    child = spawn(process.execPath, [MAIN], {
      env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    client = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
    // Until the service answers.
    for (;;) {
      const ok = await client.query().then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  after(async () => {
    await client?.close();
    child?.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a 256 MiB upload and a 256 MiB download keep the same SHA-256 and the service within 64 MiB', async (t) => {
    const t0 = performance.now();
    const source = join(dir, 'source.bin');
    bigFile(source, SIZE_MIB);
    bigFile(join(dir, 'warm.bin'), 4);
    const want = await fileSha256(source);

    // Warm up: the same paths once, small, so that code, stream and buffers exist.
    const warm = await client.start('backup', { params: { source: 'pipe:input', target: 'warm.bin' }, pipes: { inputs: [{ size: 4 * MiB }] } });
    await client.upload(warm, 0, createReadStream(join(dir, 'warm.bin')));
    await client.wait(warm);
    const warmOut = await client.start('backup', { params: { source: 'warm.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
    await client.download(warmOut, () => undefined);
    await client.wait(warmOut);

    const t1 = performance.now();
    const pid = child.pid!;
    const baseline = rss(pid);

    const up = sampler(pid);
    const id = await client.start('backup', { params: { source: 'pipe:input', target: 'copy.bin' }, pipes: { inputs: [{ name: 'source.bin', size: SIZE_MIB * MiB }] } });
    const sent = await client.upload(id, 0, createReadStream(source, { highWaterMark: 512 * 1024 }));
    const upInfo = await client.wait(id);
    const upPeak = up.stop();
    const t2 = performance.now();
    assert.equal(upInfo.error, undefined);
    assert.equal(sent.size, SIZE_MIB * MiB);
    assert.equal(await fileSha256(join(dir, 'data', 'alice', 'copy.bin')), want);

    const t3 = performance.now();
    const down = sampler(pid);
    const out = await client.start('backup', { params: { source: 'copy.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
    const got = hashingSink();
    await client.download(out, got.sink);
    const downInfo = await client.wait(out);
    const downPeak = down.stop();
    const t4 = performance.now();
    assert.equal(downInfo.error, undefined);
    assert.equal(got.size, SIZE_MIB * MiB);
    assert.equal(got.hex(), want);

    const mib = (n: number) => (n / MiB).toFixed(1);
    t.diagnostic(`service RSS: ${mib(baseline)} MiB before; peak ${mib(upPeak)} MiB during the upload (+${mib(upPeak - baseline)}), ${mib(downPeak)} MiB during the download (+${mib(downPeak - baseline)})`);
    t.diagnostic(`times (ms): prepare ${Math.round(t1 - t0)}, upload ${Math.round(t2 - t1)}, check ${Math.round(t3 - t2)}, download ${Math.round(t4 - t3)}`);
    assert.ok(upPeak - baseline < 64 * MiB, `the upload grew the service by ${mib(upPeak - baseline)} MiB`);
    assert.ok(downPeak - baseline < 64 * MiB, `the download grew the service by ${mib(downPeak - baseline)} MiB`);
  });
});
