/**
 * QEMU's verb table, as transitions: what each status does with each verb. Every state lists
 * the verbs it accepts and takes their transitions from here; the rest are refused.
 */
import { JobStatus, JobVerb, JOB_VERBS, RefusalReason } from './vocabulary.js';
import type { JobMachineContext, WorkCommand } from './job-types.js';

/** The verbs every status before waiting accepts (created, running, paused; ready and standby add complete). */
export const ACTIVE_VERBS = [JobVerb.cancel, JobVerb.pause, JobVerb.resume, JobVerb.setSpeed] as const;

/**
 * Refusals for every verb a status does not accept (QEMU's verb table, read row by row from
 * the `accepts` list each state gives). `resume` checks for a user pause before the table,
 * as QEMU's job_user_resume does.
 */
export function refusing(status: JobStatus, accepts: readonly JobVerb[]) {
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
export function pausing(status: JobStatus) {
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
export function speedSetting(status: JobStatus) {
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
export function completing(status: JobStatus) {
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
export function cancelling(status: JobStatus, target: '#job.aborting' | undefined) {
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

function speedCommand({ context }: { context: JobMachineContext }): WorkCommand {
  return { type: 'set-speed', speed: context.speed };
}
