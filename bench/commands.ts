/**
 * `npm run bench:commands`: what a command costs through NATS. On a private nats-server (a
 * random loopback port), with the service as a child process (`node dist/src/main.js`) and a
 * trivial nats.js responder as another (bench/responder.js) for the baseline, it measures
 * throughput at 100 requests in flight, the latency of one command at a time, and how soon a
 * verb's JOB_STATUS_CHANGE reaches a subscriber, beside its floor (a raw request and one KV
 * write: the event waits for the job's record to be written). Prints the figures against their targets.
 *
 * Environment: BENCH_LOG_LEVEL (the service's LOG_LEVEL, default `info` like the service);
 * BENCH_NODE_ARGS, node options for the service (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`);
 * BENCH_ROUND_MS, the length of a throughput round (5000).
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { cpuMs, natsServerPid, startNode, writeCalls } from './children.js';
import type { Child } from './children.js';
import { closedLoop, fmt, median, quantile, sequential, table } from './measure.js';
import type { LoopResult } from './measure.js';

const JOBS = 100;
const IN_FLIGHT = 100;
const ROUNDS = 3;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 5000);
const WARMUP_MS = 2000;
const LATENCY_N = 2000;
const QUERY_N = 500;
const WARMUP_N = 200;
const USER = 'bench';
const TARGET_RATIO = 0.6;
const TARGET_EVENT_P99_MS = 2;
const TIMEOUT_MS = 10_000;

const out = (text: string) => process.stdout.write(text);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** CPU ms used so far by each process of the bench, and write system calls by the two answering. */
interface Usage {
  client: number;
  server: number;
  responder: number;
  service: number;
  responderWrites: number;
  serviceWrites: number;
}

