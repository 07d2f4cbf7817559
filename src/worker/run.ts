/**
 * Running the built-in job types as a worker process: `npm run worker` and `jobctl worker`.
 * It connects to the NATS server of NATS_URL (else the embedded one's, from ./data/nats.url,
 * else nats://127.0.0.1:4322) and serves the types of JOBS_WORKER_TYPES to every service on
 * JOBS_PREFIX. Run the service with JOBS_LOCAL_TYPES=none so that its jobs all come here.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { makeLogger } from '../logger.js';
import { connectNats } from '../nats/connect.js';
import { EMBEDDED_URL, readEmbeddedUrl } from '../nats/embedded.js';
import { selectTypes } from '../runtime/select-types.js';
import { builtinTypes } from '../runtime/builtin/builtin-types.js';
import { loadSettings } from '../settings.js';
import { loadWorkerSettings } from './settings.js';
import { JobWorker } from './worker.js';
import { untilSignalled } from '../shutdown.js';

/**
 * Run the worker until SIGINT or SIGTERM; resolves once it has shut down. A bad setting or a
 * failed start prints one line (`jobstate-worker: …`) and exits the process with code 1.
 */
export async function runWorker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await work(env);
  } catch (err) {
    const known = err instanceof Error && (err.message.startsWith('Invalid setting') || err.name === 'ConnectionError');
    process.stderr.write(`jobstate-worker: ${known ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

async function work(env: NodeJS.ProcessEnv): Promise<void> {
  const settings = loadSettings(env);
  const own = loadWorkerSettings(env);
  const logger = makeLogger(settings.logLevel, settings.logFormat, { service: 'jobstate-worker' });
  const dataDir = resolve(settings.dataDir);
  const types = selectTypes(builtinTypes(dataDir), own.types, 'JOBS_WORKER_TYPES');
  mkdirSync(dataDir, { recursive: true });

  const url = settings.natsUrl ?? readEmbeddedUrl(process.cwd()) ?? EMBEDDED_URL;
  const credentials = settings.natsUser === undefined ? {} : { user: settings.natsUser, pass: settings.natsPassword };
  const nc = await connectNats(url, logger, { name: 'jobstate-worker', ...credentials });
  const worker = await JobWorker.start({
    nc,
    prefix: settings.prefix,
    types,
    concurrency: own.concurrency,
    name: own.name,
    heartbeatMs: own.heartbeatMs,
    logger,
  });
  logger.info({ url, prefix: settings.prefix, worker: worker.id, types: types.names() }, 'ready');

  await untilSignalled(logger, async () => {
    await worker.close();
    await nc.drain();
  });
}
