/**
 * A dashboard under test: a private nats-server with a WebSocket listener, the service on it
 * (test/support/stack.ts), and the HTTP server with the dashboard mounted, on a free port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { dashboard } from '../../src/dashboard/plugin.js';
import { startHttp } from '../../src/http/start.js';
import type { RunningHttp } from '../../src/http/start.js';
import { NatsServer } from '../../src/nats/server.js';
import { startStack } from '../support/stack.js';
import type { Stack, StackOptions } from '../support/stack.js';

export interface DashboardStack extends AsyncDisposable {
  stack: Stack;
  http: RunningHttp;
  /** The dashboard's URL. */
  url: string;
  close(): Promise<void>;
}

/** The HTTP server with the dashboard, for a stack (or any service on `server` with `prefix`). */
export async function startDashboardHttp(opts: { server: NatsServer; prefix: string; admins?: string[]; connection?: { user: string; pass: string } }): Promise<RunningHttp> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: opts.server.url, ...opts.connection });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const running = await startHttp({
    nc,
    servers: opts.server.url,
    prefix: opts.prefix,
    logger,
    listen: { host: '127.0.0.1', port: 0 },
    health: async () => ({ live: true, ready: true }),
    metrics: async () => ({ contentType: 'text/plain', text: '' }),
    plugins: [dashboard({ wsUrl: () => opts.server.wsUrl, prefix: opts.prefix, admins: opts.admins ?? ['admin'] })],
  });
  const close = async () => {
    await running.close();
    await nc.close();
  };
  return { ...running, close, [Symbol.asyncDispose]: close };
}

export async function startDashboard(opts: StackOptions = {}): Promise<DashboardStack> {
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-nats-'));
  const server = await NatsServer.start({ jetstreamDir: storeDir, websocket: {} });
  const stack = await startStack({ ...opts, server });
  const http = await startDashboardHttp({ server, prefix: stack.prefix, ...(opts.admins && { admins: opts.admins }) });
  const close = async () => {
    await http.close();
    await stack.close();
    await server.stop();
    rmSync(storeDir, { recursive: true, force: true });
  };
  return { stack, http, url: http.url, close, [Symbol.asyncDispose]: close };
}
