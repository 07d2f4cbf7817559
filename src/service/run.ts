/**
 * Running the jobstate service as a process: `npm start` (src/main.ts) and `jobctl serve`.
 * With NATS_URL unset it runs its own nats-server with the repo's nats.conf (the embedded
 * default), or with JOBS_NATS_CONFIG (e.g. nats-auth.conf), and stops it on exit.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeLogger } from '../logger.js';
import { connectNats } from '../nats/connect.js';
import { EMBEDDED_PORT, EMBEDDED_WS_PORT, writeEmbeddedUrl, writeEmbeddedWsUrl } from '../nats/embedded.js';
import { NatsServer, NatsServerMissingError } from '../nats/server.js';
import { selectTypes } from '../runtime/select-types.js';
import { loadSettings } from '../settings.js';
import { builtinTypes } from '../runtime/builtin/builtin-types.js';
import { limitHeapGrowth } from './heap-growth.js';
import { JobService } from './service.js';
import { StoreUnavailableError } from '../persist/open.js';
import { InstanceIdInUseError } from '../cluster/membership.js';
import { ServiceMetrics } from './metrics.js';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { untilSignalled } from '../shutdown.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What runs beside the service in its process (the HTTP server: src/http/beside.ts). */
export interface Beside {
  (ctx: BesideContext): Promise<{ close(): Promise<void> } | undefined>;
}

export interface BesideContext {
  env: NodeJS.ProcessEnv;
  /** The service's connection, and the broker's URL. */
  nc: NatsConnection;
  url: string;
  prefix: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** True once the jobs are restored and the service answers. */
  started(): boolean;
}

/**
 * Run the service until SIGINT or SIGTERM; resolves once it has shut down. A bad setting or a
 * failed start prints one line (`jobstate: …`) and exits the process with code 1. `beside`
 * starts once NATS is connected, before the jobs are restored, and stops after the service.
 */
export async function runService(env: NodeJS.ProcessEnv = process.env, beside?: Beside): Promise<void> {
  limitHeapGrowth();
  try {
    await serve(env, beside);
  } catch (err) {
    if (
      err instanceof NatsServerMissingError ||
      err instanceof StoreUnavailableError ||
      err instanceof InstanceIdInUseError ||
      (err instanceof Error && err.message.startsWith('Invalid setting'))
    ) {
      process.stderr.write(`jobstate: ${err.message}\n`);
    } else {
      process.stderr.write(`jobstate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    process.exit(1);
  }
}

async function serve(env: NodeJS.ProcessEnv, beside: Beside | undefined): Promise<void> {
  const settings = loadSettings(env);
  const logger = makeLogger(settings.logLevel, settings.logFormat, { service: 'jobstate' });
  // JOBS_LOCAL_TYPES: the built-ins left out run only on remote workers (`npm run worker`).
  const types = selectTypes(builtinTypes(resolvePath(settings.dataDir)), settings.localTypes, 'JOBS_LOCAL_TYPES');

  let embedded: NatsServer | undefined;
  let url = settings.natsUrl;
  if (url === undefined) {
    // nats.conf and data/ are those of the directory the service runs in (the repo, for
    // `npm start`); without a nats.conf there, the one shipped with the package.
    const cwd = process.cwd();
    const config =
      settings.natsConfig !== undefined
        ? resolvePath(cwd, settings.natsConfig)
        : existsSync(join(cwd, 'nats.conf'))
          ? join(cwd, 'nats.conf')
          : join(PACKAGE_ROOT, 'nats.conf');
    mkdirSync(join(cwd, 'data'), { recursive: true });
    // Its own process group: a terminal's Ctrl-C reaches the service only, which stops the
    // server after its last save (below).
    embedded = await NatsServer.start({ config, port: EMBEDDED_PORT, websocket: { port: EMBEDDED_WS_PORT }, cwd, detached: true });
    url = embedded.url;
    writeEmbeddedUrl(cwd, url);
    // The dashboard's browsers connect to the WebSocket listener (docs/dashboard.md).
    if (embedded.wsUrl !== undefined) writeEmbeddedWsUrl(cwd, embedded.wsUrl);
    logger.info({ url, wsUrl: embedded.wsUrl, config }, 'embedded nats-server started');
  }

  const credentials = settings.natsUser === undefined ? {} : { user: settings.natsUser, pass: settings.natsPassword };
  const nc = await connectNats(url, logger, credentials).catch(async (err: unknown) => {
    await embedded?.stop();
    if (!(err instanceof Error) || err.name !== 'AuthorizationError') throw err;
    // A setting the server refuses: one line, as for any other bad setting.
    const which = settings.natsUser === undefined ? 'NATS_USER: the nats-server wants credentials' : 'NATS_USER/NATS_PASSWORD: the nats-server refused them';
    throw new Error(`Invalid setting ${which} (${err.message})`);
  });
  if (nc.info?.auth_required !== true) {
    logger.warn(
      { url },
      embedded
        ? 'embedded nats-server started WITHOUT authentication (development default): any local client may act as any user; see docs/security.md'
        : 'the nats-server does not require authentication: any client may act as any user; see docs/security.md',
    );
  }
  // The file jobs' directory (JOBS_DATA_DIR), relative to where the service runs.
  const dataDir = resolvePath(settings.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const metrics = new ServiceMetrics();
  let started = false;
  const besides = await beside?.({ env, nc, url, prefix: settings.prefix, logger, metrics, started: () => started }).catch(async (err: unknown) => {
    await nc.close();
    await embedded?.stop();
    throw err;
  });
  const service = await JobService.start({
    nc,
    metrics,
    types,
    workers: { timeoutMs: settings.workerTimeoutMs, reattachMs: settings.workerReattachMs },
    logger,
    prefix: settings.prefix,
    admins: settings.admins,
    limits: settings.limits,
    pipes: settings.pipes,
    persistence: settings.persistence,
    retention: settings.retention,
    partitions: settings.partitions,
    instanceId: settings.instanceId,
    replicas: settings.replicas,
  }).catch(async (err: unknown) => {
    await nc.close().catch(() => undefined);
    await embedded?.stop();
    throw err;
  });
  started = true;
  logger.info({ url, prefix: settings.prefix, admins: settings.admins }, 'ready');

  await untilSignalled(logger, async () => {
    await besides?.close();
    await service.close();
    // Everything is saved: now the connection and, last, the embedded server.
    await nc.drain().catch(() => nc.close());
    await embedded?.stop();
  });
}
