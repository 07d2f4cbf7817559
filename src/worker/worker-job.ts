/**
 * One job on a worker. Its handler runs in the runtime's {@link WorkControl}, exactly as in
 * the service; the statechart's commands come from the service's messages, and the reports
 * and log lines go back to it. Progress arrives already coalesced by the WorkControl (at most
 * one report per 50 ms, the last one before any later report).
 */
import type { Logger } from 'pino';
import { OnError } from '../../machines/index.js';
import type { WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import type { JobType } from '../runtime/handler.js';
import { JobLogBuffer, secretValues } from '../runtime/job-log.js';
import { finalizeContext, runHook } from '../runtime/run.js';
import type { Run } from '../runtime/run.js';
import { WorkControl } from '../runtime/work-control.js';
import type { WorkPlace } from '../runtime/work-control.js';
import { errorText } from '../protocol/worker.js';
import type { Report, RunRequest } from '../protocol/worker.js';

/** How long an abandoned job's handler has to end after its cancel, before abort and clean run anyway. */
export const ABANDON_WAIT_MS = 5000;

type Level = 'info' | 'warn' | 'error';

/** A job's log that also sends every line to the service, which keeps the job's log. */
class ForwardedLog extends JobLogBuffer {
  constructor(
    secrets: readonly string[],
    logger: Logger,
    private readonly forward: (level: Level, message: string, fields?: Record<string, unknown>) => void,
  ) {
    super(secrets, logger);
  }
  override info(message: string, fields?: Record<string, unknown>): void {
    super.info(message, fields);
    this.forward('info', message, fields);
  }
  override warn(message: string, fields?: Record<string, unknown>): void {
    super.warn(message, fields);
    this.forward('warn', message, fields);
  }
  override error(message: string, fields?: Record<string, unknown>): void {
    super.error(message, fields);
    this.forward('error', message, fields);
  }
}

export class WorkerJob {
  readonly run: Run;
  readonly #control: WorkControl;
  readonly #send: (svc: string, data: string) => void;
  /** The service instance the job's reports go to, and whose commands it takes. */
  #svc: string;
  #settled = false;
  #running: Promise<void> | undefined;
  /** What a restarted service needs to rebuild the work's state (see {@link state}). */
  readonly #last: {
    progress?: Report;
    description?: Report;
    ready?: Report;
    /** The I/O error the work is stopped on (on-error `stop`), until the service pauses or resumes it. */
    errorStop?: Report;
    outcome?: Report;
  } = {};

  /** `send` publishes one serialized {@link Report} to service instance `svc`. */
  constructor(request: RunRequest, type: JobType<unknown>, params: Record<string, unknown>, place: WorkPlace, send: (svc: string, data: string) => void, logger: Logger) {
    this.#send = send;
    this.#svc = request.svc;
    const { id, owner } = request;
    const log = new ForwardedLog(secretValues(params, type.secrets), logger.child({ job: id, owner, svc: request.svc }), (level, message, fields) =>
      this.#publish({ type: 'log', level, message, ...(fields !== undefined && { fields }) }),
    );
    this.run = { id, owner, type, params, onError: request['on-error'], scratch: {}, log, softCancelled: false };
    const input: WorkInput = { id, owner, type: type.type, params, speed: request.speed, onError: request['on-error'], paused: request.paused };
    this.#control = new WorkControl(input, this.run, place, (event) => this.#report(event));
  }

  /** The service instance the job belongs to now. */
  get svc(): string {
    return this.#svc;
  }

  /** Another instance of the service took the job over (it re-attached it): reports go to `svc` from now on. */
  handOver(svc: string): void {
    this.#svc = svc;
  }

  /** The work has reported its outcome. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Run the handler; resolves once it has reported its outcome. */
  start(): Promise<void> {
    this.#running ??= this.#control.run();
    return this.#running;
  }

  command(command: WorkCommand): void {
    // The service's pause after an error-stop says it has the error (it paused the job for
    // it); a resume ends the stop.
    if (command.type === 'pause' || command.type === 'resume') delete this.#last.errorStop;
    this.#control.command(command);
  }

  /**
   * The work's state as the reports that rebuild it, oldest first: the last progress and
   * description, `work.ready` once reported, the `work.error` the work is stopped on, and the
   * outcome. A service that restarted gets them in the reply to `attach`: the reports it sent
   * while nobody listened are lost, but not what they said.
   */
  state(): Report[] {
    const { progress, description, ready, errorStop, outcome } = this.#last;
    // Once the work ended, the error it was stopped on is over.
    return [progress, description, ready, outcome ?? errorStop].filter((r): r is Report => r !== undefined);
  }

  async prepare(): Promise<void> {
    await this.run.type.hooks?.prepare?.(finalizeContext(this.run));
  }

  /** commit, abort or clean: synchronous and must not fail; a failure goes to the job's log. */
  hook(name: 'commit' | 'abort' | 'clean'): void {
    runHook(this.run, name);
  }

  /** Stop the work; nothing more is reported. */
  stop(): void {
    this.#control.stop();
  }

  /** End the work with `error` unless it already ended (the worker or the service goes away), then stop. */
  fail(error: string): void {
    if (!this.#settled) this.#report({ type: 'work.failed', error });
    this.stop();
  }

  /**
   * Nobody will finalize this job (the worker or its service goes away): fail it, let the
   * handler end (at most {@link ABANDON_WAIT_MS}), then undo with abort and clean, as an
   * aborted job is undone.
   */
  async abandon(error: string): Promise<void> {
    this.fail(error);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise((resolve) => (timer = setTimeout(resolve, ABANDON_WAIT_MS)))]);
    clearTimeout(timer);
    this.hook('abort');
    this.hook('clean');
  }

  #report(event: WorkReport): void {
    if (this.#settled) return;
    if (event.type === 'work.done' || event.type === 'work.failed') this.#settled = true;
    this.#remember(this.#publish(event));
    // on-error 'stop': the statechart pauses the job as a user pause and tells us a round trip
    // later; in-process that pause is in effect before ioError() reaches its pause point.
    if (event.type === 'work.error' && event.action === OnError.stop) this.#control.command({ type: 'pause' });
  }

  #remember(event: Report): void {
    switch (event.type) {
      case 'work.progress':
        this.#last.progress = event;
        return;
      case 'work.description':
        this.#last.description = event;
        return;
      case 'work.ready':
        this.#last.ready = event;
        return;
      case 'work.error':
        if (event.action === OnError.stop) this.#last.errorStop = event;
        return;
      case 'work.done':
      case 'work.failed':
        this.#last.outcome = event;
        return;
    }
  }

  /** Send a report; returns it as it was sent (a result that is not JSON is sent as the failure it becomes). */
  #publish(report: Report): Report {
    let sent = report;
    let data: string;
    try {
      data = JSON.stringify(report);
    } catch (err) {
      if (report.type === 'log') {
        const { fields: _unserializable, ...line } = report;
        sent = line;
      }
      else if (report.type === 'work.done') sent = { type: 'work.failed', error: `The job's result is not JSON: ${errorText(err)}` };
      else throw err;
      data = JSON.stringify(sent);
    }
    this.#send(this.#svc, data);
    return sent;
  }
}
