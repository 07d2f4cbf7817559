/**
 * Clients' job-waits pending on an instance that stops, with other instances on the prefix:
 * instead of answering them `The service is shutting down`, the stopping instance keeps them
 * until its partitions are handed over, then forwards each to the instance serving the job's
 * partition with the client's reply subject (`Jobs-Reply-To`). That instance acknowledges at
 * once and answers the client itself when the wait ends: a rolling restart fails no wait.
 */
import type { Msg } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { ShuttingDownError } from '../protocol/errors.js';
import type { JobWaitArgs } from '../protocol/schemas.js';
import { Command } from '../protocol/subjects.js';
import type { Forwarder } from './forward.js';
import { Relayed, withTimeLeft } from './forward.js';

/** What a job-wait kept for the hand-over resolves to: its answer is someone else's to send. */
export const HANDED_OVER = Symbol('handed over');

/** Something to answer: a client's command (ServiceMsg) or a forwarded one (Msg). */
export type Answerable = Pick<Msg, 'subject' | 'reply' | 'data' | 'respond'>;

interface KeptWait {
  msg: Answerable;
  caller: string;
  partition: number;
  args: JobWaitArgs;
  /** performance.now() when the command arrived: the wait's time left is handed over. */
  arrived: number;
}

/** Answers a kept wait that could not be handed over (or relays the next instance's refusal). */
export type WaitAnswer = (msg: Answerable, caller: string, result: ShuttingDownError | Relayed) => void;

export class WaitHandover {
  readonly #kept: KeptWait[] = [];

  constructor(
    private readonly forwarder: Forwarder,
    private readonly answer: WaitAnswer,
    private readonly logger: Logger,
  ) {}

  /** Keep a client's job-wait that the stopping service would answer 503, to hand it over at {@link run}. */
  keep(msg: Answerable, caller: string, partition: number, args: JobWaitArgs, arrived: number): typeof HANDED_OVER {
    this.#kept.push({ msg, caller, partition, args, arrived });
    return HANDED_OVER;
  }

  /**
   * Hand every kept wait to the instance serving its partition now (its partitions were let
   * go, so they are served elsewhere or about to be; each waits for that as any forwarded
   * command does). A wait no instance took is answered `The service is shutting down`.
   */
  async run(): Promise<void> {
    const kept = this.#kept.splice(0);
    if (kept.length === 0) return;
    let handed = 0;
    await Promise.all(
      kept.map(async (w) => {
        const args = withTimeLeft(w.args, performance.now() - w.arrived);
        try {
          const ack = await this.forwarder.forward(w.partition, Command.jobWait, w.caller, new TextEncoder().encode(JSON.stringify(args)), { replyTo: w.msg.reply });
          // An acknowledgement has no body; a refusal (the job is gone, say) is the client's answer.
          if (ack.data.length > 0) this.answer(w.msg, w.caller, new Relayed(ack));
          else handed++;
        } catch (err) {
          this.logger.warn({ err, caller: w.caller, job: w.args.id, owner: w.args.owner ?? w.caller, partition: w.partition }, 'job-wait: no instance took it over; answered shutting down');
          this.answer(w.msg, w.caller, new ShuttingDownError());
        }
      }),
    );
    this.logger.info({ waits: kept.length, handed }, 'pending job-waits handed over to the instances serving their jobs now');
  }
}
