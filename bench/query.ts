/**
 * `npm run bench:query`: query-jobs with 100,000 live jobs. On a private nats-server (a random
 * loopback port, default max_payload 1 MB), with the service as a child process (jobs in
 * memory: JOBS_PERSIST=false, so that setting up 100,000 jobs is quicker; a query never
 * reads the store; JOBS_KEEP_CONCLUDED raised so that retention keeps them all) and bench/responder.js as the raw baseline, it measures p50/p99 of query-jobs
 * one request at a time: paged, counting, with and without filters (status, type, owner),
 * against a raw request/reply of an empty payload and of a payload as large as the page,
 * measured in the same run. Then the time to read all 100,000 jobs page by page (SDK).
 *
 * Environment: BENCH_JOBS (100000), BENCH_N (requests per case, 200), BENCH_OWNERS (10).
 */
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { startNode } from './children.js';
import type { Child } from './children.js';
import { fmt, quantile, sequential, table } from './measure.js';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const N = Number(process.env.BENCH_N ?? 200);
const OWNERS = Number(process.env.BENCH_OWNERS ?? 10);
const WARMUP = 20;
const BATCH = 256;
const TIMEOUT_MS = 60_000;

const out = (text: string) => process.stdout.write(text);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const dist = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const owner = (i: number) => `o${i}`;

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'jobstate-bench-query-'));
  const server = await NatsServer.start({ jetstreamDir: join(workDir, 'nats') });
  const logFd = openSync(join(workDir, 'service.log'), 'w');
  const prefix = `svc${process.pid}`;
  const rawPrefix = `raw${process.pid}`;
  const children: Child[] = [];
  const clients: JobsClient[] = [];
  try {
    const env = {
      NATS_URL: server.url,
      JOBS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      JOBS_PERSIST: 'false',
      JOBS_MAX_JOBS_PER_OWNER: String(JOBS + 1),
      // Keep every concluded job: retention would otherwise dismiss all but the newest 10,000.
      JOBS_KEEP_CONCLUDED: String(JOBS + 1),
    };
    children.push(await startNode(dist('../src/main.js'), { env, stdout: logFd }));
    children.push(await startNode(dist('./responder.js'), { env: { NATS_URL: server.url, RAW_PREFIX: rawPrefix }, stdout: 'ready' }));
    const admin = await JobsClient.connect({ servers: server.url, user: 'admin', prefix, timeoutMs: TIMEOUT_MS });
    clients.push(admin);
    for (let deadline = Date.now() + 30_000; !(await admin.queryPage({ limit: 0 }).then(() => true, () => false)); ) {
      if (Date.now() > deadline) throw new Error('the service did not answer');
      await new Promise((r) => setTimeout(r, 50));
    }
    const users = await Promise.all(
      Array.from({ length: OWNERS }, (_, i) => JobsClient.connect({ servers: server.url, user: owner(i), prefix, timeoutMs: TIMEOUT_MS })),
    );
    clients.push(...users);

    // 100,000 jobs, spread over the owners: every third waits in `ready`, the rest conclude (not dismissed).
    const t0 = performance.now();
    const perOwner = Math.ceil(JOBS / OWNERS);
    await Promise.all(
      users.map(async (user, u) => {
        const mine = Math.min(perOwner, JOBS - u * perOwner);
        for (let i = 0; i < mine; i += BATCH) {
          const actions = Array.from({ length: Math.min(BATCH, mine - i) }, (_, k) => ({
            type: 'test',
            params: { steps: 0, ready: (i + k) % 3 === 0 },
            'auto-dismiss': false,
            description: `job ${i + k} of ${owner(u)}`,
          }));
          await user.transaction(actions);
        }
      }),
    );
    for (;;) {
      const settled = (await admin.queryPage({ status: 'ready', limit: 0 })).count + (await admin.queryPage({ status: 'concluded', limit: 0 })).count;
      if (settled === JOBS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    out(`${fmt(JOBS, 0)} live jobs of ${OWNERS} owners started in ${fmt((performance.now() - t0) / 1000)} s; ${N} sequential requests per case after ${WARMUP} (load ${load()})\n\n`);

    const nc = admin.nc;
    /** One query-jobs as `user`: the reply's size in bytes; an error reply only where `refused` expects one. */
    let firstError = '';
    const request = async (user: string, args: object, refused: boolean): Promise<number> => {
      const msg = await nc.request(`${prefix}.cmd.${user}.query-jobs`, JSON.stringify(args), { timeout: TIMEOUT_MS });
      const failed = msg.json<{ error?: unknown }>().error !== undefined;
      if (failed !== refused) {
        firstError ||= `query-jobs ${JSON.stringify(args)}: ${msg.string().slice(0, 300)}`;
        throw new Error(firstError);
      }
      return msg.data.length;
    };
    const measure = async (run: () => Promise<unknown>) => {
      const { ms, errors } = await sequential(N, WARMUP, async () => void (await run()));
      if (errors > 0) throw new Error(`${errors} requests failed: ${firstError || 'timed out'}`);
      return ms;
    };
    const raw = async (subject: string, payload: string) => measure(() => nc.request(subject, payload, { timeout: TIMEOUT_MS }));
    const rawEmpty = await raw(`${rawPrefix}.cmd.bench.job-pause`, '');
    const pageBytes = (await nc.request(`${prefix}.cmd.admin.query-jobs`, '{"limit":100}')).data;
    await nc.request(`${rawPrefix}.set-query-reply`, pageBytes);
    const rawPage = await raw(`${rawPrefix}.cmd.bench.query-jobs`, '{"limit":100}');

    const cases: Array<[label: string, user: string, args: object, refused?: boolean]> = [
      ['page of 100, newest first', 'admin', { limit: 100 }],
      ['page of 100 at offset 50,000', 'admin', { limit: 100, offset: 50_000 }],
      ['page of 100, oldest first', 'admin', { limit: 100, 'order-by': 'oldest' }],
      ['count only (limit 0)', 'admin', { limit: 0 }],
      ['status=ready, page of 100', 'admin', { status: 'ready', limit: 100 }],
      ['status=concluded, count', 'admin', { status: 'concluded', limit: 0 }],
      ['type=test, page of 100', 'admin', { type: 'test', limit: 100 }],
      ['type=none (no match), count', 'admin', { type: 'none', limit: 0 }],
      [`owner=${owner(3)} (admin), page of 100`, 'admin', { owner: owner(3), limit: 100 }],
      [`as ${owner(3)} (own ${fmt(perOwner, 0)} jobs), page of 100`, owner(3), { limit: 100 }],
      [`as ${owner(3)}, status=ready, page of 100`, owner(3), { status: 'ready', limit: 100 }],
      ['full page (offset 0, no limit: up to 1 MB)', 'admin', { offset: 0 }],
      ['{} whole list: refused with 413 (how to page)', 'admin', {}, JOBS >= 5000],
    ];
    const ms = (v: number) => `${fmt(v, 2)} ms`;
    const rows: string[][] = [['case', 'reply', 'p50', 'p99', 'p50 / raw empty']];
    const base50 = quantile(rawEmpty, 0.5);
    rows.push(['raw request/reply, empty payload (baseline)', '13 B', ms(base50), ms(quantile(rawEmpty, 0.99)), '1.0×']);
    rows.push([`raw request/reply, ${fmt(pageBytes.length / 1024)} KiB (the size of a page of 100)`, `${fmt(pageBytes.length / 1024)} KiB`, ms(quantile(rawPage, 0.5)), ms(quantile(rawPage, 0.99)), `${fmt(quantile(rawPage, 0.5) / base50)}×`]);
    for (const [label, user, args, refused = false] of cases) {
      let bytes = 0;
      const times = await measure(async () => {
        bytes = await request(user, args, refused);
      });
      rows.push([label, bytes >= 1024 ? `${fmt(bytes / 1024)} KiB` : `${bytes} B`, ms(quantile(times, 0.5)), ms(quantile(times, 0.99)), `${fmt(quantile(times, 0.5) / base50)}×`]);
    }
    out(table(rows));

    const t1 = performance.now();
    let seen = 0;
    let pages = 0;
    for (let offset: number | undefined = 0; offset !== undefined; pages++) {
      const page = await admin.queryPage({ offset });
      seen += page.jobs.length;
      offset = page['next-offset'];
    }
    const allMs = performance.now() - t1;
    out(`\nall ${fmt(seen, 0)} jobs read page by page (full pages, SDK): ${pages} pages in ${fmt(allMs, 0)} ms\n`);
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const c of children.reverse()) await c.stop();
    await server.stop();
    closeSync(logFd);
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
