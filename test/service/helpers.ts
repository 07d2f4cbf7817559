/**
 * Helpers of the service integration tests: an event recorder that keeps each event's
 * subject, the per-job event sequence in semantics.md's notation, raw requests (to see the
 * service headers) and exact error assertions.
 */
import assert from 'node:assert/strict';
import type { MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { JobsError } from '../../src/sdk/index.js';

export interface Envelope {
  event: string;
  data: Record<string, unknown> & { id: string; owner: string };
  timestamp: { seconds: number; microseconds: number };
}

export interface Recorded extends Envelope {
  subject: string;
  /** The envelope exactly as received. */
  raw: unknown;
}

/** Records every event published on `subject`, in arrival order. */
export class Recorder {
  readonly events: Recorded[] = [];
  /** Resolves once the server has registered the subscription. */
  readonly ready: Promise<void>;
  readonly #sub: Subscription;
  readonly #watchers = new Set<() => void>();

  constructor(nc: NatsConnection, subject: string) {
    this.#sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const raw = msg.json<Envelope>();
        this.events.push({ ...raw, subject: msg.subject, raw });
        for (const watcher of [...this.#watchers]) watcher();
      },
    });
    this.ready = nc.flush();
  }

  /** The first recorded event (already recorded or to come) matching `pred`. */
  until(pred: (e: Recorded) => boolean, timeoutMs = 5000, what = 'an event'): Promise<Recorded> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#watchers.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map(brief))}`));
      }, timeoutMs);
      const check = () => {
        const hit = this.events.find(pred);
        if (!hit) return;
        clearTimeout(timer);
        this.#watchers.delete(check);
        resolve(hit);
      };
      this.#watchers.add(check);
    });
  }

  /** The first JOB_STATUS_CHANGE of `id` to `status`. */
  status(id: string, status: string, timeoutMs = 5000): Promise<Recorded> {
    return this.until(
      (e) => e.data.id === id && e.event === 'JOB_STATUS_CHANGE' && e.data.status === status,
      timeoutMs,
      `${id} to become ${status}`,
    );
  }

  /** The first event named `event` of `id`. */
  event(id: string, event: string, timeoutMs = 5000): Promise<Recorded> {
    return this.until((e) => e.data.id === id && e.event === event, timeoutMs, `${event} of ${id}`);
  }

  /** The events of one job. */
  of(id: string): Recorded[] {
    return this.events.filter((e) => e.data.id === id);
  }

  close(): void {
    this.#sub.unsubscribe();
  }
}

function brief(e: Recorded): string {
  return `${e.data.id}:${e.event === 'JOB_STATUS_CHANGE' ? String(e.data.status) : e.event}`;
}

/**
 * A job's events in semantics.md's notation: statuses, with other events as `[NAME]`.
 * JOB_PROGRESS is left out unless asked for.
 */
export function sequence(events: readonly Recorded[], id: string, opts: { progress?: boolean } = {}): string[] {
  return events
    .filter((e) => e.data.id === id && (opts.progress || e.event !== 'JOB_PROGRESS'))
    .map((e) => (e.event === 'JOB_STATUS_CHANGE' ? String(e.data.status) : `[${e.event}]`));
}

/** Assert that `promise` rejects with a JobsError of exactly this code and text. */
export async function rejectsWith(promise: Promise<unknown>, code: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof JobsError, `expected a JobsError, got ${String(err)}`);
    assert.deepEqual({ code: err.code, message: err.message }, { code, message });
    return true;
  });
}

/** The error a promise rejects with (fails if it resolves). */
export async function errorOf(promise: Promise<unknown>): Promise<JobsError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof JobsError, `expected a JobsError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the command to fail');
}

export interface RawReply {
  body: string;
  headers: Record<string, string>;
}

/** Send `payload` as is to `<prefix>.cmd.<caller>.<command>`; the reply's body and headers. */
export async function rawRequest(
  nc: NatsConnection,
  prefix: string,
  caller: string,
  command: string,
  payload: string | Uint8Array,
  timeoutMs = 5000,
): Promise<RawReply> {
  const msg = await nc.request(`${prefix}.cmd.${caller}.${command}`, payload, { timeout: timeoutMs });
  return { body: msg.string(), headers: headerRecord(msg.headers) };
}

function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const [k, v] of h) out[k] = v.join(',');
  return out;
}

/** An error reply exactly as the contract writes it, with its headers. */
export function errorReply(code: number, desc: string): RawReply {
  return {
    body: JSON.stringify({ error: { class: 'GenericError', desc } }),
    headers: { 'Nats-Service-Error': desc, 'Nats-Service-Error-Code': String(code) },
  };
}

export const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
export const JOB_ID = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Drop the time fields of a JobInfo after checking they are ISO-8601. */
export function withoutTimes(info: Record<string, unknown>, expect: { started: boolean; finished: boolean }): Record<string, unknown> {
  const { 'time-started': started, 'time-finished': finished, ...rest } = info;
  if (expect.started) assert.match(String(started), ISO_8601, 'time-started');
  else assert.equal(started, undefined, 'time-started');
  if (expect.finished) assert.match(String(finished), ISO_8601, 'time-finished');
  else assert.equal(finished, undefined, 'time-finished');
  return rest;
}
