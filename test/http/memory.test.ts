/**
 * Streaming end to end over HTTP, and `npm start`'s HTTP server: the service run as its own
 * process (`dist/src/main.js`, JOBS_HTTP on a free port, its URL in data/http.url) takes a
 * 192 MiB curl upload into a backup and serves it back through a job-download URL with wget,
 * byte-identical, while its resident memory (VmRSS, sampled every 10 ms) grows by less than
 * 64 MiB. `npm run bench:http` measures 1 GiB.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Command } from '../../src/protocol/subjects.js';
import { JobsClient } from '../../src/sdk/index.js';
import { MiB, bigFile, fileSha256, rss, sampler } from '../pipes/helpers.js';
import { startNatsServer } from '../support/stack.js';
import { run } from './helpers.js';

const MAIN = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist/src/main.js');
const SIZE_MIB = 192;

const until = async (what: () => Promise<boolean> | boolean) => {
  while (!(await what())) await new Promise((r) => setTimeout(r, 50));
};

describe('memory of the service during HTTP transfers', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let child: ChildProcess;
  let client: JobsClient;
  let dir: string;
  let url: string;
  const prefix = `hm${process.pid}`;

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'jobstate-http-mem-'));
    child = spawn(process.execPath, [MAIN], {
      cwd: dir,
      env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_DATA_DIR: join(dir, 'data', 'files'), JOBS_HTTP: '127.0.0.1:0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    client = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
    const urlFile = join(dir, 'data', 'http.url');
    await until(() => existsSync(urlFile) && readFileSync(urlFile, 'utf8').endsWith('\n'));
    url = readFileSync(urlFile, 'utf8').trim();
    await until(async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200);
  });
  after(async () => {
    await client?.close();
    child?.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`a ${SIZE_MIB} MiB upload with curl and download with wget keep the SHA-256 and the service within 64 MiB`, async (t) => {
    bigFile(join(dir, 'source.bin'), SIZE_MIB);
    bigFile(join(dir, 'warm.bin'), 4);
    const want = await fileSha256(join(dir, 'source.bin'));
    const upload = async (file: string, target: string) => {
      const r = await run('curl', ['-sS', '-f', `${url}/_upload`, '-u', 'alice:x', '-F', `data={"method": "backup", "params": {"source": "pipe:input", "target": "${target}"}}`, '-F', `file=@${file}`], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await client.wait((JSON.parse(r.stdout) as { job_id: string }).job_id)).error, undefined);
    };
    const download = async (source: string, filename: string) => {
      const { url: path } = await client.request(Command.jobDownload, { type: 'backup', params: { source, target: 'pipe:output' }, filename });
      const r = await run('wget', ['-q', '--content-disposition', `${url}${path}`], dir);
      assert.equal(r.code, 0, r.stderr);
    };
    // Warm up: the same paths once, small.
    await upload('warm.bin', 'warm.img');
    await download('warm.img', 'warm-out.img');

    const pid = child.pid!;
    const baseline = rss(pid);
    const up = sampler(pid);
    await upload('source.bin', 'copy.img');
    const upPeak = up.stop();
    // alice's upload lands in her own folder of the data directory (docs/security.md, Files).
    assert.equal(await fileSha256(join(dir, 'data', 'files', 'alice', 'copy.img')), want);
    const down = sampler(pid);
    await download('copy.img', 'back.img');
    const downPeak = down.stop();
    assert.equal(await fileSha256(join(dir, 'back.img')), want);

    const mib = (n: number) => (n / MiB).toFixed(1);
    t.diagnostic(`service RSS ${mib(baseline)} MiB; upload peak +${mib(upPeak - baseline)} MiB, download peak +${mib(downPeak - baseline)} MiB`);
    assert.ok(upPeak - baseline < 64 * MiB, `the upload grew the service by ${mib(upPeak - baseline)} MiB`);
    assert.ok(downPeak - baseline < 64 * MiB, `the download grew the service by ${mib(downPeak - baseline)} MiB`);
  });
});
