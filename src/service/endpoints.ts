/**
 * One NATS micro-service endpoint per command. Each decodes the payload, validates it with
 * the command's zod schema, and hands it to the job manager — or, when another instance
 * serves the owner's partition, forwards it there and relays the reply (forward.ts) — then
 * replies. The instance serving a partition answers the commands forwarded to it the same way.
 */
import { headers } from '@nats-io/transport-node';
import type { Msg, PublishOptions } from '@nats-io/transport-node';
import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import type { Service } from '@nats-io/services';
import { BadInputError, PartitionMovingError, ReplyTooLargeError, ShuttingDownError, toErrorReply } from '../protocol/errors.js';
import { commandArgs } from '../protocol/schemas.js';
import type { JobWaitArgs, QueryJobsArgs } from '../protocol/schemas.js';
import { ACCOUNT_RE, CALLER_HEADER, COMMANDS, Command, INSTANCE_HEADER, NOT_SERVED_HEADER, REPLY_TO_HEADER, isInboxReply, subjects } from '../protocol/subjects.js';
import { DEFAULT_BOUNDS, decodePayload, validate } from '../protocol/validate.js';
import { VERB_DONE } from './jobs.js';
import { checkPayload } from '../protocol/limits.js';
import { EncodedReturn, queryReply } from './query.js';
import { DEFAULT_MAX_REPLY, dispatchTable, tooLargeHint } from './dispatch.js';
import { countEndpointError, countEndpointRequest } from '../nats/service-stats.js';
import { Forwarder, Relayed, commandOwner, forwardTimeout, routeOf, runOrForward } from './forward.js';
import { ForwardServing } from './forward-serving.js';
import { gatherQuery, serveGather } from './gather.js';
import type { InFlight } from './in-flight.js';
import type { Endpoints, EndpointsOptions } from './endpoints-options.js';
import { HANDED_OVER, WaitHandover } from './wait-handover.js';
import type { Answerable } from './wait-handover.js';

export type { Endpoints, EndpointsOptions, RoutingOptions } from './endpoints-options.js';

/** How long a stopping instance, with others on the prefix, still answers forwarded commands after letting its partitions go. */
const STOP_LISTENING_AFTER_MS = 1000;

const ENC = new TextEncoder();
const EMPTY = new Uint8Array(0);
/** The reply of every applied verb, encoded once. */
const VERB_REPLY = ENC.encode(JSON.stringify({ return: VERB_DONE }));


