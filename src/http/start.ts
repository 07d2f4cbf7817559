/**
 * Starting the HTTP server next to the service (`npm start`) or on its own (`npm run http`):
 * the callers' connections, the routes, listening on JOBS_HTTP and writing data/http.url.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Callers } from './callers.js';
import { listenHttp, writeHttpUrl } from './listen.js';
import { plugins as defaultPlugins } from './plugins.js';
import { createHttpServer } from './server.js';
import { uploadRoutes } from './upload.js';
import { downloadRoutes } from './download.js';
import { DownloadTokens } from '../persist/download-tokens.js';
import type { Health, HttpPlugin } from './server.js';
import type { HttpLimits, HttpListen } from './settings.js';

export interface StartHttpOptions {
  /** The HTTP server's own connection (the service's, when they share a process). */
  nc: NatsConnection;
  /** Where callers' own connections go (the broker's URL). */
  servers: string | string[];
  prefix: string;
  logger: Logger;
  listen: HttpListen;
  /** Where `data/http.url` is written; unset: not written. */
  cwd?: string;
  health(): Promise<Health>;
  metrics(): Promise<{ contentType: string; text: string }>;
  limits?: Partial<HttpLimits>;
  /** Extra routes. @defaultValue the list in plugins.ts */
  plugins?: HttpPlugin[];
}

export interface RunningHttp extends AsyncDisposable {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

export async function startHttp(opts: StartHttpOptions): Promise<RunningHttp> {
  const callers = new Callers({ servers: opts.servers, nc: opts.nc, prefix: opts.prefix, logger: opts.logger });
  const app = await createHttpServer({
    logger: opts.logger,
    callers,
    health: opts.health,
    metrics: opts.metrics,
    ...(opts.limits && { limits: opts.limits }),
    routes: [uploadRoutes, downloadRoutes(new DownloadTokens(opts.nc, opts.prefix))],
    plugins: opts.plugins ?? defaultPlugins,
  });
  const url = await listenHttp(app, opts.listen, opts.logger);
  if (opts.cwd !== undefined) {
    try {
      writeHttpUrl(opts.cwd, url);
    } catch (err) {
      opts.logger.warn({ err, url }, 'could not write data/http.url');
    }
  }
  if (callers.authenticated) {
    opts.logger.info({ url }, 'HTTP server listening: callers authenticate with HTTP Basic, checked by nats-server');
  } else {
    opts.logger.warn({ url }, 'HTTP server listening WITHOUT authentication (development default): the HTTP Basic user name is the caller, any password; see docs/http.md');
  }
  const close = async () => {
    await app.close();
    await callers.close();
  };
  return { app, url, close, [Symbol.asyncDispose]: close };
}
