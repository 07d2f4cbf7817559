/**
 * The serving side of forwarding: each instance listens on `<prefix>.int.i.<its id>.>` (one
 * subscription, no queue group: the subject names it) for the commands of the partitions whose
 * leases it holds. A command of a partition it does not serve (any more, or not yet) is answered
 * "not served" (nothing done) and the forwarding instance asks the holder it sees next. The
 * subscription stays until the very end of a stop, after the leases are let go, so that a
 * command on its way here is answered, never dropped by an unsubscription it crossed.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import type { Command } from '../protocol/subjects.js';
import { subjects } from '../protocol/subjects.js';

/** Handles one forwarded command, of `partition`. */
export type ForwardedHandler = (msg: Msg, partition: number, command: Command) => void;

export class ForwardServing {
  readonly #sub: Subscription;

  constructor(
    nc: NatsConnection,
    prefix: string,
    ownership: Ownership,
    handle: ForwardedHandler,
    private readonly logger: Logger,
  ) {
    this.#sub = nc.subscribe(subjects.forwardFilter(prefix, ownership.id), {
      callback: (err, msg) => {
        if (err) {
          logger.error({ err }, 'forwarded commands: subscription failed');
          return;
        }
        const to = subjects.forwardedOf(prefix, ownership.id, msg.subject);
        if (!to || to.partition >= ownership.partitions) {
          logger.warn({ subject: msg.subject.slice(0, 128) }, 'forwarded command ignored: not a command subject');
          return;
        }
        handle(msg, to.partition, to.command);
      },
    });
  }

  /** Stop listening (the service is going away): what was delivered already is answered first. */
  async close(): Promise<void> {
    await this.#sub.drain().catch((err: unknown) => this.logger.warn({ err }, 'forwarded commands: draining failed'));
  }
}
