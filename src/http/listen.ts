/**
 * Listening on JOBS_HTTP: its port, or a free one when that is taken (as the embedded
 * nats-server does); the URL is logged and written to `data/http.url`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HttpListen } from './settings.js';

/** The file the HTTP server's URL is written to, under `cwd`. */
export const httpUrlFile = (cwd: string) => join(cwd, 'data', 'http.url');

/** Listen; resolves to the server's URL (`http://host:port`). */
export async function listenHttp(app: FastifyInstance, at: HttpListen, logger: Logger): Promise<string> {
  try {
    await app.listen({ host: at.host, port: at.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || at.port === 0) throw err;
    logger.warn({ port: at.port }, 'HTTP port taken: listening on a free one');
    await app.listen({ host: at.host, port: 0 });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
}

/** Record the URL under `cwd` (`data/` is made if need be). */
export function writeHttpUrl(cwd: string, url: string): void {
  mkdirSync(dirname(httpUrlFile(cwd)), { recursive: true });
  writeFileSync(httpUrlFile(cwd), `${url}\n`);
}
