/**
 * `GET /_download/<token>?filename=<name>`: a job's output or log, from a URL that
 * `job-download` / `job-download-log` returned. The token is used once, by the caller who asked
 * for it (HTTP Basic; in the unauthenticated default the token's caller). Unbuffered, bytes
 * stream while the job runs; buffered, they are served once the job succeeded. A job that
 * failed or was cancelled gives an HTTP error with its error text, never an empty 200; once
 * the body has begun, the response is aborted (curl and wget report a failure).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DownloadTokens } from '../persist/download-tokens.js';
import type { DownloadToken } from '../persist/download-tokens.js';
import type { JobsClient } from '../sdk/client.js';
import { UnauthorizedError, basicCredentials } from './callers.js';
import { HttpError } from './server.js';
import type { HttpContext, HttpPlugin } from './server.js';

const GONE = 'Download not found: its URL was used already, has expired, or was never issued';

export function downloadRoutes(tokens: DownloadTokens): HttpPlugin {
  return (app: FastifyInstance, ctx: HttpContext) => {
    app.get<{ Params: { token: string } }>('/_download/:token', async (request, reply) => {
      const creds = basicCredentials(request.headers.authorization);
      // With authentication, the credentials first: a wrong password must not use the token up.
      if (ctx.callers.authenticated && creds === undefined) throw new UnauthorizedError('HTTP Basic credentials are required (wget --user … --password …, curl -u user:password)');
      const found = await tokens.peek(request.params.token);
      if (!found) throw new HttpError(404, GONE);
      const { token, revision } = found;
      const as = creds ?? { user: token.caller, pass: '' };
      if (as.user !== token.caller) throw new HttpError(404, GONE);
      await ctx.callers.as(as, async (client) => {
        if (!(await tokens.use(request.params.token, revision))) throw new HttpError(404, GONE);
        const log = ctx.logger.child({ job: token.id, owner: token.owner });
        log.info({ pipe: token.pipe, filename: token.filename, buffered: token.buffered }, 'download: token used');
        await serve(ctx, request, reply, client, token, log);
      });
      return reply;
    });
  };
}

async function serve(ctx: HttpContext, request: FastifyRequest, reply: FastifyReply, client: JobsClient, token: DownloadToken, log: Logger): Promise<void> {
  const res = reply.raw;
  reply.hijack();
  const t0 = performance.now();
  res.once('close', () => ctx.requestDone(request, res.writableFinished ? res.statusCode : 0, performance.now() - t0));
  const abort = new AbortController();
  const gone = () => {
    if (!res.writableFinished) abort.abort(new Error('The HTTP client went away'));
  };
  res.on('close', gone);
  let started = false;
  const sink = async (chunk: Uint8Array) => {
    if (!started) {
      started = true;
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': contentDisposition(token.filename),
        'cache-control': 'no-store',
      });
    }
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    if (abort.signal.aborted) throw abort.signal.reason;
  };
  try {
    if (token.buffered) {
      // Served once the job succeeded: a failed or cancelled job's error is the reply.
      const info = await client.wait(token.id).catch((err: unknown) => {
        throw new HttpError(404, err instanceof Error ? err.message : String(err));
      });
      if (info.error !== undefined) throw new HttpError(500, info.error);
    }
    const sent = token.pipe === 'out' ? await client.download(token.id, sink, { signal: abort.signal }) : await client.downloadLog(token.id, sink, { signal: abort.signal });
    if (!started) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': contentDisposition(token.filename), 'content-length': '0' });
    }
    res.end();
    log.info({ size: sent?.size, digest: sent?.digest, url: request.url.split('?')[0]?.replace(/[^/]+$/, '…') }, 'download: sent');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log.warn({ err: why, started }, 'download failed');
    if (started || res.destroyed) {
      // The body has begun: abort it (no last chunk), so the client sees a failure.
      res.destroy(err instanceof Error ? err : new Error(why));
      return;
    }
    const status = err instanceof HttpError ? err.status : 500;
    res.writeHead(status, reason(why), { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: why }));
  } finally {
    res.off('close', gone);
  }
}

/** A reason phrase carrying the error (wget prints it): one line of printable ASCII. */
function reason(text: string): string {
  const line = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line || 'Download failed';
}

/** `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266), for wget --content-disposition. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
