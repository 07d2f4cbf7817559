/**
 * The service's settings, from the environment (protocol.md, Settings).
 */
import { z } from 'zod';
import { ACCOUNT_RE, DEFAULT_PREFIX } from './protocol/subjects.js';

const Env = z.object({
  /** The NATS server to use; unset: start the embedded nats-server with nats.conf. */
  NATS_URL: z.string().min(1).optional(),
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
});

export interface Settings {
  natsUrl: string | undefined;
  prefix: string;
  admins: string[];
  dataDir: string;
  logLevel: z.infer<typeof Env>['LOG_LEVEL'];
}

/** Read the settings; throws an Error naming the bad variable. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // An empty variable counts as unset, as shells and compose files tend to mean it.
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = Env.safeParse(set);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid setting ${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  return { natsUrl: e.NATS_URL, prefix: e.JOBS_PREFIX, admins: e.JOBS_ADMINS, dataDir: e.JOBS_DATA_DIR, logLevel: e.LOG_LEVEL };
}
