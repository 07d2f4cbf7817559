/**
 * The service's settings, from the environment (protocol.md, Settings).
 */
import { z } from 'zod';
import { ACCOUNT_RE, DEFAULT_PREFIX } from './protocol/subjects.js';
import { DEFAULT_LIMITS } from './protocol/limits.js';
import type { Limits } from './protocol/limits.js';
import { DEFAULT_PERSISTENCE, DEFAULT_RETENTION } from './persist/settings.js';
import type { PersistenceSettings, Retention } from './persist/settings.js';
import { DEFAULT_PIPE_SETTINGS } from './pipes/settings.js';
import { DEFAULT_REATTACH_MS, MAX_REATTACH_MS, NODE_ID_RE } from './protocol/worker.js';
import { DEFAULT_PARTITIONS } from './cluster/partition.js';
import type { PipeSettings } from './pipes/settings.js';

/** A positive whole number from a variable. */
const count = (fallback: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,14}$/, 'a positive whole number')
    .transform(Number)
    .default(fallback);

/** A whole number of zero or more from a variable. */
const zeroOrMore = (fallback: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,14})$/, 'a whole number (0 or more)')
    .transform(Number)
    .default(fallback);

/** `all`, `none`, or comma-separated job type names. */
export const typeList = z
  .string()
  .default('all')
  .transform((s) => s.trim())
  .transform((s): 'all' | string[] => (s === 'all' ? 'all' : s === 'none' ? [] : s.split(',').map((t) => t.trim()).filter(Boolean)));

