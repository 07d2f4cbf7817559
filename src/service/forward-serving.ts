/**
 * The serving side of forwarding: while this instance serves partition n it listens on
 * `<prefix>.int.p.<n>.>` (no queue group: one instance serves n), and stops listening before
 * n's jobs are dropped, so that commands forwarded from then on reach n's next instance.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import type { Command } from '../protocol/subjects.js';
import { subjects } from '../protocol/subjects.js';

/** Handles one forwarded command, of `partition`. */
export type ForwardedHandler = (msg: Msg, partition: number, command: Command) => void;

export class ForwardServing {
  readonly #subs = new Map<number, Subscription>();
  readonly #off: Array<() => void>;
  #closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly ownership: Ownership,
    private readonly handle: ForwardedHandler,
    private readonly logger: Logger,
  ) {
    this.#off = [ownership.on('serving', (p) => this.#listen(p)), ownership.on('unserving', (p) => this.#stop(p))];
    for (let p = 0; p < ownership.partitions; p++) if (ownership.serves(p)) this.#listen(p);
  }

  /** Stop listening on every partition (the service is going away). */
  close(): void {
    this.#closed = true;
    for (const off of this.#off) off();
    for (const p of [...this.#subs.keys()]) this.#stop(p);
  }

  #listen(p: number): void {
    if (this.#closed || this.#subs.has(p)) return;
    const sub = this.nc.subscribe(subjects.forwardFilter(this.prefix, p), {
      callback: (err, msg) => {
        if (err) {
          this.logger.error({ err, partition: p }, 'forwarded commands: subscription failed');
          return;
        }
        const to = subjects.forwardedOf(this.prefix, msg.subject);
        if (!to || to.partition !== p) {
          this.logger.warn({ partition: p, subject: msg.subject.slice(0, 128) }, 'forwarded command ignored: not a command subject');
          return;
        }
        this.handle(msg, p, to.command);
      },
    });
    this.#subs.set(p, sub);
    this.logger.debug({ partition: p }, 'forwarded commands: listening');
  }

  #stop(p: number): void {
    const sub = this.#subs.get(p);
    if (!sub) return;
    this.#subs.delete(p);
    sub.unsubscribe();
    this.logger.debug({ partition: p }, 'forwarded commands: no longer listening');
  }
}
