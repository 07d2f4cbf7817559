/**
 * The transaction statechart: the parent of its member jobs (QEMU's JobTxn,
 * `tests/unit/test-blockjob-txn.c`). It spawns one job actor per member and coordinates them:
 * - convergence: members that succeed wait in `waiting`; when the last one arrives, all go
 *   to `pending` together; if every member has auto-finalize the transaction finalizes
 *   itself, otherwise it waits for `job-finalize` on any member, which finalizes all;
 * - finalize: every member prepares; once all are prepared, every member commits; a failed
 *   prepare aborts the whole transaction;
 * - abort: when one member fails or is cancelled, every other member is force-cancelled
 *   (ready, waiting and pending ones included); once all have stopped, every member concludes.
 *   (Each job's events keep their order; across members, the one whose notice completed a
 *   phase concludes last.)
 *
 * A job started alone is a transaction of one. The transaction is done when every member
 * has been dismissed.
 */
import { assign, enqueueActions, setup } from 'xstate';
import type { ActorRefFrom, SnapshotFrom } from 'xstate';
import { jobMachine } from './job.js';
import { TransactionTag } from './tags.js';
import type { JobActorRef } from './job.js';
import type { JobInput, LifecycleEvent, MemberNotice } from './job-types.js';

export interface TransactionInput {
  id: string;
  /** The members, in the order they were given (the order of `jobs` in replies). */
  jobs: JobInput[];
}

/** `create` and `start` come from whoever owns the transaction; the rest from its members. */
export type TransactionEvent = { type: 'create' } | { type: 'start' } | MemberNotice;

type Phase = 'waiting' | 'prepared' | 'stopped' | 'dismissed';

export interface TransactionContext {
  id: string;
  members: JobActorRef[];
  /** Whether every member has auto-finalize. */
  autoFinalize: boolean;
  /** Which members have reached each phase, by id. */
  reached: Record<Phase, string[]>;
}

const noneReached = (): Record<Phase, string[]> => ({ waiting: [], prepared: [], stopped: [], dismissed: [] });

export const transactionMachine = setup({
  types: {
    input: {} as TransactionInput,
    context: {} as TransactionContext,
    events: {} as TransactionEvent,
    tags: {} as TransactionTag,
  },
  actors: { job: jobMachine },
  actions: {
    /** Tell every member, in order. */
    tellAll: enqueueActions(({ context, enqueue }, type: LifecycleEvent['type']) => {
      for (const member of context.members) enqueue.sendTo(member, { type });
    }),
    mark: assign(({ context, event }, phase: Phase) => {
      if (!('id' in event) || context.reached[phase].includes(event.id)) return {};
      return { reached: { ...context.reached, [phase]: [...context.reached[phase], event.id] } };
    }),
  },
  guards: {
    all: ({ context }, phase: Phase) => context.reached[phase].length === context.members.length,
    autoFinalize: ({ context }) => context.autoFinalize,
  },
}).createMachine({
  id: 'transaction',
  description: 'Coordinates member jobs: they succeed together or abort together.',
  context: ({ input, spawn }) => ({
    id: input.id,
    members: input.jobs.map((job) => spawn('job', { id: job.id, input: { ...job, txn: job.txn ?? input.id } })),
    autoFinalize: input.jobs.every((job) => job.autoFinalize !== false),
    reached: noneReached(),
  }),
  initial: 'idle',
  on: {
    'member.dismissed': { actions: { type: 'mark', params: 'dismissed' } },
  },
  always: { guard: { type: 'all', params: 'dismissed' }, target: '.done' },
  states: {
    idle: {
      description: 'Members spawned, not yet created.',
      on: { create: { target: 'created', actions: { type: 'tellAll', params: 'create' } } },
    },
    created: {
      description: 'Every member is created; none has started.',
      on: {
        start: { target: 'running', actions: { type: 'tellAll', params: 'start' } },
        'member.aborting': 'aborting',
      },
    },
    running: {
      description: 'Members are working; those that succeed wait for the others.',
      always: { guard: { type: 'all', params: 'waiting' }, target: 'pending' },
      on: {
        'member.waiting': { actions: { type: 'mark', params: 'waiting' } },
        'member.aborting': 'aborting',
      },
    },
    pending: {
      description: 'Every member succeeded; waiting for finalize (immediate when all auto-finalize).',
      entry: { type: 'tellAll', params: 'txn.pending' },
      always: { guard: 'autoFinalize', target: 'finalizing' },
      on: {
        'member.finalize': 'finalizing',
        'member.aborting': 'aborting',
      },
    },
    finalizing: {
      description: 'Every member prepares; all commit once all are prepared.',
      entry: { type: 'tellAll', params: 'txn.finalize' },
      always: { guard: { type: 'all', params: 'prepared' }, target: 'committed' },
      on: {
        'member.prepared': { actions: { type: 'mark', params: 'prepared' } },
        'member.aborting': 'aborting',
      },
    },
    committed: {
      description: 'Every member committed and concluded; waiting for them to be dismissed.',
      tags: [TransactionTag.settled],
      entry: { type: 'tellAll', params: 'txn.commit' },
    },
    aborting: {
      description: 'A member failed or was cancelled: every other member is force-cancelled.',
      entry: { type: 'tellAll', params: 'txn.abort' },
      always: { guard: { type: 'all', params: 'stopped' }, target: 'aborted' },
      on: { 'member.stopped': { actions: { type: 'mark', params: 'stopped' } } },
    },
    aborted: {
      description: 'Every member stopped; each aborts, cleans up and concludes in turn.',
      tags: [TransactionTag.settled],
      entry: { type: 'tellAll', params: 'txn.conclude' },
    },
    done: {
      description: 'Every member was dismissed.',
      tags: [TransactionTag.settled],
      type: 'final',
    },
  },
});

export type TransactionActorRef = ActorRefFrom<typeof transactionMachine>;
export type TransactionSnapshot = SnapshotFrom<typeof transactionMachine>;