interface Round extends LoopResult {
  /** Per request: CPU µs by process, and write calls. */
  per: Usage;
}

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);

  const workDir = mkdtempSync(join(tmpdir(), 'jobstate-bench-'));
  // No port asked: a free loopback one, never 4222. JetStream on: the service keeps its jobs there.
  const server = await NatsServer.start({ jetstreamDir: join(workDir, 'nats') });
  const logFd = openSync(join(workDir, 'service.log'), 'w');
  const prefix = `svc${process.pid}`;
  const rawPrefix = `raw${process.pid}`; // as long as `prefix`: the same subject length
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const children: Child[] = [];
  const conns: NatsConnection[] = [];
  try {
    const service = await startNode(dist('../src/main.js'), {
      env: { NATS_URL: server.url, JOBS_PREFIX: prefix, LOG_LEVEL: logLevel },
      nodeArgs,
      stdout: logFd,
    });
    children.push(service);
    const responder = await startNode(dist('./responder.js'), { env: { NATS_URL: server.url, RAW_PREFIX: rawPrefix }, stdout: 'ready' });
    children.push(responder);
    const client = await JobsClient.connect({ servers: server.url, user: USER, prefix, timeoutMs: TIMEOUT_MS });
    conns.push(client.nc);
    await untilAnswered(() => client.query());

    const serverPid = natsServerPid(server.port) ?? NaN;
    const usage = (): Usage => {
      const own = process.cpuUsage();
      return {
        client: (own.user + own.system) / 1000,
        server: cpuMs(serverPid),
        responder: cpuMs(responder.pid),
        service: cpuMs(service.pid),
        responderWrites: writeCalls(responder.pid),
        serviceWrites: writeCalls(service.pid),
      };
    };
    const how = `LOG_LEVEL=${logLevel}, log to a file${nodeArgs.length > 0 ? `, node ${nodeArgs.join(' ')}` : ''}`;
    out(`nats-server ${server.url} (private), service: child process (${how}), raw responder: child process\n`);

    const ids = await Promise.all(
      Array.from({ length: JOBS }, () => client.start('test', { params: { steps: 1_000_000, 'step-ms': 1000 } })),
    );
    const pauseRequest = JSON.stringify({ id: ids[0] });
    const pauseReply = JSON.stringify({ return: {} });
    out(`${JOBS} test jobs running; job-pause request ${pauseRequest.length} B, reply ${pauseReply.length} B; ${IN_FLIGHT} requests in flight\n`);

    // Both sides do the same client work: encode the arguments, request, decode the JSON reply.
    const rawSubject = `${rawPrefix}.cmd.${USER}.job-pause`;
    const raw = async (id: string): Promise<void> => {
      (await client.nc.request(rawSubject, JSON.stringify({ id }), { timeout: TIMEOUT_MS })).json();
    };
    const paused = ids.map(() => false);
    const errors: string[] = [];
    const toggle = async (w: number): Promise<void> => {
      const id = ids[w]!;
      const wasPaused = paused[w];
      paused[w] = !wasPaused;
      try {
        await (wasPaused ? client.resume(id) : client.pause(id));
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        throw err;
      }
    };

    const round = async (ms: number, op: (w: number) => Promise<unknown>): Promise<Round> => {
      const before = usage();
      const result = await closedLoop(IN_FLIGHT, ms, op);
      const after = usage();
      const n = Math.max(1, result.done);
      const micros = (k: keyof Usage) => ((after[k] - before[k]) * 1000) / n;
      const count = (k: keyof Usage) => (after[k] - before[k]) / n;
      const per: Usage = {
        client: micros('client'),
        server: micros('server'),
        responder: micros('responder'),
        service: micros('service'),
        responderWrites: count('responderWrites'),
        serviceWrites: count('serviceWrites'),
      };
      return { ...result, per };
    };

    // 1 and 2: throughput, raw and service rounds interleaved so that both see the same load.
    out(`\nthroughput: warm-up ${WARMUP_MS / 1000} s each, then ${ROUNDS} rounds of ${ROUND_MS / 1000} s each, interleaved (load ${load()})\n`);
    await round(WARMUP_MS, (w) => raw(ids[w]!));
    await round(WARMUP_MS, toggle);
    errors.length = 0;
    const rawRounds: Round[] = [];
    const svcRounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      rawRounds.push(await round(ROUND_MS, (w) => raw(ids[w]!)));
      svcRounds.push(await round(ROUND_MS, toggle));
    }
    const rate = (r: LoopResult) => r.done / r.seconds;
    const rawRate = median(rawRounds.map(rate));
    const svcRate = median(svcRounds.map(rate));
    const roundErrors = svcRounds.reduce((n, r) => n + r.errors, 0) + rawRounds.reduce((n, r) => n + r.errors, 0);

    // 3: one command at a time.
    out(`latency: ${fmt(LATENCY_N, 0)} sequential requests after ${WARMUP_N} (query-jobs: ${QUERY_N}) (load ${load()})\n`);
    for (let w = 0; w < ids.length; w++) if (paused[w]) await toggle(w); // every job running again
    const rawSeq = await sequential(LATENCY_N, WARMUP_N, () => raw(ids[0]!));
    const svcSeq = await sequential(LATENCY_N, WARMUP_N, () => toggle(0));
    const queryReply = (await client.nc.request(`${prefix}.cmd.${USER}.query-jobs`, '{}', { timeout: TIMEOUT_MS })).data;
    await client.nc.request(`${rawPrefix}.set-query-reply`, queryReply, { timeout: TIMEOUT_MS });
    const rawQuerySubject = `${rawPrefix}.cmd.${USER}.query-jobs`;
    const rawQuerySeq = await sequential(QUERY_N, WARMUP_N, async () => {
      (await client.nc.request(rawQuerySubject, '{}', { timeout: TIMEOUT_MS })).json();
    });
    const querySeq = await sequential(QUERY_N, WARMUP_N, async () => {
      const jobs = await client.query();
      if (jobs.length !== JOBS) throw new Error(`query-jobs saw ${jobs.length} jobs`);
    });

    // 4: from the verb's request being sent to its JOB_STATUS_CHANGE arriving elsewhere.
    const events = await connect({ servers: server.url, name: 'bench-events' });
    conns.push(events);
    let expected: { id: string; status: string; arrived: (at: number) => void } | undefined;
    events.subscribe(`${prefix}.evt.${USER}.*.JOB_STATUS_CHANGE`, {
      callback: (_err, msg) => {
        const at = performance.now();
        const { data } = msg.json<{ data: { id: string; status: string } }>();
        if (expected && data.id === expected.id && data.status === expected.status) expected.arrived(at);
      },
    });
    await events.flush();
    const replies: number[] = []; // the same commands' replies, for comparison
    const eventSeq = await sequential(LATENCY_N, WARMUP_N, async (i) => {
      const id = ids[0]!;
      const status = paused[0] ? 'running' : 'paused';
      const start = performance.now();
      const arrived = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no JOB_STATUS_CHANGE within 5 s')), 5000);
        expected = { id, status, arrived: (at) => (clearTimeout(timer), resolve(at)) };
      });
      arrived.catch(() => undefined); // if the command fails, its error is the one counted
      await toggle(0);
      if (i >= 0) replies.push(performance.now() - start);
      return (await arrived) - start;
    });
    // The floor of (4): the event leaves once the job's record is written, so a verb's event takes
    // at least a request/reply and one JetStream KV write (file storage, as the job store's).
    const floorKv = await new Kvm(jetstream(client.nc)).create(`bench_floor_${process.pid}`, { history: 1, storage: 'file' });
    const record = JSON.stringify(await client.query().then((l) => l[0]));
    let revision = await floorKv.put('job', record);
    const floorSeq = await sequential(LATENCY_N, WARMUP_N, async () => {
      await raw(ids[0]!);
      revision = await floorKv.update('job', record, revision);
    });
    await floorKv.destroy();
    for (let w = 0; w < ids.length; w++) if (paused[w]) await toggle(w);
    const running = (await client.query()).filter((j) => j.status === 'running').length;

    const ms = (v: number) => `${fmt(v, 2)} ms`;
    const p = (s: { ms: number[] }, q: number) => quantile(s.ms, q);
    const ratio = (v: number, base: number) => `${fmt((100 * v) / base, 0)} %`;
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    out(`\nFigures (load ${load()})\n`);
    out(
      table([
        ['figure', 'value', 'baseline (raw)', 'ratio', 'target', ''],
        ['(1) raw request/reply, 100 in flight', `${fmt(rawRate, 0)} req/s`, '', '', '', ''],
        ['(2) job-pause/resume, 100 in flight', `${fmt(svcRate, 0)} cmd/s`, `${fmt(rawRate, 0)} req/s`, ratio(svcRate, rawRate), '≥ 60 %', verdict(svcRate >= TARGET_RATIO * rawRate)],
        ['    pause+resume pairs', `${fmt(svcRate / 2, 0)} pairs/s`, '', '', '', ''],
        ['    errors (all rounds)', String(roundErrors), '', '', '0', verdict(roundErrors === 0)],
        ['(3) job-pause/resume p50, 1 in flight', ms(p(svcSeq, 0.5)), ms(p(rawSeq, 0.5)), ratio(p(svcSeq, 0.5), p(rawSeq, 0.5)), '', ''],
        ['    job-pause/resume p99', ms(p(svcSeq, 0.99)), ms(p(rawSeq, 0.99)), ratio(p(svcSeq, 0.99), p(rawSeq, 0.99)), '', ''],
        [`    query-jobs p50, ${JOBS} jobs (${fmt(queryReply.length / 1024)} KiB reply)`, ms(p(querySeq, 0.5)), ms(p(rawQuerySeq, 0.5)), ratio(p(querySeq, 0.5), p(rawQuerySeq, 0.5)), '', ''],
        ['    query-jobs p99', ms(p(querySeq, 0.99)), ms(p(rawQuerySeq, 0.99)), ratio(p(querySeq, 0.99), p(rawQuerySeq, 0.99)), '', ''],
        ['(4) request sent → JOB_STATUS_CHANGE, p50', ms(p(eventSeq, 0.5)), ms(p(rawSeq, 0.5)), ratio(p(eventSeq, 0.5), p(rawSeq, 0.5)), '', ''],
        ['    request sent → JOB_STATUS_CHANGE, p99', ms(p(eventSeq, 0.99)), ms(p(rawSeq, 0.99)), ratio(p(eventSeq, 0.99), p(rawSeq, 0.99)), `< ${TARGET_EVENT_P99_MS} ms`, verdict(p(eventSeq, 0.99) < TARGET_EVENT_P99_MS)],
        ['    floor: raw request + 1 KV write, p50 / p99', `${ms(p(floorSeq, 0.5))} / ${ms(p(floorSeq, 0.99))}`, '', '', '', ''],
        ['    (same commands: reply p50 / p99)', `${ms(p({ ms: replies }, 0.5))} / ${ms(p({ ms: replies }, 0.99))}`, '', '', '', ''],
      ]),
    );
    const seqErrors = rawSeq.errors + svcSeq.errors + rawQuerySeq.errors + querySeq.errors + eventSeq.errors + floorSeq.errors;
    out(`errors in (3) and (4): ${seqErrors}; jobs running at the end: ${running}/${JOBS}`);
    out(errors.length > 0 ? `; first error: ${errors[0]}\n` : '\n');

    out('\nThroughput rounds: CPU µs per request by process (from ticks of 10 ms), and write calls per request\n');
    const roundRow = (name: string, r: Round, side: 'responder' | 'service') => [
      name,
      fmt(rate(r), 0),
      String(r.errors),
      fmt(r.per.client, 0),
      fmt(r.per.server, 0),
      fmt(r.per[side], 0),
      fmt(r.per.client + r.per.server + r.per[side], 0),
      fmt(side === 'service' ? r.per.serviceWrites : r.per.responderWrites, 2),
    ];
    out(
      table([
        ['round', 'req/s', 'errors', 'client', 'nats-server', 'responder/service', 'total', 'writes'],
        ...rawRounds.map((r, i) => roundRow(`raw ${i + 1}`, r, 'responder')),
        ...svcRounds.map((r, i) => roundRow(`service ${i + 1}`, r, 'service')),
      ]),
    );
    out(`\nservice log: ${fmt(statSync(join(workDir, 'service.log')).size / 1024 / 1024)} MiB; load average at the end ${load()}\n`);
  } finally {
    for (const nc of conns) await nc.drain().catch(() => undefined);
    for (const child of children.reverse()) await child.stop();
    await server.stop();
    closeSync(logFd);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Retry `request` until it is answered (the service is up), for at most 15 s. */
async function untilAnswered(request: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await request();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

await main();
