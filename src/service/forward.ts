/**
 * Any instance answers any command: where a command goes (its owner's partition, here or on
 * another instance), and forwarding it to the instance holding that partition's lease over
 * `<prefix>.int.i.<instance>.<n>.<command>`, waiting (bounded) while the partition changes hands.
 */
import { RequestError, TimeoutError, headers } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import { ForwardUnansweredError, PartitionMovingError } from '../protocol/errors.js';
import { CALLER_HEADER, Command, NOT_SERVED_HEADER, REPLY_TO_HEADER, subjects } from '../protocol/subjects.js';

/** How long a command waits for its partition to be served somewhere, ms. */
export const FORWARD_WAIT_MS = 15_000;
/** The first pause between tries, doubled each time up to {@link MAX_BACKOFF_MS}. */
const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 250;
/** job-wait without `timeout-ms` waits at most this long when forwarded (plus {@link WAIT_MARGIN_MS}). */
const FORWARDED_WAIT_MS = 60 * 60 * 1000;
const WAIT_MARGIN_MS = 5000;
/** A try that reached an instance may take this long at least (a save waits up to 5 s): a late try is not cut short. */
const MIN_TRY_MS = 5000;
/** Commands that change nothing: asked again when an instance went away with them. */
const READS: ReadonlySet<Command> = new Set([Command.queryJobs, Command.jobLog, Command.queryJobTypes, Command.jobWait]);
/** How long one try of a read (or of a hand-over) may take before it is asked again, ms. */
const READ_TRY_MS = 5000;
/** How often a long try (a forwarded job-wait) looks whether its instance still holds the partition, ms. */
const HOLDER_CHECK_MS = 500;
/** A long try given up because another instance took its partition over: asked again there. */
const MOVED = Symbol('moved');

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
  /** The instance holding a partition's lease, as last seen (undefined: none, it is moving). */
  holderOf: (partition: number) => string | undefined;
  logger: Logger;
  /** How long a command waits for its partition to be served somewhere, ms. @defaultValue FORWARD_WAIT_MS */
  waitMs?: number;
}

/** How one forwarded command is sent. */
export interface ForwardOptions {
  /** How long one try may take, ms (a job-wait's own timeout); by default what is left of the wait. */
  attemptMs?: number;
  /** The client's reply subject: the serving instance acknowledges at once and answers the client there (a hand-over). */
  replyTo?: string;
}

/** A long try in flight at `holder`, and what to do when the leases show another holder. */
interface Watched {
  partition: number;
  holder: string;
  moved: () => void;
}

export class Forwarder {
  readonly #opts: ForwarderOptions;
  readonly #waitMs: number;
  /** Long tries in flight, looked at every {@link HOLDER_CHECK_MS} by one timer. */
  readonly #watched = new Set<Watched>();
  #ticker: NodeJS.Timeout | undefined;

  constructor(opts: ForwarderOptions) {
    this.#opts = opts;
    this.#waitMs = opts.waitMs ?? FORWARD_WAIT_MS;
  }

