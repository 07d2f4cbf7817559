/**
 * The job statechart: QEMU's job model (`job.c`, `job-qmp.c`), one state node per JobStatus.
 *
 * The machine does no I/O. Its effects are named and provided by `src/` with
 * `jobMachine.provide()`:
 * - actor `work`: the job's work. It receives {@link WorkCommand}s (pause, resume, cancel,
 *   complete, set-speed) and reports back with `work.*` events ({@link WorkReport}).
 * - actor `prepare`: the fallible first half of finalize (QEMU's `.prepare`).
 * - actions `commit`, `abort`, `clean`: the second half of finalize (QEMU's callbacks).
 *
 * A job lives inside a transaction (see `transaction.ts`): it tells its parent when it is
 * waiting, aborting, stopped, prepared or dismissed (`member.*`), and the parent drives it
 * with `txn.*` events. A job actor without a parent (as in machine tests) sends those
 * notifications to itself, where they are ignored; the tests play the transaction's part.
 *
 * Everything the wire needs is emitted: every status change in order, JOB_READY,
 * JOB_PENDING, JOB_COMPLETED / JOB_CANCELLED, JOB_ERROR, JOB_PROGRESS, and `verb.refused`
 * with QEMU's text whenever a verb is refused.
 */
import { assign, emit, enqueueActions, fromCallback, fromPromise, sendTo, setup, stopChild } from 'xstate';
import type { ActorRefFrom, AnyActorRef, SnapshotFrom } from 'xstate';
import {
  CANCELED_ERROR,
  JobEventName,
  JobStatus,
  JobVerb,
  JOB_VERBS,
  OnError,
  RefusalReason,
  refusalMessage,
} from './vocabulary.js';

/** What a job is started with. */
export interface JobInput {
  id: string;
  owner: string;
  type: string;
  params?: Record<string, unknown>;
  /** @defaultValue true */
  autoFinalize?: boolean;
  /** @defaultValue true */
  autoDismiss?: boolean;
  /** Rate limit; 0 = unlimited. @defaultValue 0 */
  speed?: number;
  /** @defaultValue 'report' */
  onError?: OnError;
  description?: string;
  /** The id of the grouped transaction this job belongs to, if any. */
  txn?: string;
}

/** How the job's work ended, as reported by the work actor. */
export type WorkOutcome = { ok: true; result?: unknown } | { ok: false; error: string };

export interface JobContext {
  id: string;
  owner: string;
  type: string;
  params: Record<string, unknown>;
  txn?: string;
  autoFinalize: boolean;
  autoDismiss: boolean;
  speed: number;
  onError: OnError;
  description?: string;
  currentProgress: number;
  totalProgress: number;
  /** The user's share of the pause count (at most one). */
  userPaused: boolean;
  /** Pauses in effect: the user's plus internal ones (error-stop, drain). */
  pauseCount: number;
  /** Whether the work was ever started (QEMU's job_started). */
  started: boolean;
  /** A cancel request: a soft one only ever stands in ready/standby. */
  cancel: 'none' | 'soft' | 'force';
  completeRequested: boolean;
  /** The work reported convergence (it will enter ready). */
  converged: boolean;
  /** JOB_READY was emitted: once, on running → ready; standby → ready emits none (QEMU's job_transition_to_ready). */
  readyAnnounced: boolean;
  outcome?: WorkOutcome;
  error?: string;
  result?: unknown;
  timeStarted?: string;
  timeFinished?: string;
}

/** The verbs, as events sent by the service on behalf of a user. */
export type VerbEvent =
  | { type: 'cancel'; force?: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'set-speed'; speed: number }
  | { type: 'complete' }
  | { type: 'finalize' }
  | { type: 'dismiss' };

/** What the work actor reports. */
export type WorkReport =
  | { type: 'work.progress'; current: number; total: number }
  | { type: 'work.description'; description: string }
  | { type: 'work.ready' }
  | { type: 'work.done'; result?: unknown }
  | { type: 'work.failed'; error: string }
  | { type: 'work.error'; operation: 'read' | 'write'; action: OnError };

