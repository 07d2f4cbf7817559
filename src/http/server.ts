/**
 * The HTTP server (fastify): TrueNAS's `/_upload` and `/_download/<token>`, `/healthz` and
 * `/metrics` (docs/http.md). It is one more client of the wire protocol and holds no job state:
 * each request acts as its caller through the SDK ({@link Callers}).
 *
 * More routes (the web dashboard's static files, its API) are mounted with `plugins`: each is
 * called with a fastify scope of its own and the {@link HttpContext}.
 */
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import type { JobsClient } from '../sdk/client.js';
import { BrokerUnavailableError, UnauthorizedError, basicCredentials } from './callers.js';
import type { Callers } from './callers.js';
import { DEFAULT_HTTP_LIMITS } from './settings.js';
import type { HttpLimits } from './settings.js';

/** Whether the service can take requests: `ready` once jobs are restored and the broker is reachable. */
export interface Health {
  live: boolean;
  ready: boolean;
  /** Why not ready, when it is not. */
  reason?: string;
}

/** What the HTTP server's routes and plugins are given. */
export interface HttpContext {
  logger: Logger;
  callers: Callers;
  limits: HttpLimits;
  /** Run `fn` as the request's caller (HTTP Basic); replies 401 itself when that fails. */
  asCaller<T>(request: FastifyRequest, fn: (client: JobsClient) => Promise<T>): Promise<T>;
  health(): Promise<Health>;
  /** The service's metrics in Prometheus text format. */
  metrics(): Promise<{ contentType: string; text: string }>;
  /** Count and log a request answered outside fastify's reply (a hijacked one); status 0: aborted. */
  requestDone(request: FastifyRequest, status: number, ms: number): void;
}

/** Extra routes: called once with a fastify scope of their own. */
export type HttpPlugin = (app: FastifyInstance, ctx: HttpContext) => void | Promise<void>;

export interface HttpServerOptions {
  logger: Logger;
  callers: Callers;
  health(): Promise<Health>;
  metrics(): Promise<{ contentType: string; text: string }>;
  limits?: Partial<HttpLimits>;
  /** The built-in routes' handlers beyond health and metrics (upload, download). */
  routes?: HttpPlugin[];
  /** More routes, e.g. the dashboard's. */
  plugins?: HttpPlugin[];
}

/** An HTTP error with a status: its message is the reply's text. */
export class HttpError extends Error {
  /** The job the failed request started, if any (in the reply as `job_id`). */
  jobId: string | undefined;
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Create the server (not yet listening): `await app.listen(…)` or {@link listenHttp}. */
export async function createHttpServer(opts: HttpServerOptions): Promise<FastifyInstance> {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, ...opts.limits };
  const app = Fastify({
    logger: false,
    // Slow clients: headers must arrive within headersTimeout; a connection that moves
    // nothing for idleTimeoutMs is closed. No limit on a whole request (uploads are long).
    connectionTimeout: limits.idleTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: 5_000,
    bodyLimit: limits.maxDataBytes,
    forceCloseConnections: true,
    http: {
      maxHeaderSize: 16 * 1024,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.headersTimeoutMs / 2))),
    },
  });
  // The HTTP server's own numbers, served after the service's.
  const registry = new Registry();
  const requests = new Counter({ name: 'jobstate_http_requests_total', help: 'HTTP requests answered, by method, route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const count = (method: string, route: string, status: number) => requests.inc({ method, route, status: String(status) });
  const requestDone = (request: FastifyRequest, status: number, ms: number) => {
    count(request.method, request.routeOptions.url ?? 'unknown', status);
    opts.logger.info({ http: { method: request.method, url: request.url.replace(/\/_download\/[^/?]+/, '/_download/…'), status, ms: Math.round(ms) } }, 'http request');
  };
  app.addHook('onResponse', async (request, reply) => requestDone(request, reply.statusCode, reply.elapsedTime));
  const ctx: HttpContext = {
    requestDone,
    logger: opts.logger,
    callers: opts.callers,
    limits,
    asCaller: (request, fn) => opts.callers.as(basicCredentials(request.headers.authorization), fn),
    health: opts.health,
    metrics: opts.metrics,
  };

  app.setErrorHandler((err, request, reply) => sendError(opts.logger, request, reply, err));
  app.setNotFoundHandler((request, reply) => void reply.code(404).type('text/plain; charset=utf-8').send(`Not found: ${request.method} ${request.url.split('?')[0]}\n`));

  app.get('/healthz', async (_request, reply) => {
    const health = await opts.health().catch((err: unknown): Health => ({ live: true, ready: false, reason: String(err) }));
    return reply.code(health.ready ? 200 : 503).send(health);
  });
  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await opts.metrics();
    return reply.type(contentType).send(`${text.trimEnd()}\n\n${await registry.metrics()}`);
  });

  for (const plugin of [...(opts.routes ?? []), ...(opts.plugins ?? [])]) {
    await app.register(async (scope) => plugin(scope, ctx));
  }
  return app;
}

/** The reply for an error: its status and text, and never a crash. */
export function sendError(logger: Logger, request: FastifyRequest, reply: FastifyReply, err: unknown): void {
  const { status, message } = describe(err);
  if (status >= 500) logger.error({ err, url: request.url }, 'http request failed');
  if (reply.sent || reply.raw.headersSent) {
    // The body had begun: abort it, so the client sees a failure and not a short success.
    reply.raw.destroy(err instanceof Error ? err : new Error(message));
    return;
  }
  if (status === 401) void reply.header('www-authenticate', 'Basic realm="jobstate", charset="UTF-8"');
  const jobId = err instanceof HttpError ? err.jobId : undefined;
  void reply.code(status).type('application/json; charset=utf-8').send({ error: message, ...(jobId !== undefined && { job_id: jobId }) });
}

function describe(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof UnauthorizedError) return { status: 401, message: err.message };
  if (err instanceof BrokerUnavailableError) return { status: 503, message: err.message };
  const e = err as { statusCode?: number; message?: string };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, message: e.message ?? 'Bad request' };
  return { status: 500, message: err instanceof Error ? err.message : String(err) };
}
