/**
 * `npm run bench:cluster`: jobstate as instance processes on a 3-node loopback nats-server
 * cluster (replicas 3), figures for docs/performance.md (Scale-out and failover):
 * - commands/s (query-jobs of one's own jobs, routed to the owner's partition) and jobs/s
 *   (job-start then job-wait of a 0-step `test` job) with 1 and with 3 instances;
 * - a rolling restart (SIGTERM each instance, start it again) under a closed loop of commands:
 *   their p50/p99/max and how many failed (target 0);
 * - failover: SIGKILL of the instance serving a job's partition → the first successful
 *   command on that job (job-set-speed, tried every 100 ms), p50 and max over 5 kills
 *   (target < 15 s).
 * Switches: BENCH_ONLY=throughput, BENCH_ROUNDS=3 (1 and 3 instances taking turns),
 * BENCH_PROBE=1 (CPU per process and messages per operation; 2: per connection too),
 * BENCH_COUNTS, BENCH_PHASES, BENCH_WORKERS, BENCH_LOOP_MS, BENCH_INSTANCE_NODE, BENCH_SNIFF,
 * JOBS_BENCH_NODE_ARGS (node flags for the instances, e.g. --cpu-prof --cpu-prof-dir=<dir>).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_PARTITIONS, partitionOf } from '../src/cluster/partition.js';
import type { JobsClient } from '../src/sdk/index.js';
import { startCluster } from '../test/support/cluster.js';
import type { Cluster } from '../test/support/cluster.js';
import { startInstances } from '../test/support/instances.js';
import type { ServiceInstances } from '../test/support/instances.js';
import { probe } from './cluster-probe.js';
import { closedLoop, fmt, quantile, table } from './measure.js';

const LOOP_MS = Number(process.env.BENCH_LOOP_MS ?? 8000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 24);
const KILLS = Number(process.env.BENCH_KILLS ?? 5);
/** BENCH_ONLY=throughput: only the throughput part. */
const ONLY = process.env.BENCH_ONLY;
/** How many times 1 then 3 instances are measured, taking turns. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** BENCH_PROBE=1: each phase's CPU per process and messages per operation. */
const PROBE = process.env.BENCH_PROBE === '1' || process.env.BENCH_PROBE === '2';
/** BENCH_COUNTS=3: only these instance counts (comma-separated); BENCH_PHASES=commands: only these phases. */
const COUNTS = (process.env.BENCH_COUNTS ?? '1,3').split(',').map(Number);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'idle,commands,jobs').split(','));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function clientsFor(fleet: ServiceInstances, n: number, tag: string): Promise<JobsClient[]> {
  const out: JobsClient[] = [];
  for (let k = 0; k < n; k++) out.push(await fleet.client(`${tag}${k}`, k % 3));
  return out;
}

/** Resolves once every partition has a holder and `count` instances hold them. */
async function spread(fleet: ServiceInstances, count: number, timeoutMs = 60_000): Promise<Map<number, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const h = await fleet.holders().catch(() => new Map<number, string>());
    if (h.size === DEFAULT_PARTITIONS && new Set(h.values()).size === count) return h;
    if (Date.now() > deadline) throw new Error(`partitions not spread over ${count} instances: ${h.size} held by ${[...new Set(h.values())].join(', ')}`);
    await sleep(250);
  }
}

