/**
 * Helpers of the durability tests: the service as a child process (so that it can be
 * SIGKILLed), jobs brought to every resting status, and a job's history read back from the
 * event stream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobStatus } from '../../machines/index.js';
import { storeNames } from '../../src/persist/names.js';
import { JobsClient } from '../../src/sdk/index.js';
import type { JobInfo } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';
import { TRANSITIONS } from '../../src/testing/qemu-tables.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'dist/src/main.js');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The service (`dist/src/main.js`) as a child process on `url`. */
export class ServiceProcess {
  #child: ChildProcess | undefined;
  #out = '';
  readonly dataDir: string;

  constructor(
    readonly url: string,
    readonly prefix: string,
    dataDir?: string,
  ) {
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'jobstate-durable-'));
  }

  /** Start it; resolves once it logged `ready` (after restoring its jobs). */
  async start(): Promise<void> {
    this.#out = '';
    const child = spawn(process.execPath, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, NATS_URL: this.url, JOBS_PREFIX: this.prefix, JOBS_DATA_DIR: this.dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout?.on('data', (c: Buffer) => (this.#out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.#out += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!this.#out.includes('"msg":"ready"')) {
      if (child.exitCode !== null) throw new Error(`the service exited (${child.exitCode}): ${this.#out}`);
      if (Date.now() > deadline) throw new Error(`the service did not get ready: ${this.#out}`);
      await sleep(20);
    }
  }

  /** Its log lines, parsed. */
  lines(): Array<Record<string, unknown>> {
    return this.#out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Kill it without a chance to save anything more. */
  kill(): Promise<void> {
    return this.#signal('SIGKILL');
  }

  /** Stop it as an operator would (SIGTERM). */
  stop(): Promise<void> {
    return this.#signal('SIGTERM');
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** A file of `bytes` random-ish bytes in the data directory. */
  writeFile(name: string, bytes: number, owner = 'alice'): void {
    mkdirSync(join(this.dataDir, owner), { recursive: true });
    writeFileSync(join(this.dataDir, owner, name), Buffer.alloc(bytes, 7));
  }
}

/** Poll `probe` until it returns a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every JOB_STATUS_CHANGE of `owner`'s jobs the event stream holds, per job id, in order. */
export async function historyFromStream(nc: NatsConnection, prefix: string, owner: string): Promise<Map<string, JobStatus[]>> {
  const stream = storeNames(prefix).stream;
  const jsm = await jetstreamManager(nc);
  const filter = `${prefix}.evt.${owner}.*.JOB_STATUS_CHANGE`;
  const name = `history-${owner}-${Date.now()}`;
  await jsm.consumers.add(stream, { name, filter_subject: filter, deliver_policy: DeliverPolicy.All, ack_policy: AckPolicy.None });
  const consumer = await jetstream(nc).consumers.get(stream, name);
  const out = new Map<string, JobStatus[]>();
  try {
    let pending = (await consumer.info()).num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 1000), expires: 2000 });
      for await (const m of batch) {
        const { data } = m.json<{ data: { id: string; status: JobStatus } }>();
        const seen = out.get(data.id) ?? [];
        seen.push(data.status);
        out.set(data.id, seen);
        pending = m.info.pending;
      }
    }
  } finally {
    await jsm.consumers.delete(stream, name);
  }
  return out;
}

/**
 * A job's history is complete and in order: it begins with `created`, every step is one
 * QEMU allows, and it ends in `status` (`null` for a job that is gone).
 */
export function assertHistory(id: string, history: readonly JobStatus[] | undefined, status: JobStatus): void {
  assert.ok(history && history.length > 0, `no history for ${id}`);
  assert.equal(history[0], 'created', `${id}: ${history.join(' → ')}`);
  for (let i = 1; i < history.length; i++) {
    const from = history[i - 1]!;
    const to = history[i]!;
    assert.ok(TRANSITIONS[from].includes(to), `${id}: ${from} → ${to} is not in QEMU's table (${history.join(' → ')})`);
  }
  assert.equal(history.at(-1), status, `${id} ends in ${history.at(-1)}, not ${status} (${history.join(' → ')})`);
}

/** `client`'s jobs by id, as query-jobs lists them. */
export async function jobsById(client: JobsClient): Promise<Map<string, JobInfo>> {
  return new Map((await client.query()).map((j) => [j.id, j]));
}

/**
 * A private nats-server, the service on it as a child process, and alice's client: what a
 * test that SIGKILLs the service needs. `restart()` kills the service, starts it again and
 * connects alice anew; `close()` undoes it all (the server thawed first, if a test froze it).
 */
export class KilledServiceFixture {
  server!: Awaited<ReturnType<typeof startNatsServer>>;
  service!: ServiceProcess;
  alice!: JobsClient;

  constructor(readonly prefix: string) {}

  async start(): Promise<this> {
    this.server = await startNatsServer();
    this.service = new ServiceProcess(this.server.url, this.prefix);
    await this.service.start();
    this.alice = await this.#connect();
    return this;
  }

  async restart(): Promise<void> {
    await this.service.kill();
    await this.service.start();
    await this.alice.close();
    this.alice = await this.#connect();
  }

  async close(): Promise<void> {
    this.server?.thaw();
    await this.alice?.close();
    await this.service?.kill();
    await this.server?.stop();
  }

  #connect(): Promise<JobsClient> {
    return JobsClient.connect({ servers: this.server.url, user: 'alice', prefix: this.prefix, timeoutMs: 20_000 });
  }
}
