/**
 * The model twin of a wire path: the exported machines (a job alone, or a grouped
 * transaction of members) with their work played by {@link WorkBehaviour}s, sent what a
 * client would send over NATS. Each command gives a {@link WireStep}: the command, the reply
 * the service must give (QEMU's texts for refusals), and the events it must publish, in order,
 * once the work has made every report it owes (see {@link dueReport}).
 */
import { createActor } from 'xstate';
import { JobEventName, JobStatus, RefusalReason, statusOf, transactionMachine } from '../../machines/index.js';
import type { JobActorRef, JobEmitted, JobMachineEvent, JobInput, JobSnapshot, VerbEvent } from '../../machines/index.js';
import { modelState } from './job-model.js';
import { dueReport, wireJobMachine, workKey } from './work.js';
import type { WorkBehaviour } from './work.js';

/** Something a client sends: a start (one job alone, or a grouped transaction), or a verb to one of its jobs. */
export type WireCommand =
  | { type: 'start'; behaviours: WorkBehaviour[]; grouped: boolean; defaults: boolean }
  | { type: 'verb'; job: number; verb: VerbEvent };

/** An event as the service must publish it: the name and the fields that must match. */
export interface WireEvent {
  /** The job it is about (the subject's `<id>`). */
  id: string;
  event: JobEventName;
  data: Record<string, unknown>;
}

/** The reply a command must get. */
export type WireReply = { ok: true; return?: Record<string, unknown> } | { ok: false; code: number; message: string };

export interface WireStep {
  /** The command's name, as in its subject (`job-start`, `job-pause`…). */
  command: string;
  /** Its arguments, exactly as sent. */
  args: Record<string, unknown>;
  /** For a verb: the job it addresses and that job's status when it is sent. */
  job?: string;
  before?: JobStatus;
  reply: WireReply;
  /** The events the command leads to (its own and those of the work's reports after it), in order. */
  events: WireEvent[];
  /** Every job's status after the step. */
  statuses: Record<string, JobStatus>;
}

/** What the twin needs to know about the job type. */
export interface TwinSetup {
  type: string;
  params: (behaviour: WorkBehaviour) => Record<string, unknown>;
  /** What a failing work fails with ({@link ANY_ERROR}: any text). */
  error: string;
}

/** The `error` of an expected event that may be any text (the type's own failure message). */
export const ANY_ERROR = '<any error>';

/** The transaction machine whose members are {@link wireJobMachine}s (made once: a machine is costly to build). */
const wireTransactionMachine = transactionMachine.provide({ actors: { job: wireJobMachine } });

/** The owner the twin's jobs have; events are compared without it (the replay's user owns them). */
const OWNER = 'model';
const VERB_COMMANDS: Record<VerbEvent['type'], string> = {
  cancel: 'job-cancel',
  pause: 'job-pause',
  resume: 'job-resume',
  'set-speed': 'job-set-speed',
  complete: 'job-complete',
  finalize: 'job-finalize',
  dismiss: 'job-dismiss',
};

/** What of an emitted event is compared on the wire (not progress, speed or times, which vary). */
function wireEvent(e: JobEmitted): WireEvent | undefined {
  switch (e.type) {
    case JobEventName.statusChange:
      return { id: e.data.id, event: e.type, data: { id: e.data.id, status: e.data.status } };
    case JobEventName.ready:
    case JobEventName.pending:
    case JobEventName.cancelled:
      return { id: e.data.id, event: e.type, data: { id: e.data.id, type: e.data.type } };
    case JobEventName.completed: {
      const data: Record<string, unknown> = { id: e.data.id, type: e.data.type };
      if (e.data.error !== undefined) data.error = e.data.error;
      return { id: e.data.id, event: e.type, data };
    }
    case JobEventName.error:
      return { id: e.data.id, event: e.type, data: { id: e.data.id, operation: e.data.operation, action: e.data.action } };
    default:
      return undefined; // JOB_PROGRESS (rate-limited, timing-dependent) and verb.refused (a reply)
  }
}

export class Twin {
  readonly ids: readonly string[];
  readonly #jobs: JobActorRef[];
  readonly #behaviours: readonly WorkBehaviour[];
  readonly #root: { start(): unknown; stop(): unknown; send(e: { type: string }): void; getSnapshot(): { value: unknown } };
  readonly #events: WireEvent[] = [];
  #refusal: Extract<JobEmitted, { type: 'verb.refused' }> | undefined;

