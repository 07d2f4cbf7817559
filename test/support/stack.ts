/**
 * The integration-test stack: a private nats-server on a random loopback port with a
 * temporary JetStream store, the service on it (in-process), and SDK clients per user. Each
 * stack uses its own subject prefix. Never touches the machine's shared servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { NatsServer } from '../../src/nats/server.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobService } from '../../src/service/service.js';
import { JobsClient } from '../../src/sdk/index.js';
import type { JobTypes } from '../../src/runtime/registry.js';
import type { Limits } from '../../src/protocol/limits.js';
import type { PipeSettings } from '../../src/pipes/settings.js';
import type { WorkerSettings } from '../../src/service/remote/directory.js';
import type { PersistenceSettings } from '../../src/persist/settings.js';

let stacks = 0;

export interface Stack extends AsyncDisposable {
  server: NatsServer;
  /** The service's own connection. */
  nc: NatsConnection;
  service: JobService;
  prefix: string;
  /** The service's data directory (JOBS_DATA_DIR): a temporary one of the stack's own, removed at close. */
  dataDir: string;
  /** A client acting as `user` on a connection of its own (with `pass`, if the server wants one). */
  client(user: string, pass?: string): Promise<JobsClient>;
  close(): Promise<void>;
}

export interface StackOptions {
  /** The service's job types, or a function of the stack's data directory that makes them. @defaultValue the built-in types */
  types?: JobTypes | ((dataDir: string) => JobTypes);
  admins?: string[];
  /** An already running server to use instead of a private one. */
  server?: NatsServer;
  /** The subject prefix. @defaultValue a fresh one per stack */
  prefix?: string;
  /** More options for the service's own connection (e.g. its credentials). */
  connection?: ConnectionOptions;
  limits?: Partial<Limits>;
  /** Keep jobs in JetStream (the default, with these settings) or not (`false`, e.g. on a server without JetStream). */
  persistence?: false | Partial<PersistenceSettings>;
  /** The service's logger. @defaultValue a silent one (TEST_LOG_LEVEL sets its level) */
  logger?: Logger;
  /** Pipe settings (stall timeout, window, …). */
  pipes?: Partial<PipeSettings>;
  /** Remote worker settings (timeouts, heartbeat, re-attach window). */
  workers?: WorkerSettings;
}

/** A nats-server of the test's own, on a random port with a temporary store. */
export async function startNatsServer(): Promise<NatsServer & { storeDir: string }> {
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-nats-'));
  const server = await NatsServer.start({ jetstreamDir: storeDir });
  const stop = server.stop.bind(server);
  return Object.assign(server, {
    storeDir,
    stop: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  });
}

/** A nats-server of the suite's own and a connection to it: started before the suite's tests, stopped after them. */
export function natsForSuite(): { readonly server: Awaited<ReturnType<typeof startNatsServer>>; readonly nc: NatsConnection } {
  const nats = {} as { server: Awaited<ReturnType<typeof startNatsServer>>; nc: NatsConnection };
  before(async () => {
    nats.server = await startNatsServer();
    nats.nc = await connect({ servers: nats.server.url });
  });
  after(async () => {
    await nats.nc?.close();
    await nats.server?.stop();
  });
  return nats;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const server = opts.server ?? (await startNatsServer());
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, ...opts.connection });
  const prefix = opts.prefix ?? `t${process.pid}x${++stacks}`;
  const logger = opts.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-data-'));
  const types = typeof opts.types === 'function' ? opts.types(dataDir) : (opts.types ?? builtinTypes(dataDir));
  const service = await JobService.start({
    nc,
    types,
    logger,
    prefix,
    admins: opts.admins ?? ['admin'],
    ...(opts.limits && { limits: opts.limits }),
    ...(opts.persistence !== undefined && { persistence: opts.persistence }),
    ...(opts.pipes && { pipes: opts.pipes }),
    ...(opts.workers && { workers: opts.workers }),
  });
  const clients: JobsClient[] = [];
  const close = async () => {
    await Promise.all(clients.map((c) => c.close()));
    await service.close();
    await nc.drain().catch(() => undefined);
    if (!opts.server) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return {
    server,
    nc,
    service,
    prefix,
    dataDir,
    client: async (user, pass) => {
      const client = await JobsClient.connect({ servers: server.url, user, prefix, ...(pass !== undefined && { pass }) });
      clients.push(client);
      return client;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
