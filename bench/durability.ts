/**
 * `npm run bench:durability`: what keeping jobs across restarts costs at scale. In one run,
 * the service (a child process, as deployed, beside its own nats-server) is given 100,000
 * live jobs — a quarter each running, ready, pending and concluded — and then:
 * - its memory (VmRSS) with them, against the target of 1 GiB;
 * - SIGKILLed and started again: the time from the new process's start to its `ready` line
 *   (every job restored, before any command is taken), against the target of 10 s, and the
 *   restore alone as the service logs it (reading the store, rebuilding the actors); its
 *   memory once the restored jobs have their work back.
 * The throughput with persistence on and off is in `bench:throughput`.
 *
 * Options: `--jobs=N` (default 100000).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsServer } from '../src/nats/server.js';
import { storeNames } from '../src/persist/names.js';
import type { JobStartArgs } from '../src/protocol/schemas.js';
import { JobsClient } from '../src/sdk/index.js';
import { fmt, table } from './measure.js';

const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const JOBS = Number(option('jobs') ?? 100_000);
const BATCH = 250;
const LANES = 4;
const TARGET_RSS = 1024 ** 3;
const TARGET_RESTORE_MS = 10_000;
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

const out = (text: string) => process.stdout.write(text);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const MiB = (bytes: number) => `${fmt(bytes / 1024 ** 2, 0)} MiB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The four kinds of live job, a quarter each (the status each rests in, in the comment). */
const KINDS: JobStartArgs[] = [
  { type: 'test', params: { steps: 1000, 'step-ms': 3_600_000 } }, // running
  { type: 'test', params: { steps: 0, ready: true } }, // ready
  { type: 'test', params: { steps: 0 }, 'auto-finalize': false }, // pending
  { type: 'test', params: { steps: 0, result: { ok: true } }, 'auto-dismiss': false }, // concluded
];

/** The service as a child process. */
class Service {
  #child: ChildProcess | undefined;
  #out = '';
  #exited: Promise<void> = Promise.resolve();

  constructor(private readonly env: Record<string, string>) {}

  /** Start it; resolves with the ms from spawn to its `ready` line. */
  async start(): Promise<number> {
    this.#out = '';
    const t0 = performance.now();
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let ready = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (ready) return; // after ready the output is only drained
      this.#out += chunk.toString();
      if (this.#out.includes('"msg":"ready"')) ready = true;
    });
    while (!ready) {
      if (child.exitCode !== null) throw new Error(`the service exited: ${this.#out.slice(-2000)}`);
      await sleep(5);
    }
    return performance.now() - t0;
  }

  /** A field of its `jobs restored` log line. */
  restored(field: string): number | undefined {
    const line = this.#out.split('\n').find((l) => l.includes('"msg":"jobs restored"'));
    return line ? (JSON.parse(line) as Record<string, number>)[field] : undefined;
  }

  rss(): number {
    const status = readFileSync(`/proc/${this.#child?.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
  }

  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }
}

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-durability-nats-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-durability-data-'));
  const server = await NatsServer.start({ jetstreamDir: storeDir });
  const prefix = `durable${process.pid}`;
  const service = new Service({
    NATS_URL: server.url,
    JOBS_PREFIX: prefix,
    JOBS_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    JOBS_MAX_JOBS_PER_OWNER: String(JOBS * 2),
    JOBS_KEEP_CONCLUDED: String(JOBS * 2),
  });
  const client = await JobsClient.connect({ servers: server.url, user: 'bench', prefix, timeoutMs: 120_000, connection: { noAsyncTraces: true } });
  try {
    await service.start();

    // The live jobs, started in transactions of 250 (individual), four in flight; a start is
    // answered once its jobs are saved.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (next < JOBS) {
          const start = next;
          const size = Math.min(BATCH, JOBS - start);
          next += size;
          const actions = Array.from({ length: size }, (_, i) => ({ ...KINDS[(start + i) % KINDS.length]!, id: `j${start + i}` }));
          await client.transaction(actions, 'individual');
        }
      }),
    );
    const startSeconds = (performance.now() - t0) / 1000;
    // The service at rest with its jobs: its RSS once V8 has collected the garbage of the
    // start burst (its memory reducer runs a few seconds after allocation slows down).
    const rssSamples: number[] = [];
    for (let i = 0; i < 30; i++) {
      await sleep(1000);
      rssSamples.push(service.rss());
    }
    const rssBefore = rssSamples.at(-1)!;
    out(`RSS at rest, every 5 s: ${rssSamples.filter((_, i) => i % 5 === 4).map(MiB).join(', ')}\n`);
    const jsm = await jetstreamManager(client.nc);
    const kv = await jsm.streams.info(`KV_${storeNames(prefix).bucket}`);

    await service.kill();
    const restartMs = await service.start();
    const restored = service.restored('restored');
    const restoreMs = service.restored('ms');
    const readMs = service.restored('readMs');
    await sleep(5000); // the restored jobs get their work back
    const rssAfter = service.rss();

    out(`\n${fmt(JOBS, 0)} live jobs (a quarter each running, ready, pending, concluded), started in ${fmt(startSeconds, 1)} s (${fmt(JOBS / startSeconds, 0)} jobs/s)\n`);
    out(`job store: ${fmt(kv.state.messages, 0)} records, ${MiB(kv.state.bytes)}\n\n`);
    out(
      table([
        ['figure', 'measured', 'target', ''],
        [`service RSS with ${fmt(JOBS, 0)} live jobs`, MiB(rssBefore), `< ${MiB(TARGET_RSS)}`, rssBefore < TARGET_RSS ? 'PASS' : 'MISS'],
        [
          'SIGKILL, then start to ready (every job restored)',
          `${fmt(restartMs / 1000, 2)} s`,
          `< ${TARGET_RESTORE_MS / 1000} s`,
          restartMs < TARGET_RESTORE_MS ? 'PASS' : 'MISS',
        ],
        ['    of which the restore', `${fmt((restoreMs ?? NaN) / 1000, 2)} s`, '', ''],
        ['    of which reading the store', `${fmt((readMs ?? NaN) / 1000, 2)} s`, '', ''],
        ['    jobs restored', fmt(restored ?? NaN, 0), fmt(JOBS, 0), restored === JOBS ? 'PASS' : 'MISS'],
        ['service RSS after the restore, work given back', MiB(rssAfter), `< ${MiB(TARGET_RSS)}`, rssAfter < TARGET_RSS ? 'PASS' : 'MISS'],
      ]),
    );
    out(`\nload average at the end ${load()}\n`);
  } finally {
    await client.close();
    await service.kill();
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
