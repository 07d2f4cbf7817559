/**
 * One NATS micro-service endpoint per command. Each decodes the payload, validates it with
 * the command's zod schema, hands it to the job manager, and replies — nothing else.
 */
import type { Service, ServiceMsg } from '@nats-io/services';
import type { Logger } from 'pino';
import { JobVerb } from '../../machines/index.js';
import { BadInputError, ShuttingDownError, toErrorReply } from '../protocol/errors.js';
import { commandArgs } from '../protocol/schemas.js';
import { ACCOUNT_RE, COMMANDS, Command, subjects } from '../protocol/subjects.js';
import { decodePayload, validate } from '../protocol/validate.js';
import { VERB_DONE } from './jobs.js';
import type { JobManager } from './jobs.js';
import type { PipeHub } from '../pipes/hub.js';
import { checkPayload } from './limits.js';

type Args<C extends Command> = import('zod').infer<(typeof commandArgs)[C]>;
type Dispatch = { [C in Command]: (caller: string, args: Args<C>) => unknown };

export function dispatchTable(jobs: JobManager, pipes?: PipeHub): Dispatch {
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
    [Command.queryJobs]: (caller, args) => jobs.query(caller, args),
    [Command.jobWait]: (caller, args) => jobs.waitJob(caller, args),
    [Command.jobLog]: (caller, args) => jobs.log(caller, args),
    [Command.queryJobTypes]: () => jobs.jobTypes(),
  };
}

export interface EndpointsOptions {
  prefix: string;
  jobs: JobManager;
  logger: Logger;
  /** The largest payload taken, in bytes (JOBS_MAX_PAYLOAD). */
  maxPayload: number;
  /** The pipes, whose readiness job-start waits for. */
  pipes?: PipeHub;
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
  const dispatch = dispatchTable(opts.jobs, opts.pipes);
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
   * promise settles. A reply that cannot be sent (over max_payload, connection gone) is logged:
   * it must not become an uncaught error, which would take the whole service down.
   */
  function answer(command: Command, msg: ServiceMsg): void {
    const caller = subjects.callerOf(opts.prefix, msg.subject);
    let result: unknown;
    try {
      if (inFlight.closing) throw new ShuttingDownError();
      if (caller === undefined || !ACCOUNT_RE.test(caller)) throw new BadInputError('Invalid caller in the command subject');
      checkPayload(msg.data, opts.maxPayload);
      const args = validate(commandArgs[command], decodePayload(msg.data));
      result = (dispatch[command] as (caller: string, args: unknown) => unknown)(caller, args);
    } catch (err) {
      refuse(command, caller, msg, err);
      return;
    }
    if (!(result instanceof Promise)) {
      reply(command, msg, result);
      return;
    }
    inFlight.begin();
    result.then(
      (value) => reply(command, msg, value),
      (err) => refuse(command, caller, msg, err),
    ).finally(() => inFlight.end());
  }

  function reply(command: Command, msg: ServiceMsg, result: unknown): void {
    try {
      msg.respond(result === VERB_DONE ? VERB_REPLY : JSON.stringify({ return: result }));
    } catch (err) {
      opts.logger.error({ err, command }, 'reply failed');
    }
  }

  function refuse(command: Command, caller: string | undefined, msg: ServiceMsg, err: unknown): void {
    const { code, reply, unexpected } = toErrorReply(err);
    if (unexpected) opts.logger.error({ err, command, caller }, 'command failed');
    else opts.logger.debug({ command, caller, error: reply.error.desc }, 'command refused');
    try {
      msg.respondError(code, headerSafe(reply.error.desc), JSON.stringify(reply));
    } catch (sendErr) {
      opts.logger.error({ err: sendErr, command }, 'reply failed');
    }
    countError(service, command, reply.error.desc);
  }
}

/**
 * Count an error reply in the endpoint's `$SRV.STATS` (`num_errors`, `last_error`). nats.js
 * counts only handlers that throw synchronously; ours answer errors asynchronously, so the
 * count is made here, through the library's own (unexported) per-endpoint stats.
 */
function countError(service: Service, endpoint: string, desc: string): void {
  type Handler = { name?: string; stats?: { countError?: (err: Error) => void } };
  const handlers = (service as unknown as { handlers?: Handler[] }).handlers;
  handlers?.find((h) => h.name === endpoint)?.stats?.countError?.(new Error(desc));
}

/** A header value: one line, bounded. */
function headerSafe(text: string): string {
  const line = text.replace(/[\r\n\0]+/g, ' ');
  return line.length > 512 ? `${line.slice(0, 512)}…` : line;
}
