/**
 * `npm run bench:throughput`: end-to-end jobs per second of jobstate over NATS against BullMQ
 * on Redis, in one run. Each system runs N no-op jobs from submission until every one is done
 * and gone (jobstate: concluded and auto-dismissed, its JOB_STATUS_CHANGE `null` event
 * received; BullMQ: completed and removed), measured in rounds after a warm-up round, the
 * systems taking turns within each round so that the machine's load falls on both alike.
 *
 * Fairness on a small machine: BullMQ's producer and worker share one Node process, with
 * redis-server beside it; so here jobstate's client (submitting and subscribing to the events)
 * and service (running the jobs) share one Node process too, with a private nats-server
 * beside it. Each system thus gets one Node process and one broker process.
 *
 * Options: `--jobs=N` (default 20000), `--rounds=N` (default 3), `--batch=N` jobs per
 * transaction and addBulk (default 250), `--lanes=N` of those in flight (default 4),
 * `--only=jobstate|bullmq` (for profiling one system, without the copy rate:
 * `node --expose-gc --cpu-prof dist/bench/throughput.js --only=jobstate`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { z } from 'zod';
import { connectNats } from '../src/nats/connect.js';
import { NatsServer } from '../src/nats/server.js';
import type { JobStartArgs } from '../src/protocol/schemas.js';
import { defineJob } from '../src/runtime/handler.js';
import { JobTypes } from '../src/runtime/registry.js';
import { JobsClient } from '../src/sdk/index.js';
import type { EventStream } from '../src/sdk/index.js';
import { JobService } from '../src/service/service.js';
import { cpuMs, natsServerPid } from './children.js';
import { copyRateTable, measureCopyRate } from './copy-rate.js';
import { collector, fmt, median, table } from './measure.js';

const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const JOBS = Number(option('jobs') ?? 20_000);
const ROUNDS = Number(option('rounds') ?? 3);
const ONLY = option('only');
const WARMUP_JOBS = Math.min(JOBS, 5_000);
/** Jobs per transaction (the protocol allows at most 256 actions) and per addBulk. */
const BATCH = Number(option('batch') ?? 250);
/** Transactions (and addBulk calls) in flight at once. */
const BATCHES_IN_FLIGHT = Number(option('lanes') ?? 4);
/** job-start requests (and Queue.add calls) in flight at once. */
const SINGLES_IN_FLIGHT = 100;
/** BullMQ worker concurrency. */
const WORKER_CONCURRENCY = 100;
/** A round fails if no job finishes for this long. */
const STALL_MS = 30_000;
const TARGET_RATIO = 2;
const REDIS = { host: '127.0.0.1', port: 6379 } as const;

const out = (text: string) => process.stdout.write(text);
const finite = (value: number): number | undefined => (Number.isFinite(value) ? value : undefined);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** A system under test: runs `n` jobs and resolves once all are done and gone. */
interface System {
  readonly name: string;
  run(n: number): Promise<void>;
  /** CPU seconds the broker process has used so far (user + system), if known (never NaN). */
  brokerCpu(): Promise<number | undefined>;
  /** Events received in the last run, per job, if the system counts them. */
  eventsPerJob?(): number;
}

interface RoundResult {
  system: string;
  round: string;
  load: string;
  seconds: number;
  jobsPerSecond: number;
  /** This Node process's CPU µs per job (user + system, all threads). */
  nodeCpu: number;
  /** The broker's CPU µs per job, if known. */
  brokerCpu: number | undefined;
  eventsPerJob: number | undefined;
}

/** Counts finished jobs and resolves when a target is reached; rejects when they stop coming. */
class Countdown {
  count = 0;
  #target = Infinity;
  #resolve: (() => void) | undefined;

