/**
 * The job statechart: QEMU's job model (`job.c`, `job-qmp.c`), one state node per JobStatus.
 *
 * The machine does no I/O and has no child actors; its effects are the named actions of
 * `job-setup.ts`, which `src/` provides with `jobMachine.provide()`.
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
import { and, assign, enqueueActions, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { ABORT, COMMIT } from './finalize.js';
import { workInput } from './job-context.js';
import { jobSetup } from './job-setup.js';
import type { JobMachineContext } from './job-types.js';
import { JobTag } from './tags.js';
import { ACTIVE_VERBS, cancelling, completing, pausing, refusing, speedSetting } from './verb-table.js';
import { JobStatus, JobVerb } from './vocabulary.js';

export const jobMachine = jobSetup.createMachine({
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
      // on-error 'stop': pause as if the user had paused it (QEMU's block_job_error_action).
      { guard: 'errorStops', actions: ['announceError', 'userPause'] },
      { actions: 'announceError' },
    ],
    'internal.pause': { actions: assign({ pauseCount: ({ context }) => context.pauseCount + 1 }) },
    'internal.resume': {
      guard: 'internallyPaused',
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
            { type: 'startWork', params: ({ context }: { context: JobMachineContext }) => workInput(context) },
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
          entry: { type: 'prepare', params: ({ context }: { context: JobMachineContext }) => workInput(context) },
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

export type JobActorRef = ActorRefFrom<typeof jobMachine>;
export type JobSnapshot = SnapshotFrom<typeof jobMachine>;

/** The JobStatus a job snapshot is in. */
export function statusOf(snapshot: JobSnapshot): JobStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as JobStatus;
}
