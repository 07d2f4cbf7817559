/**
 * Pipelined updates of a KV bucket's keys: each update is a plain publish on the key's subject
 * with the revision it expects (`Nats-Expected-Last-Subject-Sequence`, as `kv.update` sends),
 * and JetStream's acknowledgements all come back on one inbox subscription. Many updates are
 * in flight at once without a request (its own subscription token, timer and error objects)
 * for each, and one timer gives up on the acknowledgements that are late.
 *
 * The guarantee is `kv.update`'s: a promise resolves with the new revision once JetStream has
 * stored the value, and rejects when JetStream refused it (an error whose message is
 * JetStream's, e.g. `wrong last sequence: 12` when another writer moved the key), when no
 * acknowledgement came within the timeout, or when the connection is closed.
 */
import { createInbox, headers } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { EarliestTimer } from './earliest-timer.js';

const ENC = new TextEncoder();

interface Pending {
  resolve: (revision: number) => void;
  reject: (err: Error) => void;
  deadline: number;
}

/** What JetStream answers a publish with. */
interface PubAck {
  seq?: number;
  error?: { code?: number; err_code?: number; description?: string };
}

export class KvUpdates {
  readonly #pending = new Map<number, Pending>();
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #subjectPrefix: string;
  #next = 0;
  /** One timer: at the earliest deadline, the late updates are given up. */
  readonly #timer = new EarliestTimer((now) => this.#expire(now));

  /** `bucket`: the KV bucket's name; `timeoutMs`: how long an acknowledgement may take. */
  constructor(
    private readonly nc: NatsConnection,
    bucket: string,
    private readonly timeoutMs: number,
  ) {
    const inboxPrefix = (nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.#inbox = createInbox(inboxPrefix);
    this.#subjectPrefix = `$KV.${bucket}.`;
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => this.#ack(err, msg) });
  }

  /** Store `data` under `key` if the key is still at `revision`; resolves with the new revision. */
  update(key: string, data: string, revision: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const token = this.#next++;
      const h = headers();
      h.set('Nats-Expected-Last-Subject-Sequence', String(revision));
      try {
        this.nc.publish(this.#subjectPrefix + key, ENC.encode(data), { reply: `${this.#inbox}.${token}`, headers: h });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const deadline = performance.now() + this.timeoutMs;
      this.#pending.set(token, { resolve, reject, deadline });
      this.#timer.arm(deadline);
    });
  }

  /** Stop listening; updates still waiting are rejected. */
  close(): void {
    this.#timer.close();
    if (!this.nc.isClosed()) this.#sub.unsubscribe();
    const err = new Error('The job store is closed');
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  #ack(err: Error | null, msg: Msg): void {
    if (err) return; // the subscription itself failed (connection closed): the timeout answers
    const token = Number(msg.subject.slice(this.#inbox.length + 1));
    const pending = this.#pending.get(token);
    if (!pending) return; // given up already
    this.#pending.delete(token);
    if (msg.headers?.hasError) {
      // A status without JetStream's answer: 503 (no responders) when JetStream is not there.
      pending.reject(new Error(`JetStream did not take the write (${msg.headers.code} ${msg.headers.description})`));
      return;
    }
    let ack: PubAck;
    try {
      ack = msg.json<PubAck>();
    } catch {
      pending.reject(new Error('JetStream sent an acknowledgement that is not JSON'));
      return;
    }
    if (ack.error) pending.reject(new Error(ack.error.description ?? `JetStream error ${ack.error.err_code ?? ack.error.code}`));
    else if (typeof ack.seq !== 'number') pending.reject(new Error('invalid ack response'));
    else pending.resolve(ack.seq);
  }

  /** Give up the updates past their deadline; returns the earliest deadline left. */
  #expire(now: number): number {
    let earliest = Infinity;
    for (const [token, p] of this.#pending) {
      if (p.deadline <= now) {
        this.#pending.delete(token);
        p.reject(new Error(`JetStream did not acknowledge the write in ${this.timeoutMs} ms`));
      } else if (p.deadline < earliest) earliest = p.deadline;
    }
    return earliest;
  }
}
