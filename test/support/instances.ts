/**
 * N service processes (`node dist/src/main.js`, as `npm start` runs it) on a test cluster
 * (test/support/cluster.ts): instance k is `JOBS_INSTANCE_ID=i<k+1>`, `JOBS_REPLICAS=3`, its
 * NATS_URL lists every node, node k first. Each can be SIGKILLed, SIGTERMed, stopped,
 * continued and started again (same id, same env). Also: who holds which partition (the leases
 * bucket), clients on a chosen node, and a remote worker process. Never touches shared servers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobsClient } from '../../src/sdk/index.js';
import { after, before } from 'node:test';
import { startCluster } from './cluster.js';
import type { Cluster } from './cluster.js';

const SERVICE_MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface InstancesOptions {
  /** @defaultValue 3 */
  count?: number;
  /** More environment for every instance (e.g. JOBS_LOCAL_TYPES). */
  env?: Record<string, string>;
  /** @defaultValue a fresh one */
  prefix?: string;
  /** The node instance k's NATS_URL names first. @defaultValue k (one instance per node) */
  nodeOf?: (k: number) => number;
}

export interface ServiceInstances extends AsyncDisposable {
  prefix: string;
  /** JOBS_INSTANCE_ID of each: i1, i2, … */
  ids: string[];
  /** The service's JOBS_DATA_DIR (shared by the instances and the worker: one host). */
  dataDir: string;
  /** Start instance k (again) and wait for its `ready` log line. */
  start(k: number): Promise<void>;
  /** Send `signal` to instance k; SIGKILL and SIGTERM wait for its exit. */
  signal(k: number, signal: NodeJS.Signals): Promise<void>;
  alive(k: number): boolean;
  pid(k: number): number | undefined;
  /** The instance's last output (json log lines), for diagnostics. */
  output(k: number): string;
  /** Partition → the id of its lease holder (absent: no lease). */
  holders(): Promise<Map<number, string>>;
  /** A client acting as `user`, on node `node` first (the others as fallbacks). */
  client(user: string, node?: number): Promise<JobsClient>;
  /** Start a remote worker process (`node dist/src/worker/main.js`) for `types`; resolves once it is ready. */
  worker(types: string, node?: number): Promise<ChildProcess>;
  close(): Promise<void>;
}

let prefixes = 0;

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** Wait for a json log line with `msg` on `child`'s stdout (or reject when it exits or `timeoutMs` passes). */
function logged(child: ChildProcess, msg: string, timeoutMs: number, diag: () => string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${msg}' log line within ${timeoutMs} ms:\n${diag()}`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before '${msg}':\n${diag()}`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        if (entry.msg !== msg) return;
        clearTimeout(timer);
        child.removeListener('exit', onExit);
        resolve(entry);
      } catch {
        // not a log line
      }
    });
  });
}

