/**
 * One NATS micro-service endpoint per command. Each decodes the payload, validates it with
 * the command's zod schema, hands it to the job manager, and replies — nothing else.
 */
import type { Service, ServiceMsg } from '@nats-io/services';
import type { Logger } from 'pino';
import { JobVerb } from '../../machines/index.js';
import { BadInputError, ReplyTooLargeError, ShuttingDownError, toErrorReply } from '../protocol/errors.js';
import { commandArgs } from '../protocol/schemas.js';
import { ACCOUNT_RE, COMMANDS, Command, isInboxReply, subjects } from '../protocol/subjects.js';
import { DEFAULT_BOUNDS, decodePayload, validate } from '../protocol/validate.js';
import type { PayloadBounds } from '../protocol/validate.js';
import { VERB_DONE } from './jobs.js';
import type { JobManager } from './jobs.js';
import type { PipeHub } from '../pipes/hub.js';
import { checkPayload } from '../protocol/limits.js';
import { EncodedReturn, PAGING_HINT, queryReply } from './query.js';
import { downloadCommands } from './downloads.js';
import type { DownloadTokens } from '../persist/download-tokens.js';
import type { ServiceMetrics } from './metrics.js';
import { countEndpointError } from '../nats/service-stats.js';

type Args<C extends Command> = import('zod').infer<(typeof commandArgs)[C]>;
type Dispatch = { [C in Command]: (caller: string, args: Args<C>) => unknown };

/** nats-server's default max_payload, for a connection that has not said its own. */
const DEFAULT_MAX_REPLY = 1024 * 1024;

/** `maxReply`: the largest reply the connection may send, in bytes (its server's max_payload). */
export function dispatchTable(
  jobs: JobManager,
  pipes: PipeHub | undefined,
  downloads: DownloadTokens,
  maxReply: () => number = () => DEFAULT_MAX_REPLY,
): Dispatch {
  const download = downloadCommands(jobs, pipes, downloads);
  return {
    // A start is answered once the new jobs are saved (with a store), and their pipes are ready:
    // the reply promises jobs that survive a restart, and what the caller uploads next is kept.
    [Command.jobStart]: async (caller, args) => {
      const started = jobs.startJob(caller, args);
      await Promise.all([jobs.saved(caller, [started.id]), pipes?.ready(caller, started.id)]);
      return started;
    },
    [Command.transaction]: async (caller, args) => {
      const started = jobs.transaction(caller, args);
      await Promise.all([jobs.saved(caller, started.jobs), ...started.jobs.map((id) => pipes?.ready(caller, id))]);
      return started;
    },
    [Command.jobPause]: (caller, args) => jobs.verb(caller, JobVerb.pause, args),
    [Command.jobResume]: (caller, args) => jobs.verb(caller, JobVerb.resume, args),
    [Command.jobCancel]: (caller, args) => jobs.verb(caller, JobVerb.cancel, args),
    [Command.jobComplete]: (caller, args) => jobs.verb(caller, JobVerb.complete, args),
    [Command.jobFinalize]: (caller, args) => jobs.verb(caller, JobVerb.finalize, args),
    [Command.jobDismiss]: (caller, args) => jobs.verb(caller, JobVerb.dismiss, args),
    [Command.jobSetSpeed]: (caller, args) => jobs.verb(caller, JobVerb.setSpeed, args),
    [Command.queryJobs]: (caller, args) => queryReply(jobs.query(caller, args), args, maxReply()),
    [Command.jobWait]: (caller, args) => jobs.waitJob(caller, args),
    [Command.jobLog]: (caller, args) => jobs.log(caller, args),
    [Command.jobDownload]: (caller, args) => download.jobDownload(caller, args),
    [Command.jobDownloadLog]: (caller, args) => download.jobDownloadLog(caller, args),
    [Command.queryJobTypes]: () => jobs.jobTypes(),
  };
}

export interface EndpointsOptions {
  prefix: string;
  jobs: JobManager;
  logger: Logger;
  /** The largest payload taken, in bytes (JOBS_MAX_PAYLOAD). */
  maxPayload: number;
  /** How many keys and array elements a payload may hold. @defaultValue DEFAULT_BOUNDS */
  bounds?: PayloadBounds;
  /** The pipes, whose readiness job-start waits for. */
  pipes?: PipeHub;
  /** The largest reply the connection may send, in bytes: its server's max_payload. @defaultValue 1048576 */
  maxReply?: () => number;
  /** Where job-download's URLs are kept. */
  downloads: DownloadTokens;
  /** Counts commands by name and result, and their latency. */
  metrics?: ServiceMetrics;
}

/** Commands whose answer is awaited (not yet replied), so that shutdown can wait for them. */
export class InFlight {
  #count = 0;
  #idle: (() => void) | undefined;
  #closing = false;

  get closing(): boolean {
    return this.#closing;
  }

  begin(): void {
    this.#count++;
  }