  /**
   * The reply of the instance serving `partition` to `command` (data as the client sent it),
   * as it is: to be relayed unchanged. While no instance serves the partition (no responders,
   * or the instance reached no longer serves it: nothing was done), tries again with backoff;
   * after the wait, a 503 (PartitionMovingError: nothing was done). When a try of a change
   * times out (the instance went away with the command, which may have been done), a 503 that
   * says so (ForwardUnansweredError). A read (job-wait too) is asked again. A long try (a
   * job-wait) whose instance loses the partition meanwhile (it died: another took it over) is
   * asked again at the new holder, with what is left of its `timeout-ms`.
   */
  async forward(partition: number, command: Command, caller: string, data: Uint8Array, opts: ForwardOptions = {}): Promise<Msg> {
    const { nc, prefix, logger, holderOf } = this.#opts;
    const began = performance.now();
    const asked = { data, opts };
    let deadline = began + this.#waitMs;
    let backoff = FIRST_BACKOFF_MS;
    let seen: string | undefined;
    for (let tries = 1; ; tries++) {
      const holder = holderOf(partition);
      // A new holder is likely restoring the partition: ask it again soon, not at the longest pause.
      if (holder !== seen) [seen, backoff] = [holder, FIRST_BACKOFF_MS];
      if (holder !== undefined) {
        const reply = await this.#try(holder, partition, command, caller, data, opts, deadline, tries);
        if (reply === MOVED) {
          // A new holder now: its own bounded wait, and the job-wait's time left.
          deadline = performance.now() + this.#waitMs;
          ({ data, opts } = shortened(asked.data, asked.opts, performance.now() - began));
          continue;
        }
        if (reply) return reply;
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        logger.warn({ partition, command, caller, tries, waitMs: this.#waitMs }, 'forwarded command: no instance serves its partition');
        throw new PartitionMovingError(partition);
      }
      // The last try is at the deadline.
      const pause = Math.min(backoff, remaining);
      logger.debug({ partition, command, caller, tries, pause, holder }, 'forwarded command: partition not served; trying again');
      await new Promise((resolve) => setTimeout(resolve, pause));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /**
   * One try at the holder's subject: its reply, undefined when it does not serve the partition
   * (nothing done), or MOVED when a long try's partition went to another holder meanwhile.
   */
  async #try(holder: string, partition: number, command: Command, caller: string, data: Uint8Array, opts: ForwardOptions, deadline: number, tries: number): Promise<Msg | undefined | typeof MOVED> {
    const { nc, logger, prefix } = this.#opts;
    const subject = subjects.forward(prefix, holder, partition, command);
    for (;;) {
      const h = headers();
      h.set(CALLER_HEADER, caller);
      if (opts.replyTo !== undefined) h.set(REPLY_TO_HEADER, opts.replyTo);
      const read = Math.min(READ_TRY_MS, Math.max(0, deadline - performance.now()) + 1);
      const left = opts.replyTo !== undefined ? read : (opts.attemptMs ?? (READS.has(command) ? read : Math.max(MIN_TRY_MS, deadline - performance.now())));
      try {
        const asked = nc.request(subject, data, { timeout: left, headers: h });
        const reply = left > READ_TRY_MS ? await this.#whileHeld(asked, partition, holder) : await asked;
        if (reply === MOVED) return MOVED;
        return reply.headers?.get(NOT_SERVED_HEADER) ? undefined : reply;
      } catch (err) {
        // A read that found its instance gone asks again; a change may have been done: 503.
        if (isTimeout(err) && (READS.has(command) || opts.replyTo !== undefined) && deadline - performance.now() > 0) continue;
        if (isTimeout(err)) {
          logger.warn({ partition, command, caller, tries, subject }, 'forwarded command: no answer in time; the instance serving its partition may have gone');
          // A read (or a hand-over) did nothing; a change may have been done.
          throw READS.has(command) || opts.replyTo !== undefined ? new PartitionMovingError(partition) : new ForwardUnansweredError(partition);
        }
        if (isNoResponders(err)) return undefined; // that instance is gone
        throw err;
      }
    }
  }

  /** `asked`, or MOVED as soon as the leases show another holder of `partition` (the request is left to run out). */
  #whileHeld(asked: Promise<Msg>, partition: number, holder: string): Promise<Msg | typeof MOVED> {
    return new Promise((resolve, reject) => {
      const watched: Watched = {
        partition,
        holder,
        moved: () => {
          this.#opts.logger.info({ partition, holder, now: this.#opts.holderOf(partition) }, 'forwarded job-wait: its partition has a new holder; asking it there');
          resolve(MOVED);
        },
      };
      this.#watched.add(watched);
      this.#ticker ??= setInterval(() => this.#checkHolders(), HOLDER_CHECK_MS).unref();
      asked.then(resolve, reject).finally(() => this.#unwatch(watched));
    });
  }

  #checkHolders(): void {
    for (const w of this.#watched) {
      const now = this.#opts.holderOf(w.partition);
      if (now === undefined || now === w.holder) continue;
      this.#unwatch(w);
      w.moved();
    }
  }

  #unwatch(w: Watched): void {
    this.#watched.delete(w);
    if (this.#watched.size > 0) return;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

/** A job-wait's arguments `elapsedMs` after it arrived: its `timeout-ms`, if it has one, less what has passed. */
export function withTimeLeft<A extends { 'timeout-ms'?: number }>(args: A, elapsedMs: number): A {
  const timeout = args['timeout-ms'];
  return typeof timeout === 'number' ? { ...args, 'timeout-ms': Math.max(0, Math.round(timeout - elapsedMs)) } : args;
}

/** A job-wait, as the client sent it, asked again `elapsedMs` after it arrived: with the time it has left. */
function shortened(data: Uint8Array, opts: ForwardOptions, elapsedMs: number): { data: Uint8Array; opts: ForwardOptions } {
  const attemptMs = opts.attemptMs === undefined ? undefined : Math.max(1, opts.attemptMs - elapsedMs);
  let args: { 'timeout-ms'?: number };
  try {
    args = JSON.parse(new TextDecoder().decode(data)) as { 'timeout-ms'?: number };
  } catch {
    return { data, opts: { ...opts, attemptMs } }; // checked where it was taken: not reached
  }
  const left = withTimeLeft(args, elapsedMs);
  return { data: left === args ? data : new TextEncoder().encode(JSON.stringify(left)), opts: { ...opts, attemptMs } };
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
    return forwarder.forward(partition, command, caller, data, { attemptMs: forwardTimeout(command, args) }).then((m) => new Relayed(m));
  };
  try {
    const result = local();
    return result instanceof Promise ? result.catch(forward) : result;
  } catch (err) {
    return forward(err);
  }
}
