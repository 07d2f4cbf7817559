/**
 * `npm run bench:hostile`: what refusing bad input costs the service. On a private nats-server
 * (random loopback port, max_payload 1 MB) with the service as a child process (JetStream
 * store on, as deployed), it sends each hostile payload of bench/hostile-payloads.ts (each
 * about 1 MB, each refused) one at a time and prints the service's CPU per refused request
 * (from /proc, 10 ms ticks), against a small refused payload measured in the same run. Then a
 * bystander's command (job-set-speed on its own running job) p50/p99 alone, and while another
 * client keeps 30 of the costliest payload in flight.
 *
 * Environment: BENCH_ATTACK_MS (how long the bystander is measured under attack, 20000),
 * BENCH_BYSTANDER_N (requests alone, 300).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { cpuMs, startNode } from './children.js';
import type { Child } from './children.js';
import { hostilePayloads } from './hostile-payloads.js';
import { fmt, quantile, table } from './measure.js';

const PAYLOAD_BYTES = 1024 * 1024 - 1024;
const ATTACK_MS = Number(process.env.BENCH_ATTACK_MS ?? 20_000);
const BYSTANDER_N = Number(process.env.BENCH_BYSTANDER_N ?? 300);
const IN_FLIGHT = 30;
const TIMEOUT_MS = 60_000;

const out = (text: string) => process.stdout.write(text);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const ms = (v: number) => `${fmt(v, v < 10 ? 2 : 0)} ms`;

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'jobstate-bench-hostile-'));
  const server = await NatsServer.start({ jetstreamDir: join(workDir, 'nats') });
  const logFd = openSync(join(workDir, 'service.log'), 'w');
  const prefix = `svc${process.pid}`;
  const children: Child[] = [];
  const conns: NatsConnection[] = [];
  try {
    const service = await startNode(dist('../src/main.js'), { env: { NATS_URL: server.url, JOBS_PREFIX: prefix, LOG_LEVEL: 'warn' }, stdout: logFd });
    children.push(service);
    const bob = await JobsClient.connect({ servers: server.url, user: 'bob', prefix, timeoutMs: TIMEOUT_MS });
    conns.push(bob.nc);
    for (let deadline = Date.now() + 30_000; !(await bob.queryPage({ limit: 0 }).then(() => true, () => false)); ) {
      if (Date.now() > deadline) throw new Error('the service did not answer');
      await new Promise((r) => setTimeout(r, 50));
    }
    const mallory = await connect({ servers: server.url, name: 'mallory' });
    conns.push(mallory);
    out(`nats-server ${server.url} (private, max_payload ${mallory.info?.max_payload}), service: child process, store on\n\n`);

    /** One request as mallory: its wall ms and the reply's code and text. */
    const send = async (command: string, payload: string) => {
      const t = performance.now();
      const msg = await mallory.request(`${prefix}.cmd.mallory.${command}`, payload, { timeout: TIMEOUT_MS });
      const body = msg.json<{ error?: { desc: string } }>();
      return { ms: performance.now() - t, code: msg.headers?.get('Nats-Service-Error-Code') ?? '200', desc: body.error?.desc ?? 'accepted' };
    };
    /** The service's CPU ms per request of `payload`, one at a time, over enough requests to read it. */
    const cpuPer = async (command: string, payload: string, minCpuMs: number, maxN: number) => {
      await send(command, payload); // warm-up
      const before = cpuMs(service.pid);
      const walls: number[] = [];
      let last = { code: '', desc: '' };
      while (walls.length < maxN && (walls.length < 3 || cpuMs(service.pid) - before < minCpuMs)) {
        const r = await send(command, payload);
        walls.push(r.ms);
        last = r;
      }
      return { cpu: (cpuMs(service.pid) - before) / walls.length, wall: quantile(walls, 0.5), n: walls.length, ...last };
    };

    const rows: string[][] = [['payload', 'bytes', 'service CPU / request', 'wall p50', 'n', 'reply']];
    const base = await cpuPer('job-start', '{"type":"nope"}', 200, 2000);
    rows.push(['baseline: {"type":"nope"} (small, refused)', '15', ms(base.cpu), ms(base.wall), String(base.n), `${base.code} ${base.desc.slice(0, 60)}`]);
    let worst = { name: '', command: 'job-start', payload: '', cpu: 0 };
    for (const h of hostilePayloads(PAYLOAD_BYTES)) {
      const r = await cpuPer(h.command, h.payload, 500, 30);
      if (r.cpu > worst.cpu) worst = { ...h, cpu: r.cpu };
      rows.push([h.name, fmt(h.payload.length, 0), ms(r.cpu), ms(r.wall), String(r.n), `${r.code} ${r.desc.slice(0, 60)}`]);
    }
    out(table(rows));
    out(`\nthe costliest: ${worst.name} (${ms(worst.cpu)} of service CPU per refused request, ${fmt(worst.cpu / base.cpu)}× the baseline)\n\n`);

    // The bystander: bob's own running job, its speed set again and again.
    const id = await bob.start('test', { params: { steps: 1_000_000, 'step-ms': 1000 } });
    // Two bystanders: a verb that is saved in the store before its reply, and a query that is not.
    let firstFailure = '';
    const bystander = async (n: number, untilMs: number, command: (i: number) => Promise<unknown> = (i) => bob.setSpeed(id, i % 2)) => {
      const times: number[] = [];
      let failed = 0;
      const end = performance.now() + untilMs;
      for (let i = 0; i < n && performance.now() < end; i++) {
        const t = performance.now();
        try {
          await command(i);
          times.push(performance.now() - t);
        } catch (err) {
          firstFailure ||= String(err);
          failed++;
        }
      }
      return { times, failed };
    };
    const query = () => bob.queryPage({ limit: 1 });
    await bystander(30, 10_000);
    const alone = await bystander(BYSTANDER_N, 60_000);
    const queryAlone = await bystander(BYSTANDER_N, 60_000, query);
    const disconnectsBefore = disconnects(join(workDir, 'service.log'));

    let stop = false;
    let attacks = 0;
    let attackErrors = 0;
    const cpuBefore = cpuMs(service.pid);
    const attackStart = performance.now();
    const attackers = Array.from({ length: IN_FLIGHT }, async () => {
      while (!stop) {
        try {
          await send(worst.command, worst.payload);
          attacks++;
        } catch {
          attackErrors++;
        }
      }
    });
    const attacked = await bystander(100_000, ATTACK_MS / 2);
    const queryAttacked = await bystander(100_000, ATTACK_MS / 2, query);
    stop = true;
    await Promise.all(attackers);
    const attackSeconds = (performance.now() - attackStart) / 1000;
    const serviceCpu = cpuMs(service.pid) - cpuBefore;

    const summary = (r: { times: number[]; failed: number }) => [
      String(r.times.length),
      ms(quantile(r.times, 0.5)),
      ms(quantile(r.times, 0.99)),
      ms(Math.max(...r.times)),
      String(r.failed),
    ];
    out(
      table([
        ['bystander', 'n', 'p50', 'p99', 'max', 'failed'],
        ['job-set-speed (saved before its reply), alone', ...summary(alone)],
        [`job-set-speed while ${IN_FLIGHT} of "${worst.name}" are in flight`, ...summary(attacked)],
        ['query-jobs {"limit":1}, alone', ...summary(queryAlone)],
        [`query-jobs {"limit":1} while ${IN_FLIGHT} of "${worst.name}" are in flight`, ...summary(queryAttacked)],
      ]),
    );
    out(
      `\nunder attack: ${attacks} hostile requests answered (${attackErrors} not answered) in ${fmt(attackSeconds)} s; ` +
        `service CPU ${fmt(serviceCpu / 1000)} s (${fmt(serviceCpu / 10 / attackSeconds, 0)} % of one core); ` +
        `the service's connection dropped ${disconnects(join(workDir, 'service.log')) - disconnectsBefore} times\n`,
    );
    if (firstFailure) out(`first bystander failure: ${firstFailure}\n`);
  } finally {
    for (const nc of conns) await nc.drain().catch(() => undefined);
    for (const c of children.reverse()) await c.stop();
    await server.stop();
    closeSync(logFd);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** How many times the service logged that its NATS connection dropped. */
function disconnects(logFile: string): number {
  return readFileSync(logFile, 'utf8').split('\n').filter((line) => line.includes('"nats":"disconnect"')).length;
}

await main();
