/**
 * The public vocabulary of the job model, written once: QEMU's JobStatus and JobVerb
 * (`qapi/job.json`), the event names of the wire, and the on-error policies.
 * Each is an `as const` object with a same-named type, shared by senders and handlers.
 */

/** QEMU's JobStatus, in QAPI order. */
export const JobStatus = {
  undefined: 'undefined',
  created: 'created',
  running: 'running',
  paused: 'paused',
  ready: 'ready',
  standby: 'standby',
  waiting: 'waiting',
  pending: 'pending',
  aborting: 'aborting',
  concluded: 'concluded',
  null: 'null',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
export const JOB_STATUSES = Object.values(JobStatus) as readonly JobStatus[];

/** QEMU's JobVerb: what a user may ask of a job. */
export const JobVerb = {
  cancel: 'cancel',
  pause: 'pause',
  resume: 'resume',
  setSpeed: 'set-speed',
  complete: 'complete',
  finalize: 'finalize',
  dismiss: 'dismiss',
} as const;
export type JobVerb = (typeof JobVerb)[keyof typeof JobVerb];
export const JOB_VERBS = Object.values(JobVerb) as readonly JobVerb[];

/** The events a job announces, named as on the wire (QMP event names). */
export const JobEventName = {
  statusChange: 'JOB_STATUS_CHANGE',
  ready: 'JOB_READY',
  pending: 'JOB_PENDING',
  completed: 'JOB_COMPLETED',
  cancelled: 'JOB_CANCELLED',
  error: 'JOB_ERROR',
  progress: 'JOB_PROGRESS',
} as const;
export type JobEventName = (typeof JobEventName)[keyof typeof JobEventName];
export const JOB_EVENT_NAMES = Object.values(JobEventName) as readonly JobEventName[];

/** What a job does when its work hits an I/O error (QEMU's BlockdevOnError, as used by jobs). */
export const OnError = { report: 'report', stop: 'stop', ignore: 'ignore' } as const;
export type OnError = (typeof OnError)[keyof typeof OnError];

/** Why a verb was refused; the service maps each to an error code. */
export const RefusalReason = {
  /** QEMU's verb table does not allow the verb in this status. */
  state: 'state',
  /** A user pause while the user pause is already in effect. */
  alreadyPaused: 'already-paused',
  /** A resume while no user pause is in effect (checked before the verb table). */
  notPaused: 'not-paused',
  /** complete of a job with no completion step left (e.g. after a soft cancel). */
  cannotComplete: 'cannot-complete',
  /** A soft cancel of a user-paused job. */
  paused: 'paused',
  /** set-speed with a negative value. */
  negativeSpeed: 'negative-speed',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** The text QEMU gives for each refusal, so people and tools that know QEMU recognise it. */
export function refusalMessage(reason: RefusalReason, id: string, status: JobStatus, verb: JobVerb): string {
  switch (reason) {
    case RefusalReason.state:
      return `Job '${id}' in state '${status}' cannot accept command verb '${verb}'`;
    case RefusalReason.alreadyPaused:
      return 'Job is already paused';
    case RefusalReason.notPaused:
      return "Can't resume a job that was not paused";
    case RefusalReason.cannotComplete:
      return `The active job '${id}' cannot be completed`;
    case RefusalReason.paused:
      return `The job '${id}' is currently paused`;
    case RefusalReason.negativeSpeed:
      return "Parameter 'speed' expects a non-negative value";
  }
}

/** The error a force-cancelled job concludes with (strerror(ECANCELED)). */
export const CANCELED_ERROR = 'Operation canceled';
