/**
 * The HTTP server in the service's process (`npm start`, `jobctl serve`): JOBS_HTTP says where
 * (`off`: none); metrics are the service's registry, health the service's start and the
 * broker's connection.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { natsServers } from '../nats/connect.js';
import type { Beside } from '../service/run.js';
import type { Health } from './server.js';
import { httpSettingsFromEnv } from './settings.js';
import { startHttp } from './start.js';

export const httpBeside: Beside = async (ctx) => {
  const { listen, limits } = httpSettingsFromEnv(ctx.env);
  if (listen === 'off') {
    ctx.logger.info('HTTP server off (JOBS_HTTP=off)');
    return undefined;
  }
  const running = await startHttp({
    nc: ctx.nc,
    servers: natsServers(ctx.url),
    prefix: ctx.prefix,
    logger: ctx.logger,
    listen,
    cwd: process.cwd(),
    health: serviceHealth(ctx.nc, ctx.started),
    metrics: () => ctx.metrics.text(),
    limits,
  });
  return running;
};

/** Health next to the service: ready once it has started (jobs restored) and the broker answers a ping. */
export function serviceHealth(nc: NatsConnection, started: () => boolean): () => Promise<Health> {
  return async () => {
    if (nc.isClosed() || nc.isDraining()) return { live: true, ready: false, reason: 'the broker connection is closed' };
    if (!started()) return { live: true, ready: false, reason: 'jobs are being restored' };
    try {
      // A broker that does not answer a ping soon is not reachable (nats.js waits for a reconnect).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([nc.flush(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer to a ping within 2 s')), 2000)))]).finally(() => clearTimeout(timer));
    } catch (err) {
      return { live: true, ready: false, reason: `the broker is not reachable: ${err instanceof Error ? err.message : String(err)}` };
    }
    return { live: true, ready: true };
  };
}
