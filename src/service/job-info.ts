/** JobInfo, as query-jobs and job-wait report it, read from a job's snapshot. */
import { JobStatus, statusOf } from '../../machines/index.js';
import type { JobSnapshot } from '../../machines/index.js';
import type { JobInfo } from '../protocol/schemas.js';

export function jobInfo(snapshot: JobSnapshot): JobInfo {
  const c = snapshot.context;
  const status = statusOf(snapshot);
  const succeeded = (status === JobStatus.concluded || status === JobStatus.null) && c.error === undefined;
  return {
    id: c.id,
    type: c.type,
    status,
    'current-progress': c.currentProgress,
    'total-progress': c.totalProgress,
    ...(c.error !== undefined && { error: c.error }),
    owner: c.owner,
    'auto-finalize': c.autoFinalize,
    'auto-dismiss': c.autoDismiss,
    speed: c.speed,
    ...(c.txn !== undefined && { txn: c.txn }),
    ...(c.description !== undefined && { description: c.description }),
    ...(succeeded && c.result !== undefined && { result: c.result }),
    ...(c.timeStarted !== undefined && { 'time-started': c.timeStarted }),
    ...(c.timeFinished !== undefined && { 'time-finished': c.timeFinished }),
  };
}
