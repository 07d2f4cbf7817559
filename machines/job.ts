/**
 * The job statechart: QEMU's job model (`job.c`, `job-qmp.c`), one state node per JobStatus.
 *
 * The machine does no I/O and has no child actors. Its effects are named actions that `src/`
 * provides with `jobMachine.provide()`:
 * - `startWork`, `tellWork`, `stopWork`: start the job's work, pass it a {@link WorkCommand}
 *   (pause, resume, cancel, complete, set-speed), stop it. The work reports back by sending
 *   the job `work.*` events ({@link WorkReport}).
 * - `prepare`: begin the fallible first half of finalize (QEMU's `.prepare`); its outcome comes
 *   back as `prepare.done` or `prepare.failed`. By default there is nothing to prepare.
 * - `commit`, `abort`, `clean`: the second half of finalize (QEMU's callbacks).
 *
 * Every job belongs to a transaction. A job started with a `txn` is a member of that
 * transaction (see `transaction.ts`): it tells its transaction when it is waiting, aborting,
 * stopped, prepared or dismissed (`member.*`), and the transaction drives it with `txn.*`
 * events. A job without one is a transaction of one: it moves on by itself where a
 * transaction would tell it to (waiting → pending, auto-finalize, commit, conclude), which is
 * exactly what a transaction of one member does, without a second actor.
 *
 * Everything the wire needs is emitted: every status change in order, JOB_READY,
 * JOB_PENDING, JOB_COMPLETED / JOB_CANCELLED, JOB_ERROR, JOB_PROGRESS, and `verb.refused`
 * with QEMU's text whenever a verb is refused.
 */
import { and, assign, emit, enqueueActions, raise, sendTo, setup } from 'xstate';
import type { ActorRefFrom, AnyActorRef, SnapshotFrom } from 'xstate';
import { JobTag } from './tags.js';
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
  /**
   * The transaction this job is a member of; that transaction's actor coordinates it.
   * Without one, the job is a transaction of one and coordinates itself.
   */
  txn?: string;
}

/** How the job's work ended, as reported by the work. */
export type WorkOutcome = { ok: true; result?: unknown } | { ok: false; error: string };

export interface JobContext {
  /** What the job was started with, as given (see {@link settingsOf} for the defaults). Never changes. */
  readonly job: Readonly<JobInput>;
  /** Rate limit; 0 = unlimited (set at start, changed by set-speed). */
  speed: number;
  description?: string;
  /** The last progress the work reported (QEMU's ProgressMeter); absent until the first report. */
  progress?: Progress;
  /** The user's share of the pause count (at most one). */
  userPaused: boolean;
  /** Pauses in effect: the user's plus internal ones (error-stop, drain). */
  pauseCount: number;
  /** A cancel request: a soft one only ever stands in ready/standby. */
  cancel: 'none' | 'soft' | 'force';
  /** The work reported convergence (it will enter ready). */
  converged: boolean;
  outcome?: WorkOutcome;
  error?: string;
  /** When the work was started (ms since the epoch); set iff it was ever started (QEMU's job_started). */
  startedAt?: number;
  /** When the job concluded (ms since the epoch). */
  finishedAt?: number;
}

