/**
 * jobctl's command line: the global options, the settings they resolve to (flag, then
 * environment, then default), and the parsers of values (JSON params, sizes, integers).
 */
import { userInfo } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import { EMBEDDED_URL, readEmbeddedUrl } from '../nats/embedded.js';
import { ACCOUNT_RE, DEFAULT_PREFIX } from '../protocol/subjects.js';
import { CliError, ExitCode } from './errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

/** Options every subcommand accepts. */
export const GLOBAL_OPTIONS = {
  server: { type: 'string', short: 's' },
  user: { type: 'string', short: 'u' },
  password: { type: 'string' },
  creds: { type: 'string' },
  prefix: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const GLOBAL_HELP: Array<[string, string]> = [
  ['-s, --server URL', 'NATS server (NATS_URL; default: ./data/nats.url if present, else nats://127.0.0.1:4322)'],
  ['-u, --user NAME', 'the account to act as (JOBS_USER; default: your login name)'],
  ['--password PW', 'password for --user, if the server wants one (JOBS_PASSWORD; prefer the variable)'],
  ['--creds FILE', 'a NATS .creds file (NATS_CREDS)'],
  ['--prefix P', 'subject prefix of the service (JOBS_PREFIX; default: jobs)'],
  ['--timeout MS', 'how long a command may take (default: 10000)'],
  ['-h, --help', 'help, for jobctl or for one command'],
];

export const DEFAULT_SERVER = EMBEDDED_URL;
export const DEFAULT_TIMEOUT_MS = 10_000;

/** What the global options and environment resolve to. */
export interface Settings {
  server: string;
  /** Where `server` came from, for error messages. */
  serverSource: string;
  prefix: string;
  timeoutMs: number;
  password: string | undefined;
  creds: string | undefined;
  /** Resolved on first use: a bad login name matters only to commands that connect. */
  user(): string;
}

/** Resolve the global settings from the parsed flags, the environment and the working directory. */
export function resolveSettings(values: Values, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Settings {
  const get = (flag: string, variable: string): string | undefined => str(values[flag]) ?? (env[variable] || undefined);
  let server = str(values.server);
  let serverSource = '--server';
  if (server === undefined && env.NATS_URL) [server, serverSource] = [env.NATS_URL, 'NATS_URL'];
  if (server === undefined) {
    const written = readEmbeddedUrl(cwd);
    if (written) [server, serverSource] = [written, './data/nats.url'];
  }
  if (server === undefined) [server, serverSource] = [DEFAULT_SERVER, 'the default'];

  const prefix = get('prefix', 'JOBS_PREFIX') ?? DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new CliError(`invalid prefix '${prefix}': tokens of letters, digits, _ and -, joined by dots`, ExitCode.usage);
  }
  const timeoutMs = values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseInteger(String(values.timeout), '--timeout', 1);
  const flagUser = get('user', 'JOBS_USER');
  return {
    server,
    serverSource,
    prefix,
    timeoutMs,
    password: get('password', 'JOBS_PASSWORD'),
    creds: get('creds', 'NATS_CREDS'),
    user: () => {
      const login = flagUser ?? loginName(env);
      if (login === undefined) throw new CliError('cannot tell who you are: pass --user NAME or set JOBS_USER', ExitCode.usage);
      if (!ACCOUNT_RE.test(login)) {
        const what = flagUser === undefined ? `your login name '${login}'` : `'${login}'`;
        throw new CliError(`${what} is not an account name (letters, digits, _ and -, at most 64): pass --user NAME or set JOBS_USER`, ExitCode.usage);
      }
      return login;
    },
  };
}

function loginName(env: NodeJS.ProcessEnv): string | undefined {
  if (env.USER) return env.USER;
  try {
    return userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The first token that is not an option (nor an option's value): the subcommand. */
export function findCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  const takesValue = new Set(
    Object.entries(GLOBAL_OPTIONS).flatMap(([name, o]) => (o.type === 'string' ? [`--${name}`, ...('short' in o ? [`-${o.short}`] : [])] : [])),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (takesValue.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') return { name: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

/** A JSON object from the command line (PARAMS-JSON and the like). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${what} is not valid JSON: ${(err as Error).message} (quote it: '{"steps": 5}')`, ExitCode.usage);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`${what} must be a JSON object, like '{"steps": 5}'`, ExitCode.usage);
  }
  return value as Record<string, unknown>;
}

/** A non-negative integer (or at least `min`). */
export function parseInteger(text: string, what: string, min = 0): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new CliError(`${what} expects an integer${min > 0 ? ` of at least ${min}` : ' ≥ 0'}, not '${text}'`, ExitCode.usage);
  }
  return Number(text);
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** A size in bytes: `1048576`, `512K`, `10M`, `1.5G` (binary units; `KiB`, `MB` … also accepted). */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new CliError(`${what} expects a size in bytes, like 1048576, 512K or 10M, not '${text}'`, ExitCode.usage);
  }
  return bytes;
}
