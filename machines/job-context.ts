/** Readings of a job's context: its settings with defaults, what its work gets, its progress on the wire. */
import { OnError } from './vocabulary.js';
import type { JobMachineContext, JobSettings, WireProgress, WorkInput } from './job-types.js';

/** A job's progress as the wire writes it: 0 of 0 until the work reports any. */
export function wireProgress(c: JobMachineContext): WireProgress {
  return { 'current-progress': c.progress?.current ?? 0, 'total-progress': c.progress?.total ?? 0 };
}

/** What JOB_READY, JOB_COMPLETED and JOB_CANCELLED say about a job. */
export const summaryOf = (c: JobMachineContext) => ({
  id: c.job.id,
  owner: c.job.owner,
  type: c.job.type,
  speed: c.speed,
  ...wireProgress(c),
});

/** The params of a job started without any (shared: a job never changes its params). */
const NO_PARAMS: Record<string, unknown> = Object.freeze({});

/** What a job's work and prepare step get: its settings, speed, and whether a pause is in effect. */
export function workInput(c: JobMachineContext): WorkInput {
  const { id, owner, type, params = NO_PARAMS, onError = OnError.report } = c.job;
  return { id, owner, type, params, speed: c.speed, onError, paused: c.pauseCount > 0 };
}

/** A job's start settings, defaults applied. */
export function settingsOf(c: JobMachineContext): JobSettings {
  const { id, owner, type, params = NO_PARAMS, autoFinalize = true, autoDismiss = true, onError = OnError.report, txn } = c.job;
  return { id, owner, type, params, autoFinalize, autoDismiss, onError, ...(txn !== undefined && { txn }) };
}
