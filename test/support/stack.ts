/**
 * The integration-test stack: a private nats-server on a random loopback port with a
 * temporary JetStream store, the service on it (in-process), and SDK clients per user. Each
 * stack uses its own subject prefix. Never touches the machine's shared servers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { NatsServer } from '../../src/nats/server.js';
import { builtinTypes } from '../../src/service/builtin-types.js';
import { JobService } from '../../src/service/service.js';
import { JobsClient } from '../../src/sdk/index.js';
import type { JobTypes } from '../../src/runtime/registry.js';

let stacks = 0;

export interface Stack extends AsyncDisposable {
  server: NatsServer;
  /** The service's own connection. */
  nc: NatsConnection;
  service: JobService;
  prefix: string;
  /** A client acting as `user` on a connection of its own. */
  client(user: string): Promise<JobsClient>;
  close(): Promise<void>;
}

export interface StackOptions {
  types?: JobTypes;
  admins?: string[];
  /** An already running server to use instead of a private one. */
  server?: NatsServer;
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

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const server = opts.server ?? (await startNatsServer());
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const prefix = `t${process.pid}x${++stacks}`;
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const service = await JobService.start({
    nc,
    types: opts.types ?? builtinTypes(),
    logger,
    prefix,
    admins: opts.admins ?? ['admin'],
  });
  const clients: JobsClient[] = [];
  const close = async () => {
    await Promise.all(clients.map((c) => c.close()));
    await service.close();
    await nc.drain().catch(() => undefined);
    if (!opts.server) await server.stop();
  };
  return {
    server,
    nc,
    service,
    prefix,
    client: async (user) => {
      const client = await JobsClient.connect({ servers: server.url, user, prefix });
      clients.push(client);
      return client;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
