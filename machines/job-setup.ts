/**
 * The job machine's named actions and guards. Its effects are actions that `src/` provides
 * with `jobMachine.provide()`:
 * - `startWork`, `tellWork`, `stopWork`: start the job's work, pass it a {@link WorkCommand}
 *   (pause, resume, cancel, complete, set-speed), stop it. The work reports back by sending
 *   the job `work.*` events ({@link WorkReport}).
 * - `prepare`: begin the fallible first half of finalize (QEMU's `.prepare`); its outcome comes
 *   back as `prepare.done` or `prepare.failed`. By default there is nothing to prepare.
 * - `commit`, `abort`, `clean`: the second half of finalize (QEMU's callbacks).
 * The others emit what the wire needs, tell the transaction, and keep the context.
 */
import { assign, emit, raise, sendTo, setup } from 'xstate';
import { summaryOf, wireProgress } from './job-context.js';
import type { JobMachineContext, JobEmitted, JobMachineEvent, JobInput, MemberNotice, RefuseParams, WorkCommand, WorkInput, WorkReport } from './job-types.js';
import { transaction } from './parent.js';
import type { JobTag } from './tags.js';
import { CANCELED_ERROR, JobEventName, JobStatus, OnError, refusalMessage } from './vocabulary.js';

export const jobSetup = setup({
  types: {
    input: {} as JobInput,
    context: {} as JobMachineContext,
    events: {} as JobMachineEvent,
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
    /** An on-error 'stop' stops only work that is still going (not after it settled or was cancelled), once. */
    errorStops: ({ context, event }) =>
      event.type === 'work.error' &&
      event.action === OnError.stop &&
      context.startedAt !== undefined &&
      !context.outcome &&
      context.cancel !== 'force' &&
      !context.userPaused,
    /** A pause other than the user's (e.g. a drain) is in effect. */
    internallyPaused: ({ context }) => context.pauseCount > (context.userPaused ? 1 : 0),
  },
});