/** What the transaction (or whoever creates the job) tells the job. */
export type LifecycleEvent =
  | { type: 'create' }
  | { type: 'start' }
  | { type: 'txn.pending' }
  | { type: 'txn.finalize' }
  | { type: 'txn.commit' }
  | { type: 'txn.abort' }
  | { type: 'txn.conclude' }
  | { type: 'internal.pause' }
  | { type: 'internal.resume' };

/** What the job tells its transaction. */
export type MemberNotice = {
  type: 'member.waiting' | 'member.aborting' | 'member.stopped' | 'member.finalize' | 'member.prepared' | 'member.dismissed';
  id: string;
};

export type JobEvent = VerbEvent | WorkReport | LifecycleEvent | MemberNotice;

/** What the job's work actor is told. */
export type WorkCommand =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel'; force: boolean }
  | { type: 'complete' }
  | { type: 'set-speed'; speed: number };

/** What the work and prepare actors are started with. */
export interface WorkInput {
  id: string;
  owner: string;
  type: string;
  params: Record<string, unknown>;
  speed: number;
  onError: OnError;
  /** A pause already in effect when the work starts: park at the first pause point. */
  paused: boolean;
}

type Progress = { 'current-progress': number; 'total-progress': number };

/** Everything the job emits: the wire's events (data without the envelope) and refusals. */
export type JobEmitted =
  | { type: typeof JobEventName.statusChange; data: { id: string; owner: string; status: JobStatus } }
  | { type: typeof JobEventName.ready; data: { id: string; owner: string; type: string; speed: number } & Progress }
  | { type: typeof JobEventName.pending; data: { id: string; owner: string; type: string } }
  | {
      type: typeof JobEventName.completed;
      data: { id: string; owner: string; type: string; speed: number; error?: string } & Progress;
    }
  | { type: typeof JobEventName.cancelled; data: { id: string; owner: string; type: string; speed: number } & Progress }
  | {
      type: typeof JobEventName.error;
      data: { id: string; owner: string; operation: 'read' | 'write'; action: OnError };
    }
  | { type: typeof JobEventName.progress; data: { id: string; owner: string; description?: string } & Progress }
  | { type: 'verb.refused'; verb: JobVerb; status: JobStatus; reason: RefusalReason; message: string };

export interface RefuseParams {
  status: JobStatus;
  verb: JobVerb;
  reason: RefusalReason;
}

/** The verbs every status before waiting accepts (created, running, paused; ready and standby add complete). */
const ACTIVE_VERBS = [JobVerb.cancel, JobVerb.pause, JobVerb.resume, JobVerb.setSpeed] as const;

const progressOf = (c: JobContext): Progress => ({
  'current-progress': c.currentProgress,
  'total-progress': c.totalProgress,
});

const summaryOf = (c: JobContext) => ({ id: c.id, owner: c.owner, type: c.type, speed: c.speed, ...progressOf(c) });

/** The parent transaction, or the job itself when it has none (it ignores member notices). */
const transaction = ({ self }: { self: AnyActorRef }): AnyActorRef => self._parent ?? self;