const Env = z.object({
  /** The NATS server to use; unset: start the embedded nats-server with nats.conf. */
  NATS_URL: z.string().min(1).optional(),
  /** The config file of the embedded nats-server (e.g. nats-auth.conf); unset: nats.conf. */
  JOBS_NATS_CONFIG: z.string().min(1).optional(),
  /** The user the service connects to NATS as, when the server wants credentials. */
  NATS_USER: z.string().min(1).optional(),
  /** That user's password. */
  NATS_PASSWORD: z.string().min(1).optional(),
  /** @defaultValue 'jobs' */
  JOBS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'a subject prefix: tokens of letters, digits, _ and -, joined by dots')
    .default(DEFAULT_PREFIX),
  /** @defaultValue 'admin' */
  JOBS_ADMINS: z
    .string()
    .default('admin')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(ACCOUNT_RE, 'admin names are account names'))),
  /** @defaultValue './data/files' */
  JOBS_DATA_DIR: z.string().min(1).default('./data/files'),
  /** @defaultValue 'info' */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` lines, or `pretty` (readable, for a terminal). @defaultValue 'json' */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** @defaultValue 1048576 */
  JOBS_MAX_PAYLOAD: count(DEFAULT_LIMITS.maxPayload),
  /** @defaultValue 1000 */
  JOBS_MAX_JOBS_PER_OWNER: count(DEFAULT_LIMITS.maxJobsPerOwner),
  /** @defaultValue 1024 */
  JOBS_MAX_DESCRIPTION: count(DEFAULT_LIMITS.maxDescription),
  /** @defaultValue 65536 */
  JOBS_MAX_PARAMS_BYTES: count(DEFAULT_LIMITS.maxParamsBytes),
  /** @defaultValue 10000 */
  JOBS_MAX_PAYLOAD_KEYS: count(DEFAULT_LIMITS.maxPayloadKeys),
  /** @defaultValue 10000 */
  JOBS_MAX_PAYLOAD_ITEMS: count(DEFAULT_LIMITS.maxPayloadItems),
  /** The built-in types run in the service's process: `all`, `none`, or names. @defaultValue 'all' */
  JOBS_LOCAL_TYPES: typeList,
  /** A remote worker silent this long is gone and its jobs fail (docs/workers.md). @defaultValue 3000 */
  JOBS_WORKER_TIMEOUT_MS: count(3000),
  /**
   * With JOBS_PERSIST: how long past the service timeout workers keep this service's jobs
   * running for it to come back after a restart (docs/workers.md); 0: they cancel them at the
   * timeout. @defaultValue 30000
   */
  JOBS_WORKER_REATTACH_MS: zeroOrMore(DEFAULT_REATTACH_MS).pipe(z.number().max(MAX_REATTACH_MS, `at most ${MAX_REATTACH_MS} (a day)`)),
  /** Input files one job may take. @defaultValue 16 */
  JOBS_PIPE_MAX_INPUTS: count(DEFAULT_PIPE_SETTINGS.maxInputs),
  /** Bytes of pipe data one owner may keep at once. @defaultValue 1073741824 */
  JOBS_PIPE_MAX_BYTES: count(DEFAULT_PIPE_SETTINGS.maxBytes),
  /** How far a stream-mode output (or an upload) may run ahead of its reader. @defaultValue 16777216 */
  JOBS_PIPE_WINDOW_BYTES: count(DEFAULT_PIPE_SETTINGS.windowBytes),
  /** A job fails once an input got nothing, or its stream-mode output's reader read nothing, this long. @defaultValue 60000 */
  JOBS_PIPE_STALL_TIMEOUT_MS: count(DEFAULT_PIPE_SETTINGS.stallTimeoutMs),
  /** How long a job's output is kept after it concludes. @defaultValue 3600000 */
  JOBS_PIPE_RETENTION_MS: count(DEFAULT_PIPE_SETTINGS.retentionMs),
  /** No pipe data older than this is kept (the streams' max age). @defaultValue 86400000 */
  JOBS_PIPE_MAX_AGE_MS: count(DEFAULT_PIPE_SETTINGS.maxAgeMs),
  /** Keep jobs across restarts in JetStream (`true`) or in memory only (`false`). @defaultValue true */
  JOBS_PERSIST: z.enum(['true', 'false']).default('true'),
  /** The event stream's oldest event, ms. @defaultValue 604800000 (7 days) */
  JOBS_EVENTS_MAX_AGE_MS: count(DEFAULT_PERSISTENCE.eventsMaxAgeMs),
  /** The event stream's size, bytes. @defaultValue 1073741824 */
  JOBS_EVENTS_MAX_BYTES: count(DEFAULT_PERSISTENCE.eventsMaxBytes),
  /** How long a reply waits for what it reports to be saved, ms. @defaultValue 5000 */
  JOBS_SAVE_TIMEOUT_MS: count(DEFAULT_PERSISTENCE.saveTimeoutMs),
  /** Partitions the jobs are spread over by owner; fixed when the job store is first made (docs/cluster.md). @defaultValue 32 */
  JOBS_PARTITIONS: count(DEFAULT_PARTITIONS).pipe(z.number().max(1024, 'at most 1024')),
  /** This instance's id among those sharing the prefix; unset: the one the job store keeps. */
  JOBS_INSTANCE_ID: z.string().regex(NODE_ID_RE, 'letters, digits, _ and -, at most 64').optional(),
  /** Replicas of the streams and buckets the service makes (3 on a 3-node cluster). @defaultValue 1 */
  JOBS_REPLICAS: count(1).pipe(z.number().max(5, 'at most 5')),
  /** Concluded jobs older than this are dismissed, ms. @defaultValue 604800000 (7 days) */
  JOBS_KEEP_CONCLUDED_MS: count(DEFAULT_RETENTION.keepConcludedMs),
  /** At most this many concluded jobs are kept (the oldest are dismissed). @defaultValue 10000 */
  JOBS_KEEP_CONCLUDED: count(DEFAULT_RETENTION.keepConcluded),
});

export interface Settings {
  natsUrl: string | undefined;
  /** The embedded nats-server's config file, if not the default nats.conf. */
  natsConfig: string | undefined;
  /** Credentials of the service's own NATS connection. */
  natsUser: string | undefined;
  natsPassword: string | undefined;
  prefix: string;
  admins: string[];
  dataDir: string;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
  logFormat: z.infer<typeof Env>['LOG_FORMAT'];
  limits: Limits;
  /** The built-in types the service runs itself; the others only on remote workers. */
  localTypes: 'all' | string[];
  workerTimeoutMs: number;
  /** How long workers keep this service's jobs for it to come back after a restart (with persistence). */
  workerReattachMs: number;
  /** Input and output pipes. */
  pipes: Partial<PipeSettings>;
  /** Keeping jobs across restarts; false: in memory only. */
  persistence: PersistenceSettings | false;
  retention: Retention;
  /** Partitions of the jobs by owner (docs/cluster.md). */
  partitions: number;
  /** This instance's id; unset: the one the job store keeps. */
  instanceId: string | undefined;
  /** Replicas of the streams and buckets (the leases and members buckets so far). */
  replicas: number;
}

/**
 * Parse environment variables with `schema`; an empty variable counts as unset, as shells and
 * compose files tend to mean it. Throws an Error naming the first bad variable.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(set);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid setting ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** Read the settings; throws an Error naming the bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const e = parseEnv(Env, env);
  if (e.JOBS_NATS_CONFIG !== undefined && e.NATS_URL !== undefined) {
    throw new Error('Invalid setting JOBS_NATS_CONFIG: it configures the embedded nats-server, which does not run when NATS_URL is set');
  }
  if (e.NATS_PASSWORD !== undefined && e.NATS_USER === undefined) {
    throw new Error('Invalid setting NATS_PASSWORD: set NATS_USER too');
  }
  return {
    natsUrl: e.NATS_URL,
    natsConfig: e.JOBS_NATS_CONFIG,
    natsUser: e.NATS_USER,
    natsPassword: e.NATS_PASSWORD,
    prefix: e.JOBS_PREFIX,
    admins: e.JOBS_ADMINS,
    dataDir: e.JOBS_DATA_DIR,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    limits: {
      maxPayload: e.JOBS_MAX_PAYLOAD,
      maxJobsPerOwner: e.JOBS_MAX_JOBS_PER_OWNER,
      maxDescription: e.JOBS_MAX_DESCRIPTION,
      maxParamsBytes: e.JOBS_MAX_PARAMS_BYTES,
      maxPayloadKeys: e.JOBS_MAX_PAYLOAD_KEYS,
      maxPayloadItems: e.JOBS_MAX_PAYLOAD_ITEMS,
    },
    localTypes: e.JOBS_LOCAL_TYPES,
    workerTimeoutMs: e.JOBS_WORKER_TIMEOUT_MS,
    workerReattachMs: e.JOBS_WORKER_REATTACH_MS,
    pipes: {
      maxInputs: e.JOBS_PIPE_MAX_INPUTS,
      maxBytes: e.JOBS_PIPE_MAX_BYTES,
      windowBytes: e.JOBS_PIPE_WINDOW_BYTES,
      stallTimeoutMs: e.JOBS_PIPE_STALL_TIMEOUT_MS,
      retentionMs: e.JOBS_PIPE_RETENTION_MS,
      maxAgeMs: e.JOBS_PIPE_MAX_AGE_MS,
    },
    persistence:
      e.JOBS_PERSIST === 'false'
        ? false
        : { eventsMaxAgeMs: e.JOBS_EVENTS_MAX_AGE_MS, eventsMaxBytes: e.JOBS_EVENTS_MAX_BYTES, saveTimeoutMs: e.JOBS_SAVE_TIMEOUT_MS },
    retention: { keepConcludedMs: e.JOBS_KEEP_CONCLUDED_MS, keepConcluded: e.JOBS_KEEP_CONCLUDED },
    partitions: e.JOBS_PARTITIONS,
    instanceId: e.JOBS_INSTANCE_ID,
    replicas: e.JOBS_REPLICAS,
  };
}
