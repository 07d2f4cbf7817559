/**
 * The web dashboard (docs/dashboard.md), mounted on the HTTP server: the page at `/`, its
 * script and style, nats.js for the browser, and two small JSON documents the page starts
 * from: `/dashboard/config.json` (where the broker's WebSocket listener is, the subject
 * prefix, the admins) and `/dashboard/model.json` (the job machine's statuses, verb table and
 * statechart). The page then talks to the broker itself, as the signed-in user.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { HttpPlugin } from '../http/server.js';
import { readEmbeddedWsUrl } from '../nats/embedded.js';
import { loadSettings } from '../settings.js';
import { esmOfCommonJs } from './browser-module.js';
import { machineModel } from './model.js';

/** The package's root, from dist/src/dashboard/. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface DashboardOptions {
  /** The broker's WebSocket URL browsers connect to, asked at each page load (it may change). */
  wsUrl(): string | undefined;
  prefix: string;
  admins: readonly string[];
}

/**
 * The dashboard's routes.
 *
 * @example
 * ```ts
 * await startHttp({ …, plugins: [dashboard({ wsUrl: () => server.wsUrl, prefix: 'jobs', admins: ['admin'] })] });
 * ```
 */
export function dashboard(opts: DashboardOptions): HttpPlugin {
  return async (app, ctx) => {
    const model = JSON.stringify(machineModel());
    let natsModule: string | undefined;
    const file = (path: string, type: string) => async (_req: unknown, reply: { type(t: string): { send(b: unknown): unknown } }) =>
      reply.type(type).send(await readFile(ROOT + path));

    app.get('/', file('web/index.html', 'text/html; charset=utf-8'));
    app.get('/dashboard/style.css', file('web/style.css', 'text/css; charset=utf-8'));
    app.get<{ Params: { name: string } }>('/dashboard/app/:name', async (request, reply) => {
      const { name } = request.params;
      if (!/^[a-z-]+\.js(\.map)?$/.test(name)) return reply.code(404).send({ error: `No such dashboard file: ${name}` });
      const text = await readFile(`${ROOT}dist/web/${name}`).catch(() => undefined);
      if (text === undefined) return reply.code(404).send({ error: `No such dashboard file: ${name} (npm run build)` });
      return reply.type(name.endsWith('.map') ? 'application/json' : 'text/javascript; charset=utf-8').send(text);
    });
    app.get('/dashboard/vendor/nats-core.js', async (_request, reply) => {
      natsModule ??= esmOfCommonJs('@nats-io/nats-core');
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(natsModule);
    });
    app.get('/dashboard/config.json', async () => ({
      wsUrl: opts.wsUrl() ?? null,
      prefix: opts.prefix,
      admins: opts.admins,
      authenticated: ctx.callers.authenticated,
    }));
    app.get('/dashboard/model.json', async (_request, reply) => reply.type('application/json').send(model));
  };
}

/**
 * The dashboard as `npm start` mounts it: the prefix and admins of the service's settings, and
 * the WebSocket URL of JOBS_NATS_WS_URL, else (without NATS_URL) the one the embedded server
 * wrote to data/nats-ws.url.
 */
export function dashboardFromEnv(env: NodeJS.ProcessEnv = process.env): HttpPlugin {
  return (app, ctx) => {
    const settings = loadSettings(env);
    const cwd = process.cwd();
    // data/nats-ws.url is the embedded server's: with NATS_URL set it may be left from an earlier run.
    const wsUrl = () => env.JOBS_NATS_WS_URL || (settings.natsUrl === undefined ? readEmbeddedWsUrl(cwd) : undefined);
    return dashboard({ wsUrl, prefix: settings.prefix, admins: settings.admins })(app, ctx);
  };
}
