/**
 * The page's side of jobstate: one NATS connection over the broker's WebSocket listener, as
 * the signed-in user, so the broker's permissions decide what the page sees and may do; the
 * commands of the wire protocol (docs/protocol.md) as requests.
 */
import { wsconnect } from '@nats-io/nats-core';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';

/** What `/dashboard/config.json` says. */
export interface DashboardConfig {
  wsUrl: string | null;
  prefix: string;
  admins: string[];
  /** The broker checks passwords (nats-auth.conf). */
  authenticated: boolean;
}

/** What `/dashboard/model.json` says: read off the job machine by the server. */
export interface MachineModel {
  statuses: string[];
  verbs: string[];
  /** The verbs each status accepts (the machine's verb table). */
  accepts: Record<string, string[]>;
  svg: string;
}

/** A refusal or error answered by the service, with its text (QEMU's, for refusals) and code. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export interface JobEvent {
  event: string;
  data: Record<string, unknown> & { id: string; owner: string };
  timestamp: { seconds: number; microseconds: number };
}

export class Api {
  readonly admin: boolean;

  private constructor(
    readonly nc: NatsConnection,
    readonly user: string,
    readonly pass: string,
    readonly config: DashboardConfig,
  ) {
    this.admin = config.admins.includes(user);
  }

  /** Connect as `user`; rejects with the broker's reason (refused credentials, unreachable). */
  static async connect(config: DashboardConfig, user: string, pass: string): Promise<Api> {
    if (!config.wsUrl) throw new Error('The server does not say where the broker’s WebSocket listener is (JOBS_NATS_WS_URL)');
    const nc = await wsconnect({
      servers: config.wsUrl,
      user,
      pass,
      inboxPrefix: `_INBOX_${user}`,
      name: `dashboard ${user}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    });
    return new Api(nc, user, pass, config);
  }

  /** Send a command as the signed-in user; its `return`, or a {@link CommandError}. */
  async command<T = unknown>(name: string, args: Record<string, unknown> = {}, timeout = 10_000): Promise<T> {
    let msg;
    try {
      msg = await this.nc.request(`${this.config.prefix}.cmd.${this.user}.${name}`, JSON.stringify(args), { timeout });
    } catch (err) {
      const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
      if (/no responders|503/i.test(text)) throw new CommandError('The jobstate service is unreachable (nobody answers its commands)', 503);
      if (/timeout/i.test(text)) throw new CommandError('The jobstate service did not answer in time', 504);
      if (/permission/i.test(text)) throw new CommandError(`Permission denied: ${err instanceof Error ? err.message : String(err)}`, 403);
      throw err;
    }
    const body = msg.json<{ return?: T; error?: { desc: string } }>();
    if (body.error) throw new CommandError(body.error.desc, Number(msg.headers?.get('Nats-Service-Error-Code') ?? 500));
    return body.return as T;
  }

  /** The events the user may see: every owner's for an admin, else the user's own. */
  events(onEvent: (e: JobEvent) => void, onError: (err: Error) => void): Subscription {
    const subject = this.admin ? `${this.config.prefix}.evt.>` : `${this.config.prefix}.evt.${this.user}.>`;
    return this.subscribe(subject, (data) => onEvent(JSON.parse(data) as JobEvent), onError);
  }

  /** A job's log lines as they are written (its log pipe's messages). */
  logLines(owner: string, id: string, onText: (text: string) => void): Subscription {
    const sub = this.nc.subscribe(`${this.config.prefix}.pipe.${owner}.${id}.log`, {
      callback: (err, msg) => {
        // The pipe's end carries headers (size, digest): not log text.
        if (err || msg.headers) return;
        onText(msg.string());
      },
    });
    return sub;
  }

  private subscribe(subject: string, onData: (data: string) => void, onError: (err: Error) => void): Subscription {
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return onError(err);
        try {
          onData(msg.string());
        } catch (e) {
          onError(e instanceof Error ? e : new Error(String(e)));
        }
      },
    });
  }

  /** HTTP Basic for the HTTP server's uploads (the broker checks the same credentials). */
  basicAuth(): string {
    const bytes = new TextEncoder().encode(`${this.user}:${this.pass}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
}

export async function loadJson<T>(path: string): Promise<T> {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