export const jobMachine = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobContext,
    events: {} as JobEvent,
    emitted: {} as JobEmitted,
  },
  actors: {
    /** The job's work; the runtime provides it. By default the work is driven from outside
     * by sending `work.*` events to the job. */
    work: fromCallback<WorkCommand, WorkInput>(() => undefined),
    /** The fallible first half of finalize; by default there is nothing to prepare. */
    prepare: fromPromise<void, WorkInput>(async () => undefined),
  },
  actions: {
    /** Put the job's work in place (second half of a successful finalize). */
    commit: (_: unknown, _params: { id: string }) => undefined,
    /** Undo the job's work (second half of an aborted finalize). */
    abort: (_: unknown, _params: { id: string }) => undefined,
    /** Release what the job holds, after commit or abort. */
    clean: (_: unknown, _params: { id: string }) => undefined,

    announce: emit(({ context }, status: JobStatus) => ({
      type: JobEventName.statusChange,
      data: { id: context.id, owner: context.owner, status },
    })),
    refuse: emit(({ context }, p: RefuseParams) => ({
      type: 'verb.refused' as const,
      verb: p.verb,
      status: p.status,
      reason: p.reason,
      message: refusalMessage(p.reason, context.id, p.status, p.verb),
    })),
    notify: sendTo(transaction, ({ context }, type: MemberNotice['type']) => ({ type, id: context.id })),
    /** Tell the work actor (only ever used once the work was started). */
    tellWork: sendTo('work', (_, command: WorkCommand) => command),
    tellSpeed: sendTo('work', ({ context }) => ({ type: 'set-speed' as const, speed: context.speed })),
    userPause: assign(({ context }) => ({ userPaused: true, pauseCount: context.pauseCount + 1 })),
    userResume: assign(({ context }) => ({ userPaused: false, pauseCount: context.pauseCount - 1 })),
    /** A forced cancel drops the user pause (QEMU's job_cancel_async). */
    forceCancel: assign(({ context }) => ({
      cancel: 'force' as const,
      userPaused: false,
      pauseCount: context.pauseCount - (context.userPaused ? 1 : 0),
    })),
    softCancel: assign({ cancel: 'soft' as const }),
    requestComplete: assign({ completeRequested: true }),
    setSpeed: assign({ speed: ({ event }) => (event.type === 'set-speed' ? event.speed : 0) }),
  },
  guards: {
    userPaused: ({ context }) => context.userPaused,
    softWhileUserPaused: ({ context, event }) => event.type === 'cancel' && event.force === false && context.userPaused,
    soft: ({ event }) => event.type === 'cancel' && event.force === false,
    negativeSpeed: ({ event }) => event.type === 'set-speed' && event.speed < 0,
    softCancelled: ({ context }) => context.cancel === 'soft',
    cancelForced: ({ context }) => context.cancel === 'force',
    failed: ({ context }) => context.outcome?.ok === false,
    succeeded: ({ context }) => context.outcome?.ok === true,
    converged: ({ context }) => context.converged,
    shouldPause: ({ context }) => context.pauseCount > 0,
    unpaused: ({ context }) => context.pauseCount === 0,
    workSettled: ({ context }) => !context.started || context.outcome !== undefined,
    /** A job that never started is dismissed at once, whatever its auto-dismiss (QEMU's job_conclude). */
    dismissAtOnce: ({ context }) => context.autoDismiss || !context.started,
    started: ({ context }) => context.started,
  },
}).createMachine({
  id: 'job',
  description: "A job's lifecycle: QEMU's JobStatus states, moving only along QEMU's transition table.",
  context: ({ input }) => ({
    id: input.id,
    owner: input.owner,
    type: input.type,
    params: input.params ?? {},
    ...(input.txn !== undefined && { txn: input.txn }),
    autoFinalize: input.autoFinalize ?? true,
    autoDismiss: input.autoDismiss ?? true,
    speed: input.speed ?? 0,
    onError: input.onError ?? OnError.report,
    ...(input.description !== undefined && { description: input.description }),
    currentProgress: 0,
    totalProgress: 0,
    userPaused: false,
    pauseCount: 0,
    started: false,
    cancel: 'none',
    completeRequested: false,
    converged: false,
    readyAnnounced: false,
  }),
  initial: 'undefined',
  on: {
    'work.progress': {
      actions: [
        assign(({ context, event }) => ({
          currentProgress: Math.max(context.currentProgress, event.current),
          totalProgress: event.total,
        })),
        emit(({ context }) => ({
          type: JobEventName.progress,
          data: {
            id: context.id,
            owner: context.owner,
            ...progressOf(context),
            ...(context.description !== undefined && { description: context.description }),
          },
        })),
      ],
    },
    'work.description': { actions: assign({ description: ({ event }) => event.description }) },
    'work.ready': { actions: assign({ converged: true }) },
    'work.done': {
      guard: ({ context }) => !context.outcome,
      actions: assign({ outcome: ({ event }) => ({ ok: true, result: event.result }) }),
    },
    'work.failed': {
      guard: ({ context }) => !context.outcome,
      actions: assign({ outcome: ({ event }) => ({ ok: false, error: event.error }) }),
    },
    'work.error': {
      actions: [
        emit(({ context, event }) => ({
          type: JobEventName.error,
          data: { id: context.id, owner: context.owner, operation: event.operation, action: event.action },
        })),
        // on-error 'stop': pause as if the user had paused it (QEMU's block_job_error_action);
        // only work that is still going can stop (not after it settled or was cancelled).
        enqueueActions(({ context, event, enqueue }) => {
          const working = context.started && !context.outcome && context.cancel !== 'force';
          if (event.action === OnError.stop && working && !context.userPaused) enqueue('userPause');
        }),
      ],
    },
    'internal.pause': { actions: assign({ pauseCount: ({ context }) => context.pauseCount + 1 }) },
    'internal.resume': {
      guard: ({ context }) => context.pauseCount > (context.userPaused ? 1 : 0),
      actions: assign({ pauseCount: ({ context }) => context.pauseCount - 1 }),
    },
  },
  states: {
    undefined: {
      description: 'Before the job exists; never visible to users.',
      on: { create: 'created', ...refusing(JobStatus.undefined, []) },
    },
    created: {
      description: 'The job exists but its work has not started. A pause here takes effect at the first pause point.',
      entry: { type: 'announce', params: JobStatus.created },
      on: {
        start: {
          target: 'running',
          actions: [
            assign({ started: true, timeStarted: () => new Date().toISOString() }),
            enqueueActions(({ context, enqueue }) => {
              enqueue.spawnChild('work', { id: 'work', input: workInput(context) });
            }),
          ],
        },
        cancel: cancelling(JobStatus.created, '#job.aborting'),
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        ...pausing(JobStatus.created),
        ...speedSetting(JobStatus.created),
        ...refusing(JobStatus.created, ACTIVE_VERBS),
      },
    },
    running: {
      description: 'The work is running.',
      entry: { type: 'announce', params: JobStatus.running },
      always: [
        { guard: 'cancelForced', target: 'aborting' },
        { guard: 'failed', target: 'aborting' },
        { guard: 'succeeded', target: 'waiting' },
        { guard: 'converged', target: 'ready' },
        { guard: 'shouldPause', target: 'paused' },
      ],
      on: {
        cancel: cancelling(JobStatus.running, '#job.aborting'),
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        ...pausing(JobStatus.running),
        ...speedSetting(JobStatus.running),
        ...refusing(JobStatus.running, ACTIVE_VERBS),
      },
    },
    paused: {
      description: 'Paused at a pause point until every pauser (the user, error-stop, drain) has resumed.',
      entry: [
        { type: 'announce', params: JobStatus.paused },
        { type: 'tellWork', params: { type: 'pause' } },
      ],
      exit: { type: 'tellWork', params: { type: 'resume' } },
      always: [
        { guard: 'cancelForced', target: 'running' },
        { guard: 'unpaused', target: 'running' },
      ],
      on: {
        cancel: cancelling(JobStatus.paused, undefined),
        'txn.abort': { actions: 'forceCancel' },
        ...pausing(JobStatus.paused),
        ...speedSetting(JobStatus.paused),
        ...refusing(JobStatus.paused, ACTIVE_VERBS),
      },
    },
    ready: {
      description: 'The work has converged and keeps in sync until job-complete.',
      entry: [
        { type: 'announce', params: JobStatus.ready },
        enqueueActions(({ context, enqueue }) => {
          if (context.readyAnnounced) return; // back from standby: no new JOB_READY
          enqueue.emit({ type: JobEventName.ready, data: summaryOf(context) });
          enqueue.assign({ readyAnnounced: true });
        }),
      ],
      always: [
        { guard: 'cancelForced', target: 'aborting' },
        { guard: 'failed', target: 'aborting' },
        { guard: 'succeeded', target: 'waiting' },
        { guard: 'shouldPause', target: 'standby' },
      ],
      on: {
        cancel: cancelling(JobStatus.ready, '#job.aborting'),
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        complete: completing(JobStatus.ready),
        ...pausing(JobStatus.ready),
        ...speedSetting(JobStatus.ready),
        ...refusing(JobStatus.ready, [...ACTIVE_VERBS, JobVerb.complete]),
      },
    },
    standby: {
      description: 'A ready job, paused.',
      entry: [
        { type: 'announce', params: JobStatus.standby },
        { type: 'tellWork', params: { type: 'pause' } },
      ],
      exit: { type: 'tellWork', params: { type: 'resume' } },
      always: [
        { guard: 'cancelForced', target: 'ready' },
        { guard: 'unpaused', target: 'ready' },
      ],
      on: {
        cancel: cancelling(JobStatus.standby, undefined),
        'txn.abort': { actions: 'forceCancel' },
        complete: completing(JobStatus.standby),
        ...pausing(JobStatus.standby),
        ...speedSetting(JobStatus.standby),
        ...refusing(JobStatus.standby, [...ACTIVE_VERBS, JobVerb.complete]),
      },
    },
    waiting: {
      description: 'The work succeeded; waiting for every member of the transaction to succeed.',
      entry: [
        { type: 'announce', params: JobStatus.waiting },
        assign({ result: ({ context }) => (context.outcome?.ok ? context.outcome.result : undefined) }),
        { type: 'notify', params: 'member.waiting' },
      ],
      on: {
        'txn.pending': 'pending',
        cancel: { target: 'aborting', actions: 'forceCancel' },
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        ...refusing(JobStatus.waiting, [JobVerb.cancel]),
      },
    },
    pending: {
      description: 'Every member succeeded; waiting to be finalized (automatically, or by job-finalize).',
      entry: [
        { type: 'announce', params: JobStatus.pending },
        enqueueActions(({ context, enqueue }) => {
          if (!context.autoFinalize) {
            enqueue.emit({ type: JobEventName.pending, data: { id: context.id, owner: context.owner, type: context.type } });
          }
        }),
      ],
      initial: 'idle',
      states: {
        idle: { on: { 'txn.finalize': 'preparing' } },
        preparing: {
          invoke: {
            id: 'prepare',
            src: 'prepare',
            input: ({ context }) => workInput(context),
            onDone: { target: 'prepared', actions: { type: 'notify', params: 'member.prepared' } },
            onError: {
              target: '#job.aborting',
              actions: assign({
                outcome: ({ event }) => ({ ok: false as const, error: errorText(event.error) }),
              }),
            },
          },
        },
        prepared: {
          on: {
            'txn.commit': {
              target: '#job.concluded',
              actions: [
                { type: 'commit', params: ({ context }) => ({ id: context.id }) },
                { type: 'clean', params: ({ context }) => ({ id: context.id }) },
                emit(({ context }) => ({ type: JobEventName.completed, data: summaryOf(context) })),
              ],
            },
          },
        },
      },
      on: {
        finalize: { actions: { type: 'notify', params: 'member.finalize' } },
        cancel: { target: 'aborting', actions: 'forceCancel' },
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        ...refusing(JobStatus.pending, [JobVerb.cancel, JobVerb.finalize]),
      },
    },
    aborting: {
      description: 'Failed or cancelled: the work stops, then the whole transaction aborts and cleans up.',
      entry: [
        { type: 'announce', params: JobStatus.aborting },
        assign({
          error: ({ context }) => {
            const { cancel, outcome } = context;
            return cancel !== 'force' && outcome && !outcome.ok ? outcome.error : CANCELED_ERROR;
          },
        }),
        enqueueActions(({ context, enqueue }) => {
          if (context.started) enqueue({ type: 'tellWork', params: { type: 'cancel', force: true } });
        }),
        { type: 'notify', params: 'member.aborting' },
      ],
      initial: 'stopping',
      states: {
        stopping: { always: { guard: 'workSettled', target: 'stopped' } },
        stopped: {
          entry: { type: 'notify', params: 'member.stopped' },
          on: {
            'txn.conclude': {
              target: '#job.concluded',
              actions: [
                { type: 'abort', params: ({ context }) => ({ id: context.id }) },
                { type: 'clean', params: ({ context }) => ({ id: context.id }) },
                enqueueActions(({ context, enqueue }) => {
                  if (!context.started) return; // QEMU emits nothing for a job that never ran
                  if (context.cancel === 'force') {
                    enqueue.emit({ type: JobEventName.cancelled, data: summaryOf(context) });
                  } else {
                    enqueue.emit({
                      type: JobEventName.completed,
                      data: { ...summaryOf(context), ...(context.error !== undefined && { error: context.error }) },
                    });
                  }
                }),
              ],
            },
          },
        },
      },
      on: refusing(JobStatus.aborting, []),
    },
    concluded: {
      description: 'Finished, successfully or not; keeps its id and result until dismissed.',
      entry: [
        { type: 'announce', params: JobStatus.concluded },
        assign({ timeFinished: () => new Date().toISOString() }),
        enqueueActions(({ context, enqueue }) => {
          if (context.started) enqueue(stopChild('work'));
        }),
      ],
      always: { guard: 'dismissAtOnce', target: 'null' },
      on: {
        dismiss: 'null',
        ...refusing(JobStatus.concluded, [JobVerb.dismiss]),
      },
    },
    null: {
      description: 'Dismissed: the job is gone and its id is free again.',
      entry: [
        { type: 'announce', params: JobStatus.null },
        { type: 'notify', params: 'member.dismissed' },
      ],
      on: refusing(JobStatus.null, []),
    },
  },
});