  /**
   * @param order which work reports first when several are due at once (a live service may
   *   take either: {@link generatePaths} keeps only paths where both give the same steps)
   */
  constructor(
    readonly start: Extract<WireCommand, { type: 'start' }>,
    readonly setup: TwinSetup,
    ids: readonly string[],
    readonly order: 'first' | 'last' = 'first',
  ) {
    this.ids = ids;
    this.#behaviours = start.behaviours;
    const inputs: JobInput[] = start.behaviours.map((b, i) => ({
      id: ids[i]!,
      owner: OWNER,
      type: setup.type,
      params: setup.params(b),
      ...(!start.defaults && { autoFinalize: false, autoDismiss: false }),
    }));
    if (start.grouped) {
      const txn = createActor(wireTransactionMachine, { input: { id: 'txn-model', jobs: inputs } });
      this.#root = txn;
      this.#jobs = txn.getSnapshot().context.members;
    } else {
      const job = createActor(wireJobMachine, { input: inputs[0]! });
      this.#root = job;
      this.#jobs = [job];
    }
    for (const job of this.#jobs) {
      job.on('*', (e: JobEmitted) => {
        if (e.type === 'verb.refused') this.#refusal = e;
        else {
          const w = wireEvent(e);
          if (w) this.#events.push(w);
        }
      });
    }
    this.#root.start();
  }

  /** The start command as sent, with its step. */
  begin(): WireStep {
    this.#events.length = 0;
    this.#root.send({ type: 'create' });
    this.#root.send({ type: 'start' });
    this.#settle();
    const action = (i: number) => ({
      type: this.setup.type,
      id: this.ids[i],
      params: this.setup.params(this.#behaviours[i]!),
      ...(!this.start.defaults && { 'auto-finalize': false, 'auto-dismiss': false }),
    });
    const step = this.start.grouped
      ? {
          command: 'transaction',
          args: { actions: this.ids.map((_, i) => action(i)), properties: { 'completion-mode': 'grouped' } },
          reply: { ok: true as const, return: { jobs: [...this.ids] } },
        }
      : { command: 'job-start', args: action(0), reply: { ok: true as const, return: { id: this.ids[0] } } };
    return { ...step, events: [...this.#events], statuses: this.statuses() };
  }

  /** A verb to job `index`, as sent, with its step. */
  verb(index: number, verb: VerbEvent): WireStep {
    const id = this.ids[index]!;
    const job = this.#jobs[index]!;
    const before = this.status(index);
    this.#events.length = 0;
    this.#refusal = undefined;
    const args: Record<string, unknown> = { id };
    if (verb.type === 'cancel' && verb.force !== undefined) args.force = verb.force;
    if (verb.type === 'set-speed') args.speed = verb.speed;
    let reply: WireReply;
    if (before === JobStatus.null) {
      reply = { ok: false, code: 404, message: 'Job not found' }; // a dismissed job is gone
    } else {
      job.send(verb as JobMachineEvent);
      const refusal = this.#refusal as Extract<JobEmitted, { type: 'verb.refused' }> | undefined;
      reply = refusal
        ? { ok: false, code: refusal.reason === RefusalReason.negativeSpeed ? 400 : 409, message: refusal.message }
        : { ok: true };
      this.#settle();
    }
    return { command: VERB_COMMANDS[verb.type], args, job: id, before, reply, events: [...this.#events], statuses: this.statuses() };
  }

  status(index: number): JobStatus {
    return statusOf(this.#jobs[index]!.getSnapshot() as JobSnapshot);
  }

  statuses(): Record<string, JobStatus> {
    return Object.fromEntries(this.ids.map((id, i) => [id, this.status(i)]));
  }

  /** The abstract state: what the future of the path depends on (not progress, speed, times). */
  key(): string {
    const jobs = this.#jobs.map((job, i) => {
      const snapshot = job.getSnapshot() as JobSnapshot;
      const status = statusOf(snapshot);
      if (status === JobStatus.null || status === JobStatus.concluded) return status;
      return `${this.#behaviours[i]} ${modelState(snapshot)} ${workKey(snapshot)}`;
    });
    return `${this.start.grouped ? `txn=${JSON.stringify(this.#root.getSnapshot().value)} ` : ''}${jobs.join(' | ')}`;
  }

  stop(): void {
    this.#root.stop();
  }

  /** Let the work make every report it owes, one at a time. */
  #settle(): void {
    for (let n = 0; n < 100; n++) {
      const due = this.#jobs
        .map((job, i) => ({ job, report: dueReport(job.getSnapshot() as JobSnapshot, this.#behaviours[i]!, this.setup.error) }))
        .filter((d) => d.report !== undefined);
      const next = this.order === 'first' ? due[0] : due[due.length - 1];
      if (!next) return;
      next.job.send(next.report as JobMachineEvent);
    }
    throw new Error('the work of the model never settles');
  }
}
