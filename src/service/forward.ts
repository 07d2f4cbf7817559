/**
 * Any instance answers any command: where a command goes (its owner's partition, here or on
 * another instance), and forwarding it to the instance serving that partition over
 * `<prefix>.int.p.<n>.<command>`, waiting (bounded) while the partition changes hands.
 */
import { RequestError, TimeoutError, headers } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import { PartitionMovingError } from '../protocol/errors.js';
import { CALLER_HEADER, Command, NOT_SERVED_HEADER, subjects } from '../protocol/subjects.js';

/** How long a command waits for its partition to be served somewhere, ms. */
export const FORWARD_WAIT_MS = 15_000;
/** The first pause between tries, doubled each time up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;
/** job-wait without `timeout-ms` waits at most this long when forwarded (plus {@link WAIT_MARGIN_MS}). */
const FORWARDED_WAIT_MS = 60 * 60 * 1000;
const WAIT_MARGIN_MS = 5000;
/** A try that reached an instance may take this long at least (a save waits up to 5 s): a late try is not cut short. */
const MIN_TRY_MS = 5000;
/** Commands that change nothing: asked again when an instance went away with them. */
const READS: ReadonlySet<Command> = new Set([Command.queryJobs, Command.jobLog, Command.queryJobTypes]);
/** How long one try of a read may take before it is asked again, ms. */
const READ_TRY_MS = 5000;

/** Where a command is answered: here, on the instance serving a partition, or gathered from all. */
/** `local` with the owner's partition: served here as the command arrived (it may move before the command runs). */
export type Route = { kind: 'local'; partition?: number } | { kind: 'partition'; partition: number } | { kind: 'gather' };

const LOCAL: Route = { kind: 'local' };
/** One per partition, made once: no allocation per command. */
const LOCAL_IN: Route[] = [];
const GATHER: Route = { kind: 'gather' };

/**
 * The owner whose jobs `command` addresses: the caller, or an `owner` in its args (a non-admin
 * naming another owner is refused on the owner's instance, as it would be here). Undefined for
 * a command of no owner: query-job-types, and an admin's query-jobs without `owner`.
 */
export function commandOwner(command: Command, caller: string, args: unknown, admins: ReadonlySet<string>): string | undefined {
  if (command === Command.queryJobTypes) return undefined;
  if (command === Command.jobStart || command === Command.transaction || command === Command.jobDownload) return caller;
  const owner = (args as { owner?: string }).owner;
  if (command === Command.queryJobs) return admins.has(caller) ? owner : caller;
  return owner ?? caller;
}

/** Where `command` of `caller` is answered. */
export function routeOf(command: Command, caller: string, args: unknown, admins: ReadonlySet<string>, ownership: Ownership): Route {
  const owner = commandOwner(command, caller, args, admins);
  // Gathered only when some partition is served elsewhere: one instance serving all answers alone.
  if (owner === undefined) return command === Command.queryJobs && !servesAll(ownership) ? GATHER : LOCAL;
  const partition = ownership.partitionOf(owner);
  return ownership.serves(partition) ? (LOCAL_IN[partition] ??= { kind: 'local', partition }) : { kind: 'partition', partition };
}

function servesAll(ownership: Ownership): boolean {
  for (let p = 0; p < ownership.partitions; p++) if (!ownership.serves(p)) return false;
  return true;
}

/** How long one forwarded try of `command` may take, ms; undefined: what is left of the wait. */
export function forwardTimeout(command: Command, args: unknown): number | undefined {
  if (command !== Command.jobWait) return undefined;
  // Node's timers take at most 2^31 - 1 ms (more fires at once).
  return Math.min(((args as { 'timeout-ms'?: number })['timeout-ms'] ?? FORWARDED_WAIT_MS) + WAIT_MARGIN_MS, 2_147_483_647);
}

/** Another instance's reply to a forwarded command, relayed as it is (data and headers). */
export class Relayed {
  constructor(readonly msg: Msg) {}
}

export interface ForwarderOptions {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  /** How long a command waits for its partition to be served somewhere, ms. @defaultValue FORWARD_WAIT_MS */
  waitMs?: number;
}

export class Forwarder {
  readonly #opts: ForwarderOptions;
  readonly #waitMs: number;

  constructor(opts: ForwarderOptions) {
    this.#opts = opts;
    this.#waitMs = opts.waitMs ?? FORWARD_WAIT_MS;
  }

  /**
   * The reply of the instance serving `partition` to `command` (data as the client sent it),
   * as it is: to be relayed unchanged. While no instance serves the partition (no responders,
   * or the instance reached no longer serves it: nothing was done), tries again with backoff;
   * after the wait, or when a try times out (the instance went away with the command), a 503.
   * `attemptMs`: how long one try may take (job-wait); by default what is left of the wait
   * (at least {@link MIN_TRY_MS}).
   */
  async forward(partition: number, command: Command, caller: string, data: Uint8Array, attemptMs?: number): Promise<Msg> {
    const { nc, prefix, logger } = this.#opts;
    const subject = subjects.forward(prefix, partition, command);
    const deadline = performance.now() + this.#waitMs;
    let backoff = FIRST_BACKOFF_MS;
    for (let tries = 1; ; tries++) {
      const h = headers();
      h.set(CALLER_HEADER, caller);
      const left = READS.has(command) ? Math.min(READ_TRY_MS, Math.max(0, deadline - performance.now()) + 1) : Math.max(MIN_TRY_MS, deadline - performance.now());
      try {
        const reply = await nc.request(subject, data, { timeout: attemptMs ?? left, headers: h });
        if (!reply.headers?.get(NOT_SERVED_HEADER)) return reply;
      } catch (err) {
        // A read that found its instance gone asks again; a change may have been done: 503.
        if (isTimeout(err) && READS.has(command) && deadline - performance.now() > 0) continue;
        if (isTimeout(err)) {
          logger.warn({ partition, command, caller, tries }, 'forwarded command: no answer in time; the instance serving its partition may have gone');
          throw new PartitionMovingError(partition);
        }
        if (!isNoResponders(err)) throw err;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        logger.warn({ partition, command, caller, tries, waitMs: this.#waitMs }, 'forwarded command: no instance serves its partition');
        throw new PartitionMovingError(partition);
      }
      // The last try is at the deadline.
      const pause = Math.min(backoff, remaining);
      logger.debug({ partition, command, caller, tries, pause }, 'forwarded command: partition not served; trying again');
      await new Promise((resolve) => setTimeout(resolve, pause));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

function isNoResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}

function isTimeout(err: unknown): boolean {
  return err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError);
}

/**
 * A command run here (`local`) whose partition was handed over meanwhile did nothing
 * (PartitionMovingError): it goes to the partition's next instance, as a forwarded one would.
 */
export function runOrForward(forwarder: Forwarder, partition: number | undefined, local: () => unknown, command: Command, caller: string, data: Uint8Array, args: unknown): unknown {
  const forward = (err: unknown): unknown => {
    if (!(err instanceof PartitionMovingError) || partition === undefined) throw err;
    return forwarder.forward(partition, command, caller, data, forwardTimeout(command, args)).then((m) => new Relayed(m));
  };
  try {
    const result = local();
    return result instanceof Promise ? result.catch(forward) : result;
  } catch (err) {
    return forward(err);
  }
}
