/**
 * A private nats-server running the shipped permission model: the repo's nats-auth.conf (and
 * the nats.conf it includes) copied into a temporary directory, its subjects moved to the
 * test's own prefix, on a random loopback port, with fresh random passwords in the
 * nats-passwords.conf it includes.
 */
import { storeNames } from '../../src/persist/names.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { NatsServer } from '../../src/nats/server.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The users of nats-auth.conf. */
export const USERS = ['alice', 'bob', 'admin', 'jobstate'] as const;
export type User = (typeof USERS)[number];

let servers = 0;

export interface AuthServer extends AsyncDisposable {
  server: NatsServer;
  prefix: string;
  /** The directory holding the config files. */
  dir: string;
  /** The config file the server runs. */
  config: string;
  passwords: Record<User, string>;
  /** A plain nats.js connection as `user`, with its own inbox prefix as the SDK sets it. */
  connectAs(user: User, opts?: ConnectionOptions): Promise<NatsConnection>;
  stop(): Promise<void>;
}

/** The name of the variable holding `user`'s password in nats-passwords.conf. */
export const passwordVariable = (user: string) => `${user.toUpperCase()}_PASSWORD`;

/** nats-passwords.conf for these passwords (or bcrypt hashes). */
export function passwordsFile(passwords: Record<string, string>): string {
  return Object.entries(passwords)
    .map(([user, password]) => `${passwordVariable(user)}: ${JSON.stringify(password)}\n`)
    .join('');
}

/** nats-auth.conf with its subjects (and the pipe streams named after them) under `prefix` instead of `jobs`. */
export function authConfig(prefix: string): string {
  const text = readFileSync(join(ROOT, 'nats-auth.conf'), 'utf8');
  const token = prefix.replaceAll('.', '_');
  const moved = text
    .replace(/"jobs\./g, `"${prefix}.`)
    .replace(/\bjobs_(store|events|members|leases)\b/g, `${token}_$1`)
    .replace(/\.jobs_pipes_/g, `.${token}_pipes_`);
  if (moved === text && prefix !== 'jobs') throw new Error('nats-auth.conf has no subjects under "jobs."');
  return moved;
}

export async function startAuthServer(opts: { prefix?: string } = {}): Promise<AuthServer> {
  const prefix = opts.prefix ?? `s${process.pid}x${++servers}`;
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-auth-'));
  const config = join(dir, 'nats-auth.conf');
  writeFileSync(join(dir, 'nats.conf'), readFileSync(join(ROOT, 'nats.conf')));
  writeFileSync(config, authConfig(prefix));
  const passwords = Object.fromEntries(USERS.map((u) => [u, randomBytes(12).toString('hex')])) as Record<User, string>;
  writeFileSync(join(dir, 'nats-passwords.conf'), passwordsFile(passwords), { mode: 0o600 });
  const server = await NatsServer.start({ config, cwd: dir }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    server,
    prefix,
    dir,
    config,
    passwords,
    connectAs: (user, more = {}) =>
      connect({ servers: server.url, user, pass: passwords[user], inboxPrefix: `_INBOX_${user}`, reconnect: false, ...more }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