  tick(): void {
    this.count++;
    if (this.count >= this.#target) this.#resolve?.();
  }

  /** Resolves once `n` more jobs have finished than when called. */
  async wait(n: number, label: string): Promise<void> {
    const start = this.count;
    this.#target = start + n;
    let last = this.count;
    let lastChange = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#resolve = resolve;
        if (this.count >= this.#target) resolve();
        timer = setInterval(() => {
          if (this.count !== last) {
            last = this.count;
            lastChange = performance.now();
          } else if (performance.now() - lastChange > STALL_MS) {
            reject(new Error(`${label}: stalled at ${this.count - start}/${n} jobs finished`));
          }
        }, 1000);
      });
    } finally {
      clearInterval(timer);
      this.#resolve = undefined;
      this.#target = Infinity;
    }
  }
}

/** Runs `total` items through `submit` in calls of up to `batch`, `lanes` calls in flight. */
async function inLanes(total: number, batch: number, lanes: number, submit: (size: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < total) {
      const size = Math.min(batch, total - next);
      next += size;
      await submit(size);
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

// ---------------------------------------------------------------------------------------------
// jobstate

const noop = defineJob('noop', { params: z.strictObject({}) }, async () => undefined);
const NOOP_ACTION: JobStartArgs = { type: 'noop', 'auto-finalize': true, 'auto-dismiss': true };
/**
 * A job that lasts one turn of the event loop: long enough for the job store to write it
 * (a no-op job is over before the store's next write, which then has nothing to do).
 */
const tick = defineJob('tick', { params: z.strictObject({}) }, () => new Promise<void>((resolve) => setImmediate(resolve)));
const TICK_ACTION: JobStartArgs = { type: 'tick', 'auto-finalize': true, 'auto-dismiss': true };

interface Jobstate {
  transactions: System;
  singles: System;
  /** Transactions of one-tick jobs. */
  ticks: System;
  close(): Promise<void>;
}

/** jobstate with its own nats-server; `persistence`: jobs kept in JetStream (the default) or in memory only. */
async function startJobstate(persistence: boolean): Promise<Jobstate> {
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-bench-nats-'));
  const server = await NatsServer.start({ jetstreamDir: storeDir });
  const serverPid = natsServerPid(server.port);
  const logger = pino({ level: 'silent' });
  const nc = await connectNats(server.url, logger);
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const types = new JobTypes().register(noop).register(tick);
  const service = await JobService.start({ nc, types, logger, prefix, ...(!persistence && { persistence: false }) });
  const client = await JobsClient.connect({ servers: server.url, user: "bench", prefix, timeoutMs: 60_000, connection: { noAsyncTraces: true } });

  // Every event of the user's jobs is delivered here and decoded; the dismissals are counted.
  const done = new Countdown();
  let events = 0;
  let eventsAtStart = 0;
  let jobsInRun = 0;
  const stream: EventStream = client.events();
  await stream.ready;
  const pumped = (async () => {
    for await (const event of stream) {
      events++;
      if (event.event === 'JOB_STATUS_CHANGE' && event.data['status'] === 'null') done.tick();
    }
  })();

  const system = (name: string, submit: (n: number) => Promise<void>): System => ({
    name,
    async run(n) {
      eventsAtStart = events;
      jobsInRun = n;
      await Promise.all([done.wait(n, name), submit(n)]);
      if (service.jobs.size !== 0) throw new Error(`${name}: ${service.jobs.size} jobs still live after all were dismissed`);
    },
    brokerCpu: async () => finite(serverPid === undefined ? NaN : cpuMs(serverPid) / 1000),
    eventsPerJob: () => (events - eventsAtStart) / jobsInRun,
  });

  const kept = persistence ? '' : ', in memory only';
  const batches = (action: JobStartArgs) => (n: number) =>
    inLanes(n, BATCH, BATCHES_IN_FLIGHT, (size) => client.transaction(Array.from({ length: size }, () => action), 'individual'));
  return {
    transactions: system(`jobstate${kept}, transaction (individual) of ${BATCH}, ${BATCHES_IN_FLIGHT} in flight`, batches(NOOP_ACTION)),
    singles: system(`jobstate${kept}, job-start, ${SINGLES_IN_FLIGHT} in flight`, (n) =>
      inLanes(n, 1, SINGLES_IN_FLIGHT, () => client.start(NOOP_ACTION.type, { 'auto-finalize': true, 'auto-dismiss': true })),
    ),
    ticks: system(`jobstate${kept}, one-tick jobs, transaction of ${BATCH}, ${BATCHES_IN_FLIGHT} in flight`, batches(TICK_ACTION)),
    async close() {
      stream.close();
      await pumped;
      await client.close();
      await service.close();
      await nc.drain().catch(() => undefined);
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// BullMQ

/** One command to the Redis at {@link REDIS} in the inline protocol; its simple or bulk string reply. */
function redisCommand(command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(REDIS);
    let data = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no reply from redis at ${REDIS.host}:${REDIS.port} within ${timeoutMs} ms`)));
    socket.once('error', fail);
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      const eol = data.indexOf('\r\n');
      if (eol < 0) return;
      const head = data.slice(0, eol);
      if (head.startsWith('+')) resolve(head.slice(1));
      else if (head.startsWith('-')) reject(new Error(`redis: ${head.slice(1)}`));
      else if (head.startsWith('$')) {
        const length = Number(head.slice(1));
        const body = Buffer.from(data.slice(eol + 2), 'utf8');
        if (body.length < length) return;
        resolve(body.subarray(0, length).toString('utf8'));
      } else reject(new Error(`redis: unexpected reply ${head}`));
      socket.end();
    });
    socket.once('connect', () => socket.write(`${command}\r\n`));
  });
}

/** Redis's CPU seconds so far (user + system, all its threads), from INFO cpu. */
async function redisCpuSeconds(): Promise<number | undefined> {
  try {
    const info = await redisCommand('INFO cpu');
    const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1]);
    return finite(field('used_cpu_user') + field('used_cpu_sys'));
  } catch {
    return undefined;
  }
}

interface Bull {
  bulk: System;
  singles: System;
  close(): Promise<void>;
}

/**
 * The parts of BullMQ this bench uses. BullMQ is the baseline, not a dependency: `npm run
 * bench:throughput` installs it (without saving) before it runs, so `npm ci` and the build
 * never need it (its optional native add-on is not on every registry).
 */
interface BullQueue {
  addBulk(jobs: Array<{ name: string; data: object }>): Promise<unknown>;
  add(name: string, data: object): Promise<unknown>;
  waitUntilReady(): Promise<unknown>;
  obliterate(opts: { force: boolean }): Promise<void>;
  close(): Promise<void>;
}
interface BullWorker {
  on(event: 'completed', listener: () => void): void;
  on(event: 'failed', listener: (job: unknown, err: Error) => void): void;
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}
interface BullModule {
  Queue: new (name: string, opts: object) => BullQueue;
  Worker: new (name: string, processor: () => Promise<unknown>, opts: object) => BullWorker;
}
const BULLMQ = 'bullmq';

async function startBullmq(): Promise<Bull> {
  const { Queue, Worker } = (await import(BULLMQ)) as BullModule;
  const name = `jobstate-bench-${randomBytes(4).toString('hex')}`;
  const connection = { ...REDIS, maxRetriesPerRequest: null };
  const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true, removeOnFail: true } });
  const done = new Countdown();
  const worker = new Worker(name, async () => undefined, { connection, concurrency: WORKER_CONCURRENCY });
  worker.on('completed', () => done.tick());
  worker.on('failed', (_job: unknown, err: Error) => process.stderr.write(`bullmq job failed: ${err.message}\n`));
  await queue.waitUntilReady();
  await worker.waitUntilReady();

  const system = (label: string, submit: (n: number) => Promise<void>): System => ({
    name: label,
    async run(n) {
      await Promise.all([done.wait(n, label), submit(n)]);
    },
    brokerCpu: redisCpuSeconds,
  });
  const data = {};
  return {
    bulk: system(`BullMQ, addBulk of ${BATCH}, ${BATCHES_IN_FLIGHT} in flight`, (n) =>
      inLanes(n, BATCH, BATCHES_IN_FLIGHT, (size) => queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data })))),
    ),
    singles: system(`BullMQ, add, ${SINGLES_IN_FLIGHT} in flight`, (n) => inLanes(n, 1, SINGLES_IN_FLIGHT, () => queue.add('noop', data))),
    async close() {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function measure(system: System, n: number, round: string): Promise<RoundResult> {
  collector()();
  const before = load();
  const broker = await system.brokerCpu();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await system.run(n);
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const brokerAfter = await system.brokerCpu();
  return {
    system: system.name,
    round,
    load: before,
    seconds,
    jobsPerSecond: n / seconds,
    nodeCpu: (used.user + used.system) / n,
    brokerCpu: broker === undefined || brokerAfter === undefined ? undefined : ((brokerAfter - broker) * 1e6) / n,
    eventsPerJob: system.eventsPerJob?.(),
  };
}

function resultRow(r: RoundResult): string[] {
  return [
    r.round,
    r.system,
    r.load,
    fmt(r.seconds, 2),
    fmt(r.jobsPerSecond, 0),
    fmt(r.nodeCpu, 0),
    r.brokerCpu === undefined ? '?' : fmt(r.brokerCpu, 0),
    r.eventsPerJob === undefined ? '' : fmt(r.eventsPerJob, 2),
  ];
}

interface Summary {
  jobsPerSecond: number;
  /** CPU µs per job of the Node process and the broker together, if the broker's is known. */
  cpu: number | undefined;
}

/** The median figures of each system's measured rounds, printed as a table. */
function summarise(systems: readonly System[], results: readonly RoundResult[]): Map<System, Summary> {
  const summaries = new Map<System, Summary>();
  const rows = systems.map((system) => {
    const rounds = results.filter((r) => r.system === system.name && r.round !== 'warm-up');
    const rates = rounds.map((r) => r.jobsPerSecond);
    const jobsPerSecond = median(rates);
    const nodeCpu = median(rounds.map((r) => r.nodeCpu));
    const broker = rounds.map((r) => r.brokerCpu).filter((c) => c !== undefined);
    const brokerCpu = broker.length === rounds.length ? median(broker) : undefined;
    const cpu = brokerCpu === undefined ? undefined : nodeCpu + brokerCpu;
    summaries.set(system, { jobsPerSecond, cpu });
    return [
      system.name,
      fmt(jobsPerSecond, 0),
      `${fmt(Math.min(...rates), 0)}–${fmt(Math.max(...rates), 0)}`,
      fmt(nodeCpu, 0),
      brokerCpu === undefined ? '?' : fmt(brokerCpu, 0),
      cpu === undefined ? '?' : fmt(cpu, 0),
    ];
  });
  out(table([['system', 'jobs/s', 'rounds', 'node cpu µs/job', 'broker cpu µs/job', 'total cpu µs/job'], ...rows]));
  return summaries;
}

/** One line of the comparison: the ratio of jobs/s, and of jobs per CPU-second. */
function ratioRow(label: string, a: Summary, b: Summary, target: boolean): string[] {
  const ratio = a.jobsPerSecond / b.jobsPerSecond;
  return [
    label,
    `${fmt(ratio, 2)}×`,
    a.cpu === undefined || b.cpu === undefined ? '?' : `${fmt(b.cpu / a.cpu, 2)}×`,
    target ? `≥ ${TARGET_RATIO}×` : '',
    target ? (ratio >= TARGET_RATIO ? 'PASS' : 'MISS') : '',
  ];
}

function persistenceRow(label: string, on: Summary, off: Summary, target: boolean): string[] {
  const ratio = on.jobsPerSecond / off.jobsPerSecond;
  return [
    label,
    `${fmt(on.jobsPerSecond, 0)} jobs/s`,
    `${fmt(off.jobsPerSecond, 0)} jobs/s`,
    `${fmt(ratio, 2)}×`,
    `${fmt(100 * (1 - ratio), 0)} %`,
    target ? '≤ 30 %' : '',
    target ? (ratio >= 0.7 ? 'PASS' : 'MISS') : '',
  ];
}

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
  out(
    `${fmt(JOBS, 0)} no-op jobs per round, ${ROUNDS} rounds after a warm-up round of ${fmt(WARMUP_JOBS, 0)}, median; ` +
      `each system in one Node process (client and service / producer and worker) beside its broker\n\n`,
  );

  let jobstate: Jobstate | undefined;
  let memoryOnly: Jobstate | undefined;
  let bull: Bull | undefined;
  try {
    if (ONLY === undefined || ONLY === 'jobstate') {
      jobstate = await startJobstate(true);
      memoryOnly = await startJobstate(false);
    }
    if (ONLY === undefined || ONLY === 'bullmq') {
      const pong = await redisCommand('PING').catch((err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (pong === 'PONG') bull = await startBullmq();
      else out(`BullMQ baseline unavailable: redis at ${REDIS.host}:${REDIS.port} is not reachable (${pong})\n\n`);
    }
    const systems = [
      ...(jobstate ? [jobstate.transactions, jobstate.singles, jobstate.ticks] : []),
      ...(memoryOnly ? [memoryOnly.transactions, memoryOnly.ticks] : []),
      ...(bull ? [bull.bulk, bull.singles] : []),
    ];

    // A warm-up round of each, then the rounds, the systems taking turns.
    const results: RoundResult[] = [];
    for (const system of systems) results.push(await measure(system, WARMUP_JOBS, 'warm-up'));
    for (let r = 1; r <= ROUNDS; r++) {
      for (const system of systems) results.push(await measure(system, JOBS, String(r)));
    }

    out('Rounds (load average before each run: 1, 5, 15 min)\n');
    out(
      table([
        ['round', 'system', 'load before', 'seconds', 'jobs/s', 'node cpu µs/job', 'broker cpu µs/job', 'events/job'],
        ...results.map(resultRow),
      ]),
    );
    out('\nMedian of the measured rounds\n');
    const summary = summarise(systems, results);

    if (jobstate && bull) {
      const get = (system: System): Summary => summary.get(system) ?? { jobsPerSecond: NaN, cpu: undefined };
      // Jobs per CPU-second (the Node process and its broker together) is what the ratio of
      // throughputs would be on a machine with nothing else running, whatever the load now.
      out('\nRatio jobstate / BullMQ (the target, ≥ 2×, is on jobs/s)\n');
      out(
        table([
          ['comparison', 'jobs/s', 'jobs per cpu-s', 'target', ''],
          ratioRow('transaction (individual) / addBulk', get(jobstate.transactions), get(bull.bulk), true),
          ratioRow('job-start / addBulk', get(jobstate.singles), get(bull.bulk), false),
          ratioRow('job-start / add', get(jobstate.singles), get(bull.singles), false),
        ]),
      );
    } else if (jobstate && ONLY === undefined) {
      out('\nRatio jobstate / BullMQ: unavailable (no BullMQ baseline)\n');
    }
    if (jobstate && memoryOnly) {
      const get = (system: System): Summary => summary.get(system) ?? { jobsPerSecond: NaN, cpu: undefined };
      out('\nWhat persistence costs: jobs kept in JetStream / in memory only (the target: it costs at most 30 %)\n');
      out(
        table([
          ['jobs', 'persistence on', 'off', 'on / off', 'cost', 'target', ''],
          persistenceRow('no-op, transaction of 250', get(jobstate.transactions), get(memoryOnly.transactions), true),
          persistenceRow('one-tick (each written, then removed)', get(jobstate.ticks), get(memoryOnly.ticks), false),
        ]),
      );
    }
  } finally {
    await bull?.close();
    await jobstate?.close();
    await memoryOnly?.close();
  }

  if (ONLY === undefined) {
    out('\nBackup copy rate at speed 0 against cp of the same file\n');
    out(`${copyRateTable(await measureCopyRate())}\n`);
  }
  out(`\nload average at the end ${load()}\n`);
}

await main();
