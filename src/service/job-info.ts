/** JobInfo, as query-jobs and job-wait report it, read from a job's snapshot. */
import { JobStatus, settingsOf, statusOf, wireProgress } from '../../machines/index.js';
import type { JobSnapshot } from '../../machines/index.js';
import type { JobInfo } from '../protocol/schemas.js';

export function jobInfo(snapshot: JobSnapshot): JobInfo {
  const c = snapshot.context;
  const job = settingsOf(c);
  const status = statusOf(snapshot);
  const succeeded = (status === JobStatus.concluded || status === JobStatus.null) && c.error === undefined;
  const result = c.outcome?.ok ? c.outcome.result : undefined;
  return {
    id: job.id,
    type: job.type,
    status,
    ...wireProgress(c),
    ...(c.error !== undefined && { error: c.error }),
    owner: job.owner,
    'auto-finalize': job.autoFinalize,
    'auto-dismiss': job.autoDismiss,
    speed: c.speed,
    ...(job.txn !== undefined && { txn: job.txn }),
    ...(c.description !== undefined && { description: c.description }),
    ...(succeeded && result !== undefined && { result }),
    ...(c.startedAt !== undefined && { 'time-started': new Date(c.startedAt).toISOString() }),
    ...(c.finishedAt !== undefined && { 'time-finished': new Date(c.finishedAt).toISOString() }),
  };
}
