/**
 * Connecting to NATS the way a long-lived service should: reconnect forever, keep
 * subscriptions, and log every change of the connection.
 */
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';

export async function connectNats(servers: string, logger: Logger, opts: ConnectionOptions = {}): Promise<NatsConnection> {
  const nc = await connect({
    servers,
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