/**
 * Refusals for every verb a status does not accept (QEMU's verb table, read row by row from
 * the `accepts` list each state gives). `resume` checks for a user pause before the table,
 * as QEMU's job_user_resume does.
 */
function refusing(status: JobStatus, accepts: readonly JobVerb[]) {
  const refuse = (verb: JobVerb, reason: RefusalReason) => ({
    actions: { type: 'refuse' as const, params: { status, verb, reason } },
  });
  const on: Partial<Record<JobVerb, unknown>> = {};
  for (const verb of JOB_VERBS) {
    if (accepts.includes(verb)) continue;
    on[verb] =
      verb === JobVerb.resume
        ? [{ guard: 'userPaused', ...refuse(verb, RefusalReason.state) }, refuse(verb, RefusalReason.notPaused)]
        : refuse(verb, RefusalReason.state);
  }
  return on as {};
}

/** pause and resume, in the statuses whose verb table accepts them. */
function pausing(status: JobStatus) {
  return {
    pause: [
      { guard: 'userPaused', actions: { type: 'refuse', params: { status, verb: JobVerb.pause, reason: RefusalReason.alreadyPaused } } },
      { actions: 'userPause' },
    ],
    resume: [
      { guard: 'userPaused', actions: 'userResume' },
      { actions: { type: 'refuse', params: { status, verb: JobVerb.resume, reason: RefusalReason.notPaused } } },
    ],
  } as const;
}

