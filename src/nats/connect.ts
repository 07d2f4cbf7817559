/**
 * Connecting to NATS the way a long-lived service should: reconnect forever, keep
 * subscriptions, and log every change of the connection.
 */
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

/** NATS_URL's servers: one URL, or a cluster's as a comma-separated list. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `servers`: a URL or a comma-separated list of them (tried in that order first, then at random). */
export async function connectNats(servers: string, logger: Logger, opts: ConnectionOptions = {}): Promise<NatsConnection> {
  const list = natsServers(servers);
  const nc = await connect({
    servers: list,
    // A list is tried in its order: each instance of a cluster prefers the server it names first.
    noRandomize: list.length > 1,
    name: 'jobstate',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    // No stack trace captured per request (the service makes one per job store write): a
    // measurable share of its CPU under load.
    noAsyncTraces: true,
    ...opts,
  });
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'ping') continue;
      const level = status.type === 'disconnect' || status.type === 'error' ? 'warn' : 'info';
      logger[level]({ nats: status.type, server: 'server' in status ? status.server : undefined }, 'nats connection');
    }
  })();
  return nc;
}
