/**
 * HTTP against the NATS pipes: the same 256 MiB file uploaded into a backup job (curl
 * `/_upload` vs the SDK's upload into the job's input pipe) and downloaded from one (wget of a
 * `job-download` URL vs the SDK's download of the job's output pipe), on the same nats-server
 * and service in the same run (target: HTTP at least 70 % of the pipe rate). Then the
 * service's memory growth (VmRSS, sampled every 10 ms) during a 1 GiB upload and download
 * over HTTP (target: < 64 MiB). The service runs as its own process (`dist/src/main.js`, the
 * HTTP server beside it), as in production. `BENCH_MIB` (256), `BENCH_ROUNDS` (3),
 * `BENCH_MEMORY_MIB` (1024; 0 skips it).
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { NatsServer } from '../src/nats/server.js';
import { Command } from '../src/protocol/subjects.js';
import { JobsClient } from '../src/sdk/index.js';
import { bigFile } from '../test/pipes/helpers.js';
import { fmt, median, table } from './measure.js';

const MAIN = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist/src/main.js');
const HTTP_MAIN = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist/src/http/main.js');
const MiB = 1024 * 1024;

const sh = (cmd: string, args: string[], cwd: string) =>
  new Promise<string>((resolve, reject) => execFile(cmd, args, { cwd, maxBuffer: 1 << 20 }, (err, out, errOut) => (err ? reject(new Error(`${cmd}: ${errOut || err.message}`)) : resolve(out))));

function rss(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0; // the process is gone
  }
}

async function main(): Promise<void> {
  const mib = Number(process.env.BENCH_MIB ?? 256);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const memMib = Number(process.env.BENCH_MEMORY_MIB ?? 1024);
  const bytes = mib * MiB;
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-http-bench-'));
  const server = await NatsServer.start({ jetstreamDir: join(dir, 'nats') });
  const prefix = 'httpbench';
  const files = join(dir, 'data', 'files');
  const child = spawn(process.execPath, [MAIN], {
    cwd: dir,
    env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_DATA_DIR: files, JOBS_HTTP: '127.0.0.1:0', LOG_LEVEL: 'warn', JOBS_PIPE_MAX_BYTES: String(8 * Math.max(bytes, memMib * MiB) + 64 * MiB), JOBS_PIPE_RETENTION_MS: '1000' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // The HTTP server on its own too (npm run http), in a process of its own as the SDK's uploader is.
  const aloneDir = join(dir, 'alone');
  mkdirSync(aloneDir, { recursive: true });
  const alone = spawn(process.execPath, [HTTP_MAIN], {
    cwd: aloneDir,
    env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_HTTP: '127.0.0.1:0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = await JobsClient.connect({ servers: server.url, user: 'bench', prefix, timeoutMs: 120_000 });
  const times = { pipeUp: [] as number[], httpUp: [] as number[], aloneUp: [] as number[], pipeDown: [] as number[], httpDown: [] as number[], aloneDown: [] as number[] };
  let memory: { baseline: number; up: number; down: number } | undefined;
  try {
    const urlFile = join(dir, 'data', 'http.url');
    while (!existsSync(urlFile) || !(await client.query().then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
    const url = readFileSync(urlFile, 'utf8').trim();
    const aloneUrlFile = join(aloneDir, 'data', 'http.url');
    while (!existsSync(aloneUrlFile)) await new Promise((r) => setTimeout(r, 50));
    const aloneUrl = readFileSync(aloneUrlFile, 'utf8').trim();
    const source = join(dir, 'source.bin');
    bigFile(source, mib);
    bigFile(join(files, 'bench', 'source.bin'), mib);
    const httpUpload = async (file: string, target: string, at = url) => {
      const out = await sh('curl', ['-sS', '-f', `${at}/_upload`, '-u', 'bench:x', '-F', `data={"method": "backup", "params": {"source": "pipe:input", "target": "${target}"}}`, '-F', `file=@${file}`], dir);
      const info = await client.wait((JSON.parse(out) as { job_id: string }).job_id);
      if (info.error !== undefined) throw new Error(`HTTP upload job failed: ${info.error}`);
    };
    const httpDownload = async (sourceName: string, at = url) => {
      const { url: path } = await client.request(Command.jobDownload, { type: 'backup', params: { source: sourceName, target: 'pipe:output' }, filename: 'out.bin' });
      await sh('wget', ['-nv', '-O', '/dev/null', `${at}${path}`], dir);
    };
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      const up = await client.start('backup', { params: { source: 'pipe:input', target: 'copy.bin' }, pipes: { inputs: [{ size: bytes }] } });
      await client.upload(up, 0, createReadStream(source, { highWaterMark: 512 * 1024 }));
      const upInfo = await client.wait(up);
      if (upInfo.error !== undefined) throw new Error(`upload job failed: ${upInfo.error}`);
      times.pipeUp.push(performance.now() - t);

      t = performance.now();
      await httpUpload('source.bin', 'copy-http.bin');
      times.httpUp.push(performance.now() - t);

      t = performance.now();
      await httpUpload('source.bin', 'copy-alone.bin', aloneUrl);
      times.aloneUp.push(performance.now() - t);

      t = performance.now();
      const down = await client.start('backup', { params: { source: 'source.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
      const dh = createHash('sha256');
      await client.download(down, (chunk) => void dh.update(chunk));
      await client.wait(down);
      times.pipeDown.push(performance.now() - t);

      t = performance.now();
      await httpDownload('source.bin');
      times.httpDown.push(performance.now() - t);

      t = performance.now();
      await httpDownload('source.bin', aloneUrl);
      times.aloneDown.push(performance.now() - t);
      process.stderr.write(`round ${round + 1}: ${Object.entries(times).map(([k, v]) => `${k} ${fmt(bytes / 1e6 / (v.at(-1)! / 1000))} MB/s`).join(', ')}\n`);
    }
    if (memMib > 0) {
      rmSync(source, { force: true });
      rmSync(join(files, 'bench', 'source.bin'), { force: true });
      // Warm up the paths first (as the rounds do), small: the growth measured is the transfer's.
      bigFile(join(dir, 'warm.bin'), 16);
      await httpUpload('warm.bin', 'warm.bin');
      await httpDownload('warm.bin');
      bigFile(join(dir, 'big.bin'), memMib);
      const pid = child.pid!;
      const baseline = rss(pid);
      let peak = baseline;
      let timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 10);
      await httpUpload('big.bin', 'big-copy.bin').finally(() => clearInterval(timer));
      const upPeak = Math.max(peak, rss(pid));
      rmSync(join(dir, 'big.bin'));
      peak = rss(pid);
      timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 10);
      await httpDownload('big-copy.bin').finally(() => clearInterval(timer));
      memory = { baseline, up: upPeak, down: Math.max(peak, rss(pid)) };
    }
  } finally {
    await client.close();
    child.kill('SIGTERM');
    alone.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => (alone.exitCode === null ? alone.once('exit', r) : r(undefined)));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (ms: number[]) => bytes / 1e6 / (median(ms) / 1000);
  const [pipeUp, httpUp, pipeDown, httpDown] = [rate(times.pipeUp), rate(times.httpUp), rate(times.pipeDown), rate(times.httpDown)];
  const [aloneUp, aloneDown] = [rate(times.aloneUp), rate(times.aloneDown)];
  const row = (name: string, value: number, base: number) => [name, fmt(value), `${fmt((100 * value) / base)} %`, '≥ 70 %', value / base >= 0.7 ? 'PASS' : 'MISS'];
  const rows = [
    ['figure', 'MB/s', 'ratio', 'target', ''],
    [`pipe upload of ${mib} MiB (SDK into pipe:input, backup written)`, fmt(pipeUp), '', '', ''],
    row('HTTP upload (curl -F into /_upload, the same job)', httpUp, pipeUp),
    row('  the same through npm run http (a process of its own)', aloneUp, pipeUp),
    [`pipe download of ${mib} MiB (SDK from pipe:output, stream)`, fmt(pipeDown), '', '', ''],
    row('HTTP download (wget of a job-download URL, the same job)', httpDown, pipeDown),
    row('  the same through npm run http (a process of its own)', aloneDown, pipeDown),
  ];
  if (memory) {
    const grow = (peak: number) => (peak - memory!.baseline) / MiB;
    rows.push([`service RSS growth, ${memMib} MiB HTTP upload (MiB)`, fmt(grow(memory.up)), '', '< 64', grow(memory.up) < 64 ? 'PASS' : 'MISS']);
    rows.push([`service RSS growth, ${memMib} MiB HTTP download (MiB)`, fmt(grow(memory.down)), '', '< 64', grow(memory.down) < 64 ? 'PASS' : 'MISS']);
  }
  process.stdout.write(table(rows));
  process.stdout.write(`\n${rounds} rounds, median shown; node ${process.version}; service RSS before: ${memory ? fmt(memory.baseline / MiB) : '-'} MiB\n`);
}

await main();