/** set-speed, in the statuses whose verb table accepts it; a running work is told at once. */
function speedSetting(status: JobStatus) {
  const refuseNegative = {
    guard: 'negativeSpeed',
    actions: { type: 'refuse', params: { status, verb: JobVerb.setSpeed, reason: RefusalReason.negativeSpeed } },
  } as const;
  return {
    'set-speed': [
      refuseNegative,
      { actions: status === JobStatus.created ? (['setSpeed'] as const) : (['setSpeed', 'tellSpeed'] as const) },
    ],
  } as const;
}

/** complete, in ready and standby: refused once a soft cancel was asked for. */
function completing(status: JobStatus) {
  return [
    {
      guard: 'softCancelled',
      actions: { type: 'refuse', params: { status, verb: JobVerb.complete, reason: RefusalReason.cannotComplete } },
    },
    {
      actions: ['requestComplete', { type: 'tellWork', params: { type: 'complete' } }],
    },
  ] as const;
}

/**
 * cancel in a status that accepts it. A soft cancel of a user-paused job is refused; in
 * ready and standby a soft cancel asks the work to finish without completing; anywhere else
 * a cancel is forced. `target` is where a forced cancel goes (paused and standby first
 * return to running / ready through their eventless transitions).
 */
function cancelling(status: JobStatus, target: '#job.aborting' | undefined) {
  const refusePaused = {
    guard: 'softWhileUserPaused',
    actions: { type: 'refuse', params: { status, verb: JobVerb.cancel, reason: RefusalReason.paused } },
  } as const;
  const soft = { guard: 'soft', actions: ['softCancel', { type: 'tellWork', params: { type: 'cancel', force: false } }] } as const;
  const forced = { target, actions: 'forceCancel' } as const;
  return status === JobStatus.ready || status === JobStatus.standby
    ? ([refusePaused, soft, forced] as const)
    : ([refusePaused, forced] as const);
}

function workInput(c: JobContext): WorkInput {
  return {
    id: c.id,
    owner: c.owner,
    type: c.type,
    params: c.params,
    speed: c.speed,
    onError: c.onError,
    paused: c.pauseCount > 0,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type JobActorRef = ActorRefFrom<typeof jobMachine>;
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** The JobStatus a job snapshot is in. */
export function statusOf(snapshot: JobSnapshot): JobStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as JobStatus;
}
