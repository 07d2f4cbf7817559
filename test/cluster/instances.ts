/**
 * jobstate instances for the cluster tests: as child processes (instance-process.ts: SIGKILL,
 * SIGSTOP, SIGCONT, SIGTERM) or in this process (their JobManager can be asked directly).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobService } from '../../src/service/service.js';
import type { JobServiceOptions } from '../../src/service/service.js';

/** Timings that make a takeover take ~2.5 s instead of ~13 s (tests that are not about the defaults). */
export const FAST_TIMINGS = {
  lease: { leaseMs: 2000, renewMs: 400, marginMs: 300, retryMs: 100 },
  membership: { heartbeatMs: 250, ttlMs: 1250 },
  reconcileMs: 100,
};

/** The event stream made small: a 1 GiB one would take all of a test cluster node's file store. */
export const TEST_PERSISTENCE = { eventsMaxBytes: 64 * 1024 * 1024 };

const SCRIPT = fileURLToPath(new URL('./instance-process.js', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class InstanceProcess {
  #child: ChildProcess | undefined;
  #out = '';

  constructor(
    readonly id: string,
    readonly servers: string[],
    readonly prefix: string,
    readonly opts: { replicas?: number; fast?: boolean; dataDir?: string } = {},
  ) {}

  /** Start it; resolves once it logged `ready`, with how long that took, ms. */
  async start(): Promise<number> {
    const t0 = performance.now();
    this.#out = '';
    const child = spawn(process.execPath, [SCRIPT], {
      env: {
        ...process.env,
        SERVERS: this.servers.join(','),
        PREFIX: this.prefix,
        ID: this.id,
        REPLICAS: String(this.opts.replicas ?? 1),
        FAST: this.opts.fast ? '1' : '0',
        ...(this.opts.dataDir && { DATA_DIR: this.opts.dataDir }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout?.on('data', (c: Buffer) => (this.#out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.#out += c.toString()));
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
    const deadline = Date.now() + 30_000;
    while (!this.#out.includes('"msg":"ready"')) {
      if (child.exitCode !== null) throw new Error(`instance ${this.id} exited (${child.exitCode}): ${this.#out}`);
      if (Date.now() > deadline) throw new Error(`instance ${this.id} did not get ready: ${this.#out}`);
      await sleep(20);
    }
    return performance.now() - t0;
  }

  /** Its log lines, parsed. */
  lines(): Array<Record<string, unknown>> {
    return this.#out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  get output(): string {
    return this.#out;
  }

  signal(signal: NodeJS.Signals): void {
    this.#child?.kill(signal);
  }

  /** Send `signal` and wait for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  }
}

export interface InProcess {
  id: string;
  nc: NatsConnection;
  service: JobService;
  close(): Promise<void>;
}

/** An instance in this process, on a connection of its own to `servers` (the first one first). */
export async function startInProcess(
  id: string,
  servers: string[],
  prefix: string,
  opts: Partial<Pick<JobServiceOptions, 'replicas' | 'cluster' | 'partitions'>> & { logger?: Logger; dataDir: string },
): Promise<InProcess> {
  const nc = await connect({ servers, noRandomize: true, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const logger = opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const service = await JobService.start({
    nc,
    types: builtinTypes(opts.dataDir),
    logger,
    prefix,
    instanceId: id,
    persistence: TEST_PERSISTENCE,
    ...(opts.replicas !== undefined && { replicas: opts.replicas }),
    ...(opts.cluster && { cluster: opts.cluster }),
    ...(opts.partitions !== undefined && { partitions: opts.partitions }),
  }).catch(async (err: unknown) => {
    await nc.close();
    throw err;
  });
  return {
    id,
    nc,
    service,
    close: async () => {
      await service.close();
      await nc.drain().catch(() => undefined);
    },
  };
}