/** A job's start settings with their defaults applied. */
export interface JobSettings {
  id: string;
  owner: string;
  type: string;
  params: Record<string, unknown>;
  autoFinalize: boolean;
  autoDismiss: boolean;
  onError: OnError;
  txn?: string;
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

/** What the work reports. */
export type WorkReport =
  | { type: 'work.progress'; current: number; total: number }
  | { type: 'work.description'; description: string }
  | { type: 'work.ready' }
  | { type: 'work.done'; result?: unknown }
  | { type: 'work.failed'; error: string }
  | { type: 'work.error'; operation: 'read' | 'write'; action: OnError };

/** How the `prepare` action's work ended. */
export type PrepareReport = { type: 'prepare.done' } | { type: 'prepare.failed'; error: string };

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

/** What a member job tells its transaction. */
export type MemberNotice = {
  type: 'member.waiting' | 'member.aborting' | 'member.stopped' | 'member.finalize' | 'member.prepared' | 'member.dismissed';
  id: string;
};

export type JobEvent = VerbEvent | WorkReport | PrepareReport | LifecycleEvent;

/** What the job's work is told. */
export type WorkCommand =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel'; force: boolean }
  | { type: 'complete' }
  | { type: 'set-speed'; speed: number };

/** What the work and the prepare step are started with. */
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

/** How far the work is, in units of its choice: `current` of `total` (`current` never goes back). */
export interface Progress {
  current: number;
  total: number;
}

/** Progress, as the wire writes it. */
type WireProgress = { 'current-progress': number; 'total-progress': number };

/** Everything the job emits: the wire's events (data without the envelope) and refusals. */
export type JobEmitted =
  | { type: typeof JobEventName.statusChange; data: { id: string; owner: string; status: JobStatus } }
  | { type: typeof JobEventName.ready; data: { id: string; owner: string; type: string; speed: number } & WireProgress }
  | { type: typeof JobEventName.pending; data: { id: string; owner: string; type: string } }
  | {
      type: typeof JobEventName.completed;
      data: { id: string; owner: string; type: string; speed: number; error?: string } & WireProgress;
    }
  | { type: typeof JobEventName.cancelled; data: { id: string; owner: string; type: string; speed: number } & WireProgress }
  | {
      type: typeof JobEventName.error;
      data: { id: string; owner: string; operation: 'read' | 'write'; action: OnError };
    }
  | { type: typeof JobEventName.progress; data: { id: string; owner: string; description?: string } & WireProgress }
  | { type: 'verb.refused'; verb: JobVerb; status: JobStatus; reason: RefusalReason; message: string };

export interface RefuseParams {
  status: JobStatus;
  verb: JobVerb;
  reason: RefusalReason;
}

/** The verbs every status before waiting accepts (created, running, paused; ready and standby add complete). */
const ACTIVE_VERBS = [JobVerb.cancel, JobVerb.pause, JobVerb.resume, JobVerb.setSpeed] as const;

/** A job's progress as the wire writes it: 0 of 0 until the work reports any. */
export function wireProgress(c: JobContext): WireProgress {
  return { 'current-progress': c.progress?.current ?? 0, 'total-progress': c.progress?.total ?? 0 };
}

const summaryOf = (c: JobContext) => ({
  id: c.job.id,
  owner: c.job.owner,
  type: c.job.type,
  speed: c.speed,
  ...wireProgress(c),
});

/**
 * Where a member's notices go: its transaction (the parent that spawned it). A job alone is its
 * own transaction and ignores them: they go to itself, or to the parent it was given only to
 * share an actor system (the service's actor hub, which ignores them too).
 */
const transaction = ({ self }: { self: AnyActorRef }): AnyActorRef => self._parent ?? self;

/** The params of a job started without any (shared: a job never changes its params). */
const NO_PARAMS: Record<string, unknown> = Object.freeze({});

const byId = ({ context }: { context: JobContext }) => ({ id: context.job.id });

/** A successful finalize: commit, clean, JOB_COMPLETED, concluded. */
const COMMIT = {
  target: '#job.concluded',
  actions: [
    { type: 'commit', params: byId },
    { type: 'clean', params: byId },
    'announceCompleted',
  ],
} as const;

/**
 * An aborted finalize: abort, clean, then JOB_CANCELLED for a forced cancel or JOB_COMPLETED
 * with the error, and concluded. A job that never started announces neither (QEMU's).
 */
const ABORT_ACTIONS = [
  { type: 'abort', params: byId },
  { type: 'clean', params: byId },
] as const;
const ABORT = [
  { guard: 'neverStarted', target: '#job.concluded', actions: ABORT_ACTIONS },
  { guard: 'cancelForced', target: '#job.concluded', actions: [...ABORT_ACTIONS, 'announceCancelled'] },
  { target: '#job.concluded', actions: [...ABORT_ACTIONS, 'announceCompleted'] },
] as const;

export const jobMachine = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobContext,
    events: {} as JobEvent,
    emitted: {} as JobEmitted,
    tags: {} as JobTag,
  },
  actions: {
    /** Start the job's work; it reports with `work.*` events. By default the work is driven from outside. */
    startWork: (_: unknown, _input: WorkInput) => undefined,
    /** Tell the running work a command (only ever used once the work was started). */
    tellWork: (_: unknown, _command: WorkCommand) => undefined,
    /** The job concluded: its work, if still there, is stopped. */
    stopWork: (_: unknown, _params: { id: string }) => undefined,
    /** Begin the fallible first half of finalize; it ends with `prepare.done` or `prepare.failed`. */
    prepare: raise({ type: 'prepare.done' } as const),
    /** Put the job's work in place (second half of a successful finalize). */
    commit: (_: unknown, _params: { id: string }) => undefined,
    /** Undo the job's work (second half of an aborted finalize). */
    abort: (_: unknown, _params: { id: string }) => undefined,
    /** Release what the job holds, after commit or abort. */
    clean: (_: unknown, _params: { id: string }) => undefined,

    announce: emit(({ context }, status: JobStatus) => ({
      type: JobEventName.statusChange,
      data: { id: context.job.id, owner: context.job.owner, status },
    })),
    refuse: emit(({ context }, p: RefuseParams) => ({
      type: 'verb.refused' as const,
      verb: p.verb,
      status: p.status,
      reason: p.reason,
      message: refusalMessage(p.reason, context.job.id, p.status, p.verb),
    })),
    announceReady: emit(({ context }) => ({ type: JobEventName.ready, data: summaryOf(context) })),
    announcePending: emit(({ context }) => ({
      type: JobEventName.pending,
      data: { id: context.job.id, owner: context.job.owner, type: context.job.type },
    })),
    announceCompleted: emit(({ context }) => ({
      type: JobEventName.completed,
      data: context.error === undefined ? summaryOf(context) : { ...summaryOf(context), error: context.error },
    })),
    announceCancelled: emit(({ context }) => ({ type: JobEventName.cancelled, data: summaryOf(context) })),
    announceProgress: emit(({ context }) => ({
      type: JobEventName.progress,
      data: {
        id: context.job.id,
        owner: context.job.owner,
        ...wireProgress(context),
        ...(context.description !== undefined && { description: context.description }),
      },
    })),
    announceError: emit(({ context, event }) => ({
      type: JobEventName.error,
      data: {
        id: context.job.id,
        owner: context.job.owner,
        operation: event.type === 'work.error' ? event.operation : 'read',
        action: event.type === 'work.error' ? event.action : OnError.report,
      },
    })),
    notify: sendTo(transaction, ({ context }, type: MemberNotice['type']) => ({ type, id: context.job.id })),
    userPause: assign(({ context }) => ({ userPaused: true, pauseCount: context.pauseCount + 1 })),
    userResume: assign(({ context }) => ({ userPaused: false, pauseCount: context.pauseCount - 1 })),
    /** A forced cancel drops the user pause (QEMU's job_cancel_async). */
    forceCancel: assign(({ context }) => ({
      cancel: 'force' as const,
      userPaused: false,
      pauseCount: context.pauseCount - (context.userPaused ? 1 : 0),
    })),
    softCancel: assign({ cancel: 'soft' as const }),
    setSpeed: assign({ speed: ({ event }) => (event.type === 'set-speed' ? event.speed : 0) }),
    recordDone: assign({ outcome: ({ event }) => ({ ok: true, result: event.type === 'work.done' ? event.result : undefined }) }),
    recordFailure: assign({
      outcome: ({ event }) => ({ ok: false, error: event.type === 'work.failed' || event.type === 'prepare.failed' ? event.error : '' }),
    }),
    /** Why the job is aborting: its own failure, or a cancel (also the transaction's abort). */
    recordError: assign({
      error: ({ context: { cancel, outcome } }) => (cancel !== 'force' && outcome && !outcome.ok ? outcome.error : CANCELED_ERROR),
    }),
  },
  guards: {
    /** A transaction of one (it coordinates itself). */
    alone: ({ context }) => context.job.txn === undefined,
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
    workSettled: ({ context }) => context.startedAt === undefined || context.outcome !== undefined,
    /** A job that never started is dismissed at once, whatever its auto-dismiss (QEMU's job_conclude). */
    dismissAtOnce: ({ context }) => context.job.autoDismiss !== false || context.startedAt === undefined,
    /** The work has not reported its end yet (the first report wins). */
    workGoing: ({ context }) => context.outcome === undefined,
    neverStarted: ({ context }) => context.startedAt === undefined,
    /** A transaction of one whose job finalizes by itself. */
    finalizesAlone: ({ context }) => context.job.txn === undefined && context.job.autoFinalize !== false,
    manualFinalize: ({ context }) => context.job.autoFinalize === false,
  },
}).createMachine({
  id: 'job',
  description: "A job's lifecycle: QEMU's JobStatus states, moving only along QEMU's transition table.",
  context: ({ input }) => ({
    job: input,
    speed: input.speed ?? 0,
    ...(input.description !== undefined && { description: input.description }),
    userPaused: false,
    pauseCount: 0,
    cancel: 'none',
    converged: false,
  }),
  initial: 'undefined',
  on: {
    // Reports the work may send whatever the status (progress only moves forward).
    'work.progress': {
      actions: [
        assign({
          progress: ({ context, event }) => ({
            current: Math.max(context.progress?.current ?? 0, event.current),
            total: event.total,
          }),
        }),
        'announceProgress',
      ],
    },
    'work.description': { actions: assign({ description: ({ event }) => event.description }) },
    'work.ready': { actions: assign({ converged: true }) },
    'work.done': { guard: 'workGoing', actions: 'recordDone' },
    'work.failed': { guard: 'workGoing', actions: 'recordFailure' },
    'work.error': [
      // on-error 'stop': pause as if the user had paused it (QEMU's block_job_error_action);
      // only work that is still going can stop (not after it settled or was cancelled).
      {
        guard: ({ context, event }) =>
          event.action === OnError.stop &&
          context.startedAt !== undefined &&
          !context.outcome &&
          context.cancel !== 'force' &&
          !context.userPaused,
        actions: ['announceError', 'userPause'],
      },
      { actions: 'announceError' },
    ],
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
            assign({ startedAt: () => Date.now() }),
            { type: 'startWork', params: ({ context }: { context: JobContext }) => workInput(context) },
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
      tags: [JobTag.workLive],
      entry: { type: 'announce', params: JobStatus.running },
      always: [
        { guard: 'cancelForced', target: 'aborting' },
        { guard: 'failed', target: 'aborting' },
        { guard: 'succeeded', target: 'waiting' },
        { guard: 'converged', target: 'ready' },
        { guard: 'shouldPause', target: 'paused' },
      ],
      on: {
        // The usual end of the work, taken directly (the eventless transitions would do the same a microstep later).
        'work.done': { target: 'waiting', actions: 'recordDone' },
        'work.failed': { target: 'aborting', actions: 'recordFailure' },
        cancel: cancelling(JobStatus.running, '#job.aborting'),
        'txn.abort': { target: 'aborting', actions: 'forceCancel' },
        ...pausing(JobStatus.running),
        ...speedSetting(JobStatus.running),
        ...refusing(JobStatus.running, ACTIVE_VERBS),
      },
    },
    paused: {
      description: 'Paused at a pause point until every pauser (the user, error-stop, drain) has resumed.',
      tags: [JobTag.workLive, JobTag.workResting, JobTag.workPaused],
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
      tags: [JobTag.workLive, JobTag.workResting],
      entry: { type: 'announce', params: JobStatus.ready },
      always: [
        { guard: 'cancelForced', target: 'aborting' },
        { guard: 'failed', target: 'aborting' },
        { guard: 'succeeded', target: 'waiting' },
        { guard: 'shouldPause', target: 'standby' },
      ],
      // JOB_READY follows the status change on running → ready only; standby → ready has none
      // (QEMU's job_transition_to_ready).
      initial: 'converged',
      states: {
        converged: { entry: 'announceReady' },
        resumed: { description: 'Back from standby.' },
      },
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
      tags: [JobTag.workLive, JobTag.workResting, JobTag.workPaused],
      entry: [
        { type: 'announce', params: JobStatus.standby },
        { type: 'tellWork', params: { type: 'pause' } },
      ],
      exit: { type: 'tellWork', params: { type: 'resume' } },
      always: [
        { guard: 'cancelForced', target: 'ready.resumed' },
        { guard: 'unpaused', target: 'ready.resumed' },
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
      tags: [JobTag.unfinalized],
      entry: [
        { type: 'announce', params: JobStatus.waiting },
        { type: 'notify', params: 'member.waiting' },
      ],
      // A transaction of one has no one else to wait for (and with auto-finalize, finalizes at once).
      always: [
        { guard: 'finalizesAlone', target: 'pending.preparing' },
        { guard: 'alone', target: 'pending' },
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
      tags: [JobTag.unfinalized, JobTag.finalizeOpen],
      entry: { type: 'announce', params: JobStatus.pending },
      initial: 'idle',
      states: {
        idle: {
          always: [
            // A transaction of one with auto-finalize finalizes itself at once.
            { guard: 'finalizesAlone', target: 'preparing' },
            { guard: 'manualFinalize', target: 'held', actions: 'announcePending' },
            { target: 'held' },
          ],
        },
        held: {
          description: 'Waiting for the transaction to finalize (alone: for job-finalize).',
          on: {
            'txn.finalize': 'preparing',
            finalize: { guard: 'alone', target: 'preparing' },
          },
        },
        preparing: {
          tags: [JobTag.preparing],
          entry: { type: 'prepare', params: ({ context }: { context: JobContext }) => workInput(context) },
          on: {
            'prepare.done': [{ guard: 'alone', ...COMMIT }, { target: 'prepared' }],
            'prepare.failed': { target: '#job.aborting', actions: 'recordFailure' },
          },
        },
        prepared: {
          description: 'Prepared; the transaction commits once every member is.',
          entry: { type: 'notify', params: 'member.prepared' },
          on: { 'txn.commit': COMMIT },
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
      tags: [JobTag.unfinalized],
      entry: [
        { type: 'announce', params: JobStatus.aborting },
        'recordError',
        enqueueActions(({ context, enqueue }) => {
          if (context.startedAt !== undefined) enqueue({ type: 'tellWork', params: { type: 'cancel', force: true } });
        }),
        { type: 'notify', params: 'member.aborting' },
      ],
      initial: 'stopping',
      states: {
        stopping: { tags: [JobTag.stopping], always: { guard: 'workSettled', target: 'stopped' } },
        stopped: {
          entry: { type: 'notify', params: 'member.stopped' },
          // A transaction of one concludes as soon as its work has stopped.
          always: [
            { ...ABORT[0], guard: and(['alone', 'neverStarted']) },
            { ...ABORT[1], guard: and(['alone', 'cancelForced']) },
            { ...ABORT[2], guard: 'alone' },
          ],
          on: { 'txn.conclude': ABORT },
        },
      },
      on: refusing(JobStatus.aborting, []),
    },
    concluded: {
      description: 'Finished, successfully or not; keeps its id and result until dismissed.',
      entry: [
        { type: 'announce', params: JobStatus.concluded },
        assign({ finishedAt: () => Date.now() }),
        { type: 'stopWork', params: ({ context }) => ({ id: context.job.id }) },
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
      // The work is told the speed once it is set (the actions run in order).
      status === JobStatus.created
        ? ({ actions: 'setSpeed' } as const)
        : ({ actions: ['setSpeed', { type: 'tellWork', params: speedCommand }] } as const),
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
      // What a complete means is the work's business (QEMU's driver .complete, e.g. mirror's should_complete).
      actions: { type: 'tellWork', params: { type: 'complete' } },
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

function speedCommand({ context }: { context: JobContext }): WorkCommand {
  return { type: 'set-speed', speed: context.speed };
}

/** What a job's work and prepare step get: its settings, speed, and whether a pause is in effect. */
export function workInput(c: JobContext): WorkInput {
  const { id, owner, type, params = NO_PARAMS, onError = OnError.report } = c.job;
  return { id, owner, type, params, speed: c.speed, onError, paused: c.pauseCount > 0 };
}

/** A job's start settings, defaults applied. */
export function settingsOf(c: JobContext): JobSettings {
  const { id, owner, type, params = NO_PARAMS, autoFinalize = true, autoDismiss = true, onError = OnError.report, txn } = c.job;
  return { id, owner, type, params, autoFinalize, autoDismiss, onError, ...(txn !== undefined && { txn }) };
}

export type JobActorRef = ActorRefFrom<typeof jobMachine>;
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** The JobStatus a job snapshot is in. */
export function statusOf(snapshot: JobSnapshot): JobStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as JobStatus;
}