  end(): void {
    if (--this.#count === 0 && this.#idle) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  /** Refuse new commands and wait for those in flight. */
  async drain(): Promise<void> {
    this.#closing = true;
    if (this.#count > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }
}

const ENC = new TextEncoder();
/** The reply of every applied verb, encoded once. */
const VERB_REPLY = ENC.encode(JSON.stringify({ return: VERB_DONE }));

export function addEndpoints(service: Service, opts: EndpointsOptions, inFlight: InFlight): void {
  const maxReply = opts.maxReply ?? (() => DEFAULT_MAX_REPLY);
  const dispatch = dispatchTable(opts.jobs, opts.pipes, opts.downloads, maxReply);
  for (const command of COMMANDS) {
    service.addEndpoint(command, {
      subject: subjects.commandFilter(opts.prefix, command),
      handler: (err, msg) => {
        if (err) {
          opts.logger.error({ err, command }, 'endpoint failed');
          return;
        }
        answer(command, msg);
      },
    });
  }

  /**
   * Reply at once when the command's result is there (a verb without a store), or when its
   * promise settles. Every command gets a reply: one that would exceed the connection's
   * max_payload becomes a 413 error reply (see {@link reply}). A reply that still cannot be
   * sent (connection gone) is logged: it must not become an uncaught error, which would take
   * the whole service down.
   */
  function answer(command: Command, msg: ServiceMsg): void {
    const started = performance.now();
    const caller = subjects.callerOf(opts.prefix, msg.subject);
    // Only into an inbox: a reply subject elsewhere (the job store, someone's events) would
    // make the service publish there for the caller. Such a command is not run at all.
    if (msg.reply && !isInboxReply(msg.reply)) {
      opts.logger.warn({ command, caller, reply: msg.reply.slice(0, 128) }, 'command ignored: its reply subject is not an inbox');
      return;
    }
    let result: unknown;
    try {
      if (inFlight.closing) throw new ShuttingDownError();
      if (caller === undefined || !ACCOUNT_RE.test(caller)) throw new BadInputError('Invalid caller in the command subject');
      checkPayload(msg.data, opts.maxPayload);
      const args = validate(commandArgs[command], decodePayload(msg.data, opts.bounds ?? DEFAULT_BOUNDS));
      result = (dispatch[command] as (caller: string, args: unknown) => unknown)(caller, args);
    } catch (err) {
      count(command, started, refuse(command, caller, msg, err));
      return;
    }
    if (!(result instanceof Promise)) {
      reply(command, msg, result);
      count(command, started, 'ok');
      return;
    }
    inFlight.begin();
    result.then(
      (value) => {
        reply(command, msg, value);
        count(command, started, 'ok');
      },
      (err) => count(command, started, refuse(command, caller, msg, err)),
    ).finally(() => inFlight.end());
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
   * which the broker would not carry.
   */
  function reply(command: Command, msg: ServiceMsg, result: unknown): void {
    const caller = subjects.callerOf(opts.prefix, msg.subject);
    let body: Uint8Array;
    try {
      body =
        result === VERB_DONE
          ? VERB_REPLY
          : ENC.encode(result instanceof EncodedReturn ? `{"return":${result.json}}` : JSON.stringify({ return: result }));
      const max = maxReply();
      if (body.length > max) throw new ReplyTooLargeError(command, body.length, max, tooLargeHint(command));
    } catch (err) {
      refuse(command, caller, msg, err);
      return;
    }
    try {
      msg.respond(body);
    } catch (err) {
      opts.logger.error({ err, command, caller }, 'reply failed');
    }
  }

  function refuse(command: Command, caller: string | undefined, msg: ServiceMsg, err: unknown): string {
    const { code, reply, unexpected } = toErrorReply(err);
    if (unexpected) opts.logger.error({ err, command, caller }, 'command failed');
    else opts.logger.debug({ command, caller, error: reply.error.desc }, 'command refused');
    try {
      msg.respondError(code, headerSafe(reply.error.desc), JSON.stringify(reply));
    } catch (sendErr) {
      opts.logger.error({ err: sendErr, command }, 'reply failed');
    }
    // nats.js counts only handlers that throw synchronously; ours answer errors asynchronously.
    countEndpointError(service, command, reply.error.desc);
    return String(code);
  }
}

/** How to ask for a smaller reply to `command`. */
function tooLargeHint(command: Command): string {
  if (command === Command.queryJobs) return PAGING_HINT;
  if (command === Command.jobLog) return "read the whole log through its pipe instead (job-download-log, the SDK's downloadLog, 'jobctl logs')";
  if (command === Command.jobWait) return "the job's JobInfo (its result or params) is too large for one reply";
  return 'ask for less in one command';
}

/** A header value: one line, bounded. */
function headerSafe(text: string): string {
  const line = text.replace(/[\r\n\0]+/g, ' ');
  return line.length > 512 ? `${line.slice(0, 512)}…` : line;
}
