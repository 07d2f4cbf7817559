/** The second half of finalize, as transitions to concluded: commit or abort, then clean. */
import type { JobMachineContext } from './job-types.js';

const byId = ({ context }: { context: JobMachineContext }) => ({ id: context.job.id });

/** A successful finalize: commit, clean, JOB_COMPLETED, concluded. */
export const COMMIT = {
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
export const ABORT = [
  { guard: 'neverStarted', target: '#job.concluded', actions: ABORT_ACTIONS },
  { guard: 'cancelForced', target: '#job.concluded', actions: [...ABORT_ACTIONS, 'announceCancelled'] },
  { target: '#job.concluded', actions: [...ABORT_ACTIONS, 'announceCompleted'] },
] as const;
