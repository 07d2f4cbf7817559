/**
 * `npm run http`: the HTTP server on its own, next to a service running elsewhere (NATS_URL;
 * unset: the embedded server of an `npm start` in this directory, from data/nats.url). Its own
 * connection (NATS_USER/NATS_PASSWORD: under authentication, the service's account) redeems
 * download tokens and asks the service for its metrics (`<prefix>.svc.metrics`); each request
 * acts as its caller, with the caller's HTTP Basic credentials.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { z } from 'zod';
import { connectNats, natsServers } from '../nats/connect.js';
import { EMBEDDED_URL, readEmbeddedUrl } from '../nats/embedded.js';
import { DEFAULT_PREFIX } from '../protocol/subjects.js';
import { metricsSubject } from '../service/metrics.js';
import { parseEnv } from '../settings.js';
import { untilSignalled } from '../shutdown.js';
import { httpSettingsFromEnv } from './settings.js';
import { startHttp } from './start.js';

const Env = z.object({
  NATS_URL: z.string().min(1).optional(),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  JOBS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a subject prefix').default(DEFAULT_PREFIX),
  JOBS_HTTP: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** How long the service may take to answer a metrics or health request. */
const ASK_TIMEOUT_MS = 3000;

export async function runHttp(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const e = parseEnv(Env, env);
    const { listen, limits } = httpSettingsFromEnv(env);
    if (listen === 'off') throw new Error('Invalid setting JOBS_HTTP: off, but this process is only the HTTP server');
    const logger = pino({ level: e.LOG_LEVEL, base: { service: 'jobstate-http' } });
    const url = e.NATS_URL ?? readEmbeddedUrl(process.cwd()) ?? EMBEDDED_URL;
    const nc = await connectNats(url, logger, { name: 'jobstate-http', ...(e.NATS_USER !== undefined && { user: e.NATS_USER, pass: e.NATS_PASSWORD }) });
    const ask = async () => (await nc.request(metricsSubject(e.JOBS_PREFIX), '', { timeout: ASK_TIMEOUT_MS })).string();
    mkdirSync(join(process.cwd(), 'data'), { recursive: true });
    const running = await startHttp({
      nc,
      servers: natsServers(url),
      prefix: e.JOBS_PREFIX,
      logger,
      listen,
      cwd: process.cwd(),
      // Ready once the broker is reachable and the service answers (it answers once its jobs are restored).
      health: async () => {
        try {
          await ask();
          return { live: true, ready: true };
        } catch (err) {
          return { live: true, ready: false, reason: `the service does not answer: ${err instanceof Error ? err.message : String(err)}` };
        }
      },
      limits,
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: await ask() }),
    });
    await untilSignalled(logger, async () => {
      await running.close();
      await nc.drain();
    });
  } catch (err) {
    process.stderr.write(`jobstate-http: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) void runHttp();
