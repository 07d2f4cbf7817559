/**
 * The worker process's own settings (`npm run worker`), besides the shared ones of
 * src/settings.ts (NATS_URL, NATS_USER/NATS_PASSWORD, JOBS_PREFIX, JOBS_DATA_DIR, LOG_LEVEL).
 */
import { z } from 'zod';
import { parseEnv, typeList } from '../settings.js';

const Env = z.object({
  /** The built-in types this worker runs: `all` or names. @defaultValue 'all' */
  JOBS_WORKER_TYPES: typeList,
  /** How many jobs run at once. @defaultValue 64 */
  JOBS_WORKER_CONCURRENCY: z.string().regex(/^[1-9][0-9]{0,5}$/, 'a positive whole number').transform(Number).default(64),
  /** The worker's name; its id is `<name>-<random>`. @defaultValue 'worker' */
  JOBS_WORKER_NAME: z.string().regex(/^[A-Za-z0-9_-]{1,48}$/, 'letters, digits, _ and -, at most 48').default('worker'),
  /** How often the worker heartbeats. @defaultValue 1000 */
  JOBS_WORKER_HEARTBEAT_MS: z.string().regex(/^[1-9][0-9]{0,5}$/, 'a positive whole number').transform(Number).default(1000),
});

export interface WorkerSettings {
  types: 'all' | string[];
  concurrency: number;
  name: string;
  heartbeatMs: number;
}

/** Read the worker's settings; throws an Error naming the bad variable. */
export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const e = parseEnv(Env, env);
  return { types: e.JOBS_WORKER_TYPES, concurrency: e.JOBS_WORKER_CONCURRENCY, name: e.JOBS_WORKER_NAME, heartbeatMs: e.JOBS_WORKER_HEARTBEAT_MS };
}
