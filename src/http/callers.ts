/**
 * Who an HTTP request comes from. Identity stays the broker's: with a nats-server that wants
 * credentials, the request's HTTP Basic user and password open a NATS connection as that user
 * (nats-server checks them; every permission of its config applies), kept a short while for
 * the next request. Without authentication (the development default) the Basic user name is
 * the caller, whatever the password, on one shared connection.
 */
import { createHash } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ACCOUNT_RE } from '../protocol/subjects.js';
import { JobsClient } from '../sdk/client.js';

/** The request's credentials are missing or wrong: HTTP 401. */
export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError';
}

/** The broker could not be reached: HTTP 503. */
export class BrokerUnavailableError extends Error {
  override name = 'BrokerUnavailableError';
}

export interface Credentials {
  user: string;
  pass: string;
}

/** The user and password of an `Authorization: Basic …` header, if there is one. */
export function basicCredentials(header: string | undefined): Credentials | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

export interface CallersOptions {
  /** The NATS server(s) user connections go to. */
  servers: string | string[];
  /** The HTTP server's own connection: the shared one in the unauthenticated default. */
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  /** How long an idle user connection is kept. @defaultValue 30000 */
  idleMs?: number;
}

interface Cached {
  client: Promise<JobsClient>;
  timer: NodeJS.Timeout | undefined;
  users: number;
}

export class Callers implements AsyncDisposable {
  readonly #opts: CallersOptions;
  readonly #cache = new Map<string, Cached>();
  readonly #idleMs: number;
  #shared: Promise<NatsConnection> | undefined;

  constructor(opts: CallersOptions) {
    this.#opts = opts;
    this.#idleMs = opts.idleMs ?? 30_000;
  }

  /** Whether the broker checks credentials (false: the Basic user name alone is the caller). */
  get authenticated(): boolean {
    return this.#opts.nc.info?.auth_required === true;
  }

  /**
   * Run `fn` as the caller of these credentials. Rejects with {@link UnauthorizedError} when
   * they are missing or the broker refuses them.
   */
  async as<T>(creds: Credentials | undefined, fn: (client: JobsClient) => Promise<T>): Promise<T> {
    if (creds === undefined || creds.user === '') throw new UnauthorizedError('HTTP Basic credentials are required (curl -u user:password)');
    if (!ACCOUNT_RE.test(creds.user)) throw new UnauthorizedError(`User name '${creds.user}' is not an account name`);
    if (!this.authenticated) {
      // One connection of the HTTP server's own for every caller (not the service's: the
      // bytes of uploads and downloads would share its socket with the jobs' own pipe traffic).
      this.#shared ??= connect({ servers: this.#opts.servers, name: 'jobstate-http', maxReconnectAttempts: -1, reconnectTimeWait: 250 }).catch((err: unknown) => {
        this.#shared = undefined;
        throw new BrokerUnavailableError(`The broker could not be reached: ${err instanceof Error ? err.message : String(err)}`);
      });
      return fn(new JobsClient(await this.#shared, { user: creds.user, prefix: this.#opts.prefix }));
    }
    const key = `${creds.user}\0${createHash('sha256').update(creds.pass).digest('base64')}`;
    let cached = this.#cache.get(key);
    if (!cached) {
      const client = JobsClient.connect({ servers: this.#opts.servers, user: creds.user, pass: creds.pass, prefix: this.#opts.prefix, connection: { maxReconnectAttempts: 2 } });
      const entry: Cached = { client, timer: undefined, users: 0 };
      cached = entry;
      this.#cache.set(key, entry);
      client.then(
        (c) => void c.nc.closed().then(() => this.#cache.get(key) === entry && this.#cache.delete(key)),
        () => this.#cache.get(key) === entry && this.#cache.delete(key),
      );
    }
    let client: JobsClient;
    try {
      client = await cached.client;
    } catch (err) {
      if (err instanceof Error && /authoriz|authentic/i.test(`${err.name} ${err.message}`)) {
        throw new UnauthorizedError(`The broker refused the credentials of '${creds.user}'`);
      }
      throw new BrokerUnavailableError(`The broker could not be reached: ${err instanceof Error ? err.message : String(err)}`);
    }
    const entry = cached;
    clearTimeout(entry.timer);
    entry.users++;
    try {
      return await fn(client);
    } finally {
      if (--entry.users === 0) {
        entry.timer = setTimeout(() => {
          if (this.#cache.get(key) === entry) this.#cache.delete(key);
          void client.close().catch(() => undefined);
        }, this.#idleMs);
        entry.timer.unref();
      }
    }
  }

  async close(): Promise<void> {
    const shared = await this.#shared?.catch(() => undefined);
    this.#shared = undefined;
    await shared?.close().catch(() => undefined);
    const all = [...this.#cache.values()];
    this.#cache.clear();
    await Promise.all(
      all.map(async (c) => {
        clearTimeout(c.timer);
        const client = await c.client.catch(() => undefined);
        await client?.close().catch(() => undefined);
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