export function addEndpoints(service: Service, opts: EndpointsOptions, inFlight: InFlight): Endpoints {
  const { prefix, routing } = opts;
  const maxReply = opts.maxReply ?? (() => DEFAULT_MAX_REPLY);
  const dispatch = dispatchTable(opts.jobs, opts.pipes, opts.downloads, maxReply);
  const run = (command: Command, caller: string, args: unknown) => (dispatch[command] as (caller: string, args: unknown) => unknown)(caller, args);
  const forwarder =
    routing &&
    new Forwarder({ nc: routing.nc, prefix, logger: opts.logger, holderOf: (p) => routing.ownership.holderOf(p), ...(routing.waitMs !== undefined && { waitMs: routing.waitMs }) });
  for (const command of COMMANDS) {
    service.addEndpoint(command, {
      subject: subjects.commandFilter(prefix, command),
      handler: (err, msg) => {
        if (err) {
          opts.logger.error({ err, command }, 'endpoint failed');
          return;
        }
        answer(command, msg);
      },
    });
  }
  // Commands sent straight here by clients this instance told it serves them (`Jobs-Instance`):
  // answered as any, forwarded if their partition has moved since. Once the service stops taking
  // commands they are answered "not served" (nothing done: the client sends it on the public
  // subject), until the end: a subscription gone sooner would leave a request already on its way
  // over a route unanswered.
  const instance = routing?.instance;
  let directStopped = false;
  const direct =
    instance &&
    routing.nc.subscribe(subjects.commandToFilter(prefix, instance), {
      callback: (err, msg) => {
        const command = subjects.commandOfDirect(prefix, msg.subject);
        if (err) opts.logger.error({ err }, 'direct commands: subscription failed');
        else if (command && directStopped) notServed(command, msg);
        else if (command) {
          // In $SRV.STATS as if taken on the endpoint's own subject.
          const start = Date.now();
          answer(command, msg);
          countEndpointRequest(service, command, start);
        }
      },
    });
  const instanceHeaders = headers();
  if (instance) instanceHeaders.set(INSTANCE_HEADER, instance);
  /** This instance serves `caller`'s own jobs, and others share the prefix: its replies say so (`Jobs-Instance`). */
  const tellsInstance = (caller: string | undefined): boolean =>
    routing !== undefined &&
    instance !== undefined &&
    caller !== undefined &&
    (routing.others?.() ?? 0) > 0 &&
    !routing.admins.has(caller) &&
    ACCOUNT_RE.test(caller) &&
    routing.ownership.serves(routing.ownership.partitionOf(caller));
  const serving = routing && new ForwardServing(routing.nc, prefix, routing.ownership, answerForwarded, opts.logger);
  if (routing) {
    const gather = serveGather(routing.nc, prefix, opts.jobs, routing.ownership, opts.logger, maxReply);
    // Draining: queries go to the others (those delivered here are answered first). Forwarded
    // commands are answered "not served" from now on, until the end (close below).
    inFlight.onClose(() => void gather.drain().catch((err: unknown) => opts.logger.warn({ err }, 'gathered queries: draining failed')));
  }
  // With other instances, a stopping one hands its clients' waits over (wait-handover.ts).
  const handover =
    forwarder &&
    new WaitHandover(forwarder, (msg, caller, result) => (result instanceof Relayed ? reply(Command.jobWait, caller, msg, result, true) : refuse(Command.jobWait, caller, msg, result, true)), opts.logger);
  return {
    stopDirect: () => {
      directStopped = true;
      return Promise.resolve();
    },
    handOverWaits: () => handover?.run() ?? Promise.resolve(),
    close: async () => {
      // The others' lease watches may still show this instance holding what it let go: it answers
      // them "not served" a while longer, so that nothing they send it is dropped by the drain.
      if (routing?.others && routing.others() > 0) await new Promise((resolve) => setTimeout(resolve, STOP_LISTENING_AFTER_MS));
      await Promise.all([serving?.close(), direct && !direct.isClosed() ? direct.drain() : undefined]);
    },
  };

  /** A command sent straight here after this instance stopped taking commands: "not served", nothing done. */
  function notServed(command: Command, msg: Msg): void {
    const caller = subjects.callerOf(prefix, msg.subject);
    if (!msg.reply || !isInboxReply(msg.reply)) return;
    const partition = caller !== undefined && ACCOUNT_RE.test(caller) ? routing!.ownership.partitionOf(caller) : -1;
    refuse(command, caller, msg, new PartitionMovingError(partition), false, partition);
  }

  /**
   * Reply at once when the command's result is there (a verb without a store), or when its
   * promise settles. Every command gets a reply: one that would exceed the connection's
   * max_payload becomes a 413 error reply (see {@link reply}). A reply that still cannot be
   * sent (connection gone) is logged: it must not become an uncaught error, which would take
   * the whole service down. These checks run here, on the instance the client reached.
   */
  function answer(command: Command, msg: Answerable): void {
    const started = performance.now();
    const caller = subjects.callerOf(prefix, msg.subject);
    // Only into an inbox: a reply subject elsewhere (the job store, someone's events) would
    // make the service publish there for the caller. Such a command is not run at all.
    if (msg.reply && !isInboxReply(msg.reply)) {
      opts.logger.warn({ command, caller, reply: msg.reply.slice(0, 128) }, 'command ignored: its reply subject is not an inbox');
      return;
    }
    const done = (result: string) => count(command, started, result);
    let result: unknown;
    try {
      if (inFlight.closing) throw new ShuttingDownError();
      if (caller === undefined || !ACCOUNT_RE.test(caller)) throw new BadInputError('Invalid caller in the command subject');
      checkPayload(msg.data, opts.maxPayload);
      const args = validate(commandArgs[command], decodePayload(msg.data, opts.bounds ?? DEFAULT_BOUNDS));
      result = routed(command, caller, args, msg.data);
      // A client's wait that this instance, stopping, would answer 503 goes to the partition's next instance.
      if (handover && command === Command.jobWait && result instanceof Promise && msg.reply && routing!.others) {
        const wait = args as JobWaitArgs;
        const partition = routing!.ownership.partitionOf(wait.owner ?? caller);
        const others = routing!.others;
        result = result.catch((err: unknown) => (err instanceof ShuttingDownError && others() > 0 ? handover.keep(msg, caller, partition, wait, started) : Promise.reject(err)));
      }
    } catch (err) {
      done(refuse(command, caller, msg, err, true));
      return;
    }
    settle(command, caller, msg, result, true, done);
  }

  /** The command's result: here, gathered from every instance, or relayed from the instance serving its partition. */
  function routed(command: Command, caller: string, args: unknown, data: Uint8Array): unknown {
    if (!routing || !forwarder) return run(command, caller, args);
    const route = routeOf(command, caller, args, routing.admins, routing.ownership);
    if (route.kind === 'local') return runOrForward(forwarder, route.partition, () => run(command, caller, args), command, caller, data, args);
    if (route.kind === 'gather') {
      const q = args as QueryJobsArgs;
      return gatherQuery(routing.nc, prefix, routing.ownership.partitions, caller, q, maxReply(), undefined, routing.waitMs).then((listing) => queryReply(listing, q, maxReply()));
    }
    const forwarded = forwarder.forward(route.partition, command, caller, data, { attemptMs: forwardTimeout(command, args) }).then((m) => new Relayed(m));
    if (command !== Command.jobWait) return forwarded;
    // A forwarded wait may be long: a service going away answers it, as it does its own waits.
    return new Promise((resolve, reject) => {
      const off = inFlight.onClose(() => reject(new ShuttingDownError()));
      forwarded.then(resolve, reject).finally(off);
    });
  }

  /**
   * A command forwarded to this instance, which serves `partition`: its caller is the
   * `Jobs-Caller` header (trusted here only: the internal subjects are the service's own).
   * Not served (any more), or draining: answered so, nothing done, and the forwarding
   * instance tries again. Handed over (`Jobs-Reply-To`, from a stopping instance): taken in,
   * acknowledged with an empty reply, and answered to the client's reply subject.
   */
  function answerForwarded(msg: Msg, partition: number, command: Command): void {
    const caller = msg.headers?.get(CALLER_HEADER);
    if (!msg.reply) return;
    let result: unknown;
    let target: Answerable = msg;
    try {
      if (inFlight.closing || !routing!.ownership.serves(partition)) {
        refuse(command, caller, msg, new PartitionMovingError(partition), false, partition);
        return;
      }
      if (!caller || !ACCOUNT_RE.test(caller)) throw new BadInputError(`Invalid caller in the forwarded command: '${caller?.slice(0, 64) ?? ''}'`);
      checkPayload(msg.data, opts.maxPayload);
      const args = validate(commandArgs[command], decodePayload(msg.data, opts.bounds ?? DEFAULT_BOUNDS));
      const owner = commandOwner(command, caller, args, routing!.admins);
      const ownerPartition = owner === undefined ? undefined : routing!.ownership.partitionOf(owner);
      if (ownerPartition !== partition) {
        throw new BadInputError(`Command ${command} forwarded to partition ${partition}, but its owner '${owner ?? ''}' is in ${ownerPartition ?? 'none'}`);
      }
      result = run(command, caller, args);
      const replyTo = msg.headers?.get(REPLY_TO_HEADER);
      if (replyTo) target = handedTo(msg, replyTo);
    } catch (err) {
      refuse(command, caller, msg, err, false);
      return;
    }
    settle(command, caller, target, result, false, () => undefined);
  }

  /** A handed-over command, acknowledged: its answer goes to the client's `replyTo`. */
  function handedTo(msg: Msg, replyTo: string): Answerable {
    msg.respond(EMPTY);
    return { subject: msg.subject, reply: replyTo, data: msg.data, respond: (data, o) => (routing!.nc.publish(replyTo, data, o), true) };
  }

  /** Reply with `result` now, or once it settles (counted in flight meanwhile); `done` gets the result's code. */
  function settle(command: Command, caller: string, msg: Answerable, result: unknown, counted: boolean, done: (result: string) => void): void {
    if (!(result instanceof Promise)) {
      done(reply(command, caller, msg, result, counted));
      return;
    }
    inFlight.begin();
    result
      .then(
        (value) => done(reply(command, caller, msg, value, counted)),
        (err) => done(refuse(command, caller, msg, err, counted)),
      )
      .finally(() => inFlight.end());
  }

  /** The command's result (`ok` or its error code) and latency, for /metrics. */
  function count(command: Command, started: number, result: string): void {
    if (!opts.metrics) return;
    opts.metrics.commands.inc({ command, result });
    opts.metrics.commandSeconds.observe({ command }, (performance.now() - started) / 1000);
  }

  /**
   * The one place every success reply goes through: encoded once, and refused with a 413
   * error reply (how to ask for less) instead of being sent if it is over max_payload,
   * which the broker would not carry. A relayed reply goes as it came. `counted`: a client's
   * command (counted in $SRV.STATS), not a forwarded one. Returns `ok` or the error code sent.
   */
  function reply(command: Command, caller: string, msg: Answerable, result: unknown, counted: boolean): string {
    if (result === HANDED_OVER) return 'ok';
    let body: Uint8Array;
    let sent: PublishOptions | undefined;
    try {
      if (result instanceof Relayed) {
        body = result.msg.data;
        if (result.msg.headers) sent = { headers: result.msg.headers };
      } else {
        body =
          result === VERB_DONE
            ? VERB_REPLY
            : ENC.encode(result instanceof EncodedReturn ? `{"return":${result.json}}` : JSON.stringify({ return: result }));
        if (tellsInstance(caller)) sent = { headers: instanceHeaders };
      }
      const max = maxReply();
      if (body.length > max) throw new ReplyTooLargeError(command, body.length, max, tooLargeHint(command));
    } catch (err) {
      return refuse(command, caller, msg, err, counted);
    }
    try {
      msg.respond(body, sent);
    } catch (err) {
      opts.logger.error({ err, command, caller }, 'reply failed');
    }
    const code = sent?.headers?.get(ServiceErrorCodeHeader);
    if (!code) return 'ok';
    if (counted) countEndpointError(service, command, sent?.headers?.get(ServiceErrorHeader) ?? '');
    return code;
  }

  /** An error reply; `notServed`: the partition this instance does not serve (the forwarding instance tries again). */
  function refuse(command: Command, caller: string | undefined, msg: Answerable, err: unknown, counted: boolean, notServed?: number): string {
    const { code, reply, unexpected } = toErrorReply(err);
    if (unexpected) opts.logger.error({ err, command, caller }, 'command failed');
    else opts.logger.debug({ command, caller, error: reply.error.desc }, 'command refused');
    // As ServiceMsg.respondError writes them.
    const h = headers();
    h.set(ServiceErrorCodeHeader, String(code));
    h.set(ServiceErrorHeader, headerSafe(reply.error.desc));
    // A forwarded command its partition's hand-over (or this instance's stop) stopped did nothing: the forwarder tries again.
    const moved = notServed ?? (counted ? undefined : err instanceof PartitionMovingError ? err.partition : err instanceof ShuttingDownError ? -1 : undefined);
    if (moved !== undefined) h.set(NOT_SERVED_HEADER, String(moved));
    else if (tellsInstance(caller)) h.set(INSTANCE_HEADER, instance!);
    try {
      msg.respond(JSON.stringify(reply), { headers: h });
    } catch (sendErr) {
      opts.logger.error({ err: sendErr, command }, 'reply failed');
    }
    // nats.js counts only handlers that throw synchronously; ours answer errors asynchronously.
    if (counted) countEndpointError(service, command, reply.error.desc);
    return String(code);
  }
}

/** A header value: one line, bounded. */
function headerSafe(text: string): string {
  const line = text.replace(/[\r\n\0]+/g, ' ');
  return line.length > 512 ? `${line.slice(0, 512)}…` : line;
}
