/**
 * Pipes against raw JetStream: a job's upload (job-start, the file uploaded into a backup
 * job's input pipe, the job done writing it into the data directory) and download (job-start,
 * a backup job streaming a file to its output pipe, every byte received and its digest
 * checked), each against nats.js Object Store put / get of the same file on the same
 * nats-server in the same run (target: at least 70 %). A second baseline is plain JetStream
 * with the pipes' own flow control and no job: publishing 512 KiB chunks with 16 awaiting
 * acks, and reading them with an ordered consumer bounded by max_bytes. The service runs as its own process,
 * as in production. `BENCH_MIB` (256) sets the file size, `BENCH_ROUNDS` (3) the rounds;
 * the table shows the median round.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { connect } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { bigFile } from '../test/pipes/helpers.js';
import { fmt, median, table } from './measure.js';

const MAIN = join(fileURLToPath(new URL('../../', import.meta.url)), 'dist/src/main.js');
const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const mib = Number(process.env.BENCH_MIB ?? 256);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const bytes = mib * MiB;
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-pipes-bench-'));
  const server = await NatsServer.start({ jetstreamDir: join(dir, 'nats') });
  const prefix = 'pipebench';
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'warn', JOBS_PIPE_MAX_BYTES: String(4 * bytes + 64 * MiB) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const nc = await connect({ servers: server.url });
  const client = await JobsClient.connect({ servers: server.url, user: 'bench', prefix, timeoutMs: 120_000 });
  const source = join(dir, 'source.bin');
  bigFile(source, mib);
  bigFile(join(dir, 'data', 'source.bin'), mib);
  const times = { put: [] as number[], get: [] as number[], upload: [] as number[], download: [] as number[], publish: [] as number[], consume: [] as number[] };
  try {
    while (!(await client.query().then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
    const os = await new Objm(nc).create('bench', { max_bytes: 4 * bytes });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'RAW', subjects: ['raw.>'], max_bytes: 2 * bytes });
    const js = jetstream(nc);
    for (let round = 0; round < rounds; round++) {
      let t = performance.now();
      await os.put({ name: 'file' }, Readable.toWeb(createReadStream(source, { highWaterMark: 128 * 1024 })) as ReadableStream<Uint8Array>);
      times.put.push(performance.now() - t);

      t = performance.now();
      const got = await os.get('file');
      const h = createHash('sha256');
      for await (const chunk of got!.data) h.update(chunk);
      await got!.error;
      times.get.push(performance.now() - t);

      t = performance.now();
      const up = await client.start('backup', { params: { source: 'pipe:input', target: 'copy.bin' }, pipes: { inputs: [{ size: bytes }] } });
      await client.upload(up, 0, createReadStream(source, { highWaterMark: 512 * 1024 }));
      const upInfo = await client.wait(up);
      if (upInfo.error !== undefined) throw new Error(`upload job failed: ${upInfo.error}`);
      times.upload.push(performance.now() - t);

      t = performance.now();
      const down = await client.start('backup', { params: { source: 'source.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
      const dh = createHash('sha256');
      await client.download(down, (chunk) => void dh.update(chunk));
      times.download.push(performance.now() - t);
      await client.wait(down);

      await jsm.streams.purge('RAW');
      t = performance.now();
      const acks: Array<Promise<unknown>> = [];
      for await (const chunk of createReadStream(source, { highWaterMark: 512 * 1024 })) {
        acks.push(js.publish('raw.file', chunk as Buffer));
        if (acks.length >= 16) await acks.shift();
      }
      await Promise.all(acks);
      times.publish.push(performance.now() - t);

      t = performance.now();
      const consumer = await js.consumers.get('RAW', { filter_subjects: 'raw.file' });
      const messages = await consumer.consume({ max_bytes: 8 * MiB });
      const rh = createHash('sha256');
      let read = 0;
      for await (const m of messages) {
        rh.update(m.data);
        read += m.data.length;
        if (read >= bytes) break;
      }
      times.consume.push(performance.now() - t);
      await consumer.delete().catch(() => undefined);
      process.stderr.write(`round ${round + 1}: ${Object.entries(times).map(([k, v]) => `${k} ${fmt(bytes / 1e6 / (v.at(-1)! / 1000))} MB/s`).join(', ')}\n`);
    }
  } finally {
    await client.close();
    await nc.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (ms: number[]) => bytes / 1e6 / (median(ms) / 1000);
  const [put, get, upload, download] = [rate(times.put), rate(times.get), rate(times.upload), rate(times.download)];
  const row = (name: string, value: number, base: number) => [name, fmt(value), `${fmt((100 * value) / base)} %`, '≥ 70 %', value / base >= 0.7 ? 'PASS' : 'MISS'];
  process.stdout.write(
    table([
      ['figure', 'MB/s', 'ratio', 'target', ''],
      [`Object Store put of a ${mib} MiB file (nats.js, raw)`, fmt(put), '', '', ''],
      ['upload: job-start, upload into pipe:input, backup written', ...row('', upload, put).slice(1)],
      [`Object Store get of the same file (nats.js, raw)`, fmt(get), '', '', ''],
      ['download: job-start, backup to pipe:output, all received', ...row('', download, get).slice(1)],
      ['JetStream publish, 512 KiB, 16 awaiting acks (raw, no job)', fmt(rate(times.publish)), `upload: ${fmt((100 * upload) / rate(times.publish))} %`, '', ''],
      ['ordered consumer, max_bytes 8 MiB (raw, no job)', fmt(rate(times.consume)), `download: ${fmt((100 * download) / rate(times.consume))} %`, '', ''],
    ]),
  );
  process.stdout.write(`\n${rounds} rounds, median shown; node ${process.version}, ${mib} MiB\n`);
}

await main();