export async function startInstances(cluster: Cluster, opts: InstancesOptions = {}): Promise<ServiceInstances> {
  const count = opts.count ?? 3;
  const prefix = opts.prefix ?? `ci${process.pid}x${++prefixes}`;
  const ids = Array.from({ length: count }, (_, k) => `i${k + 1}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-instances-'));
  const children: Array<ChildProcess | undefined> = ids.map(() => undefined);
  const logs = ids.map(() => '');
  const others: ChildProcess[] = [];
  const clients: JobsClient[] = [];
  let admin: NatsConnection | undefined;
  const urlsFrom = (node: number) => [...cluster.urls.slice(node % cluster.urls.length), ...cluster.urls.slice(0, node % cluster.urls.length)];

  const env = (k: number): NodeJS.ProcessEnv => ({
    ...process.env,
    NATS_URL: urlsFrom(opts.nodeOf?.(k) ?? k).join(','),
    JOBS_INSTANCE_ID: ids[k],
    JOBS_REPLICAS: '3',
    JOBS_PREFIX: prefix,
    JOBS_DATA_DIR: dataDir,
    JOBS_HTTP: 'off',
    LOG_LEVEL: process.env.JOBS_TEST_LOGS ? 'debug' : 'info',
    LOG_FORMAT: 'json',
    // Every stream's max_bytes is reserved on each replica's server: keep them small on the test cluster's 1 GB nodes.
    JOBS_EVENTS_MAX_BYTES: String(64 * 1024 * 1024),
    JOBS_PIPE_MAX_BYTES: String(8 * 1024 * 1024),
    ...opts.env,
  });

  const start = async (k: number) => {
    const previous = children[k];
    if (previous) await exited(previous);
    // JOBS_BENCH_NODE_ARGS: node flags for the instances (e.g. --cpu-prof --cpu-prof-dir=<dir>).
    const nodeArgs = process.env.JOBS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...nodeArgs, SERVICE_MAIN], { env: env(k), stdio: ['ignore', 'pipe', 'pipe'] });
    children[k] = child;
    const append = (chunk: Buffer) => void (logs[k] = (logs[k] + chunk.toString()).slice(-32_768));
    // JOBS_TEST_LOGS=<dir>: every instance's whole output kept there too, for a failure to be read afterwards.
    if (process.env.JOBS_TEST_LOGS) child.stdout!.pipe(createWriteStream(join(process.env.JOBS_TEST_LOGS, `${prefix}-${ids[k]}.log`), { flags: 'a' }));
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    // A test that dies without close() must not leave its services behind.
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    await logged(child, 'ready', 30_000, () => logs[k]!.slice(-4000));
  };

  const instances: ServiceInstances = {
    prefix,
    ids,
    dataDir,
    start,
    signal: async (k, signal) => {
      const child = children[k];
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      if (signal === 'SIGKILL' || signal === 'SIGTERM') await exited(child);
    },
    alive: (k) => {
      const c = children[k];
      return c !== undefined && c.exitCode === null && c.signalCode === null;
    },
    pid: (k) => children[k]?.pid,
    output: (k) => logs[k] ?? '',
    holders: async () => {
      admin ??= await cluster.connect(0);
      const kv = await new Kvm(jetstream(admin)).open(`${prefix.replace(/\./g, '_')}_leases`);
      const out = new Map<number, string>();
      for await (const key of await kv.keys()) {
        const entry = await kv.get(key);
        if (!entry || entry.operation !== 'PUT') continue;
        const value = entry.json<{ holder?: string }>();
        if (typeof value.holder === 'string') out.set(Number(key.slice(2)), value.holder);
      }
      return out;
    },
    client: async (user, node = 0) => {
      const client = await JobsClient.connect({
        servers: urlsFrom(node),
        user,
        prefix,
        timeoutMs: 20_000,
        connection: { noRandomize: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 },
      });
      clients.push(client);
      return client;
    },
    worker: async (types, node = 0) => {
      const child = spawn(process.execPath, [WORKER_MAIN], {
        env: { ...process.env, NATS_URL: urlsFrom(node).join(','), JOBS_PREFIX: prefix, JOBS_DATA_DIR: dataDir, JOBS_WORKER_TYPES: types, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      others.push(child);
      let out = '';
      child.stderr!.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-8000)));
      process.once('exit', () => child.kill('SIGKILL'));
      await logged(child, 'ready', 15_000, () => out);
      return child;
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await admin?.close().catch(() => undefined);
      for (const child of [...children, ...others]) {
        if (!child) continue;
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited(child);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => instances.close(),
  };

  try {
    // One at a time: the first creates the store and the buckets, the others find them.
    for (let k = 0; k < count; k++) await start(k);
  } catch (err) {
    await instances.close();
    throw err;
  }
  return instances;
}

/** Retry `fn` until it resolves or `timeoutMs` passes (then its last error). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(everyMs);
    }
  }
}

/**
 * A suite's own 3-node cluster with three instances on it, started before its tests and
 * stopped after them (instances first).
 */
export function fleetForSuite(opts: InstancesOptions = {}): { readonly cluster: Cluster; readonly fleet: ServiceInstances } {
  const suite = {} as { cluster: Cluster; fleet: ServiceInstances };
  before(async () => {
    suite.cluster = await startCluster();
    suite.fleet = await startInstances(suite.cluster, opts);
  });
  after(async () => {
    await suite.fleet?.close();
    await suite.cluster?.close();
  });
  return suite;
}