/** BENCH_SNIFF=1: what the subjects of 3 s of the jobs phase are (their first tokens, ids and owners as *). */
async function sniff(cluster: Cluster, count: number): Promise<void> {
  const nc = await cluster.connect(0);
  const counts = new Map<string, number>();
  let n = 0;
  nc.subscribe('>', {
    callback: (_err, msg) => {
      n++;
      const t = msg.subject.split('.');
      const key = t[0]!.startsWith('_INBOX') ? '_INBOX' : t.slice(0, 4).map((x, i) => (i >= 2 && /\d|job-|^t\d/.test(x) ? '*' : x)).join('.');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  await sleep(3000);
  await nc.close();
  console.log(`${count} instance(s): ${n} messages in 3 s\n${[...counts].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `  ${v} ${k}`).join('\n')}`);
}

async function throughput(cluster: Cluster, count: number): Promise<string[]> {
  // BENCH_INSTANCE_NODE=0: every instance on node 0 (forwarded commands cross no route), to measure what the routes cost.
  const node = process.env.BENCH_INSTANCE_NODE;
  const fleet = await startInstances(cluster, { count, ...(node !== undefined && { nodeOf: () => Number(node) }) });
  try {
    await spread(fleet, count);
    const clients = await clientsFor(fleet, WORKERS, 't');
    await Promise.all(clients.map((c) => c.start('test', { params: { steps: 0 }, 'auto-dismiss': false })));
    let end = PROBE ? await probe(cluster, fleet) : undefined;
    if (end && PHASES.has('idle')) {
      await sleep(3000);
      console.log(await end(`${count} instance(s) idle 3 s`, 1));
    }
    end = PROBE ? await probe(cluster, fleet) : undefined;
    const noop = { done: 0, errors: 0, seconds: 1 };
    const commands = !PHASES.has('commands') ? noop : await closedLoop(WORKERS, LOOP_MS, (w) => clients[w]!.queryPage({ limit: 10 }));
    if (end) console.log(await end(`${count} instance(s) commands`, commands.done));
    end = PROBE ? await probe(cluster, fleet) : undefined;
    if (process.env.BENCH_SNIFF) void sniff(cluster, count);
    const jobs = !PHASES.has('jobs')
      ? noop
      : await closedLoop(WORKERS, LOOP_MS, async (w) => {
          const id = await clients[w]!.start('test', { params: { steps: 0 } });
          await clients[w]!.wait(id, { timeoutMs: 20_000 }).catch(() => undefined);
        });
    if (end) console.log(await end(`${count} instance(s) jobs`, jobs.done));
    // Profiled instances (JOBS_BENCH_NODE_ARGS=--cpu-prof) write their profile only when they exit on their own.
    if (process.env.JOBS_BENCH_NODE_ARGS) for (let k = 0; k < count; k++) await fleet.signal(k, 'SIGTERM');
    return [String(count), fmt(commands.done / commands.seconds, 0), String(commands.errors), fmt(jobs.done / jobs.seconds, 0), String(jobs.errors)];
  } finally {
    await fleet.close();
  }
}

async function rolling(cluster: Cluster): Promise<string[]> {
  const fleet = await startInstances(cluster);
  try {
    await spread(fleet, 3);
    const clients = await clientsFor(fleet, 12, 'r');
    const ms: number[] = [];
    const failures: string[] = [];
    let running = true;
    const loops = clients.map(async (c) => {
      // Each command timed on its own.
      const timed = async <T>(op: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        const out = await op();
        ms.push(performance.now() - t0);
        return out;
      };
      while (running) {
        try {
          const id = await timed(() => c.start('test', { params: { steps: 1_000_000, 'step-ms': 1000 } }));
          await timed(() => c.queryPage({ limit: 5 }));
          await timed(() => c.setSpeed(id, 1000));
          await timed(() => c.cancel(id));
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    });
    const began = performance.now();
    await sleep(2000);
    for (let k = 0; k < 3; k++) {
      await fleet.signal(k, 'SIGTERM');
      await sleep(500);
      await fleet.start(k);
      await spread(fleet, 3);
    }
    await sleep(2000);
    running = false;
    await Promise.all(loops);
    const seconds = (performance.now() - began) / 1000;
    if (failures.length > 0) console.log(`rolling restart failures (first 5): ${failures.slice(0, 5).join(' | ')}`);
    return [fmt(seconds, 0), String(ms.length), fmt(quantile(ms, 0.5), 1), fmt(quantile(ms, 0.99), 1), fmt(Math.max(...ms), 0), String(failures.length)];
  } finally {
    await fleet.close();
  }
}

async function failover(cluster: Cluster): Promise<number[]> {
  const fleet = await startInstances(cluster);
  const times: number[] = [];
  try {
    for (let round = 0; round < KILLS; round++) {
      const holders = await spread(fleet, 3);
      // An owner of a partition held by instance `round % 3`.
      const victimId = fleet.ids[round % 3]!;
      let owner = `f${round}x0`;
      for (let k = 1; holders.get(partitionOf(owner)) !== victimId; k++) owner = `f${round}x${k}`;
      const client = await fleet.client(owner, (round + 1) % 3);
      const id = await client.start('test', { params: { steps: 1_000_000, 'step-ms': 1000 } });
      const victim = fleet.ids.indexOf(victimId);
      const killedAt = performance.now();
      await fleet.signal(victim, 'SIGKILL');
      for (;;) {
        try {
          await client.request('job-set-speed', { id, speed: 1000 + round }, 2000);
          break;
        } catch {
          await sleep(100);
        }
        if (performance.now() - killedAt > 120_000) throw new Error(`round ${round}: no answer within 120 s`);
      }
      times.push(performance.now() - killedAt);
      console.log(`failover ${round + 1}/${KILLS}: ${fmt(times.at(-1)! / 1000, 1)} s`);
      await fleet.start(victim);
    }
    return times;
  } finally {
    await fleet.close();
  }
}

const cluster = await startCluster();
try {
  console.log(`bench:cluster — 3-node loopback cluster (replicas 3), node ${process.version}, ${cpus().length} cores\n`);
  const rows = [['instances', 'commands/s', 'failed', 'jobs/s', 'failed', '3 / 1 commands', '3 / 1 jobs']];
  for (let round = 0; round < ROUNDS; round++) {
    if (COUNTS.length !== 2) {
      for (const count of COUNTS) rows.push(await throughput(cluster, count));
      continue;
    }
    const one = await throughput(cluster, 1);
    const three = await throughput(cluster, 3);
    const ratio = (c: number) => `${fmt((Number(three[c]!.replace(/,/g, '')) / Number(one[c]!.replace(/,/g, ''))) * 100, 0)} %`;
    rows.push(one, [...three, ratio(1), ratio(3)]);
  }
  console.log(`Throughput (${WORKERS} clients, closed loop, ${LOOP_MS / 1000} s each)\n${table(rows)}`);
  if (ONLY !== 'throughput') {
    const roll = await rolling(cluster);
    console.log(`Rolling restart (12 clients: start, query, set-speed, cancel in a loop)\n${table([['seconds', 'commands', 'p50 ms', 'p99 ms', 'max ms', 'failed'], roll])}`);
    const times = await failover(cluster);
    console.log(
      `Failover (SIGKILL → first successful command on a moved job, ${KILLS} kills)\n${table([
        ['p50 s', 'max s', 'each s'],
        [fmt(quantile(times, 0.5) / 1000, 1), fmt(Math.max(...times) / 1000, 1), times.map((t) => fmt(t / 1000, 1)).join(' ')],
      ])}`,
    );
  }
} finally {
  await cluster.close();
}
