/**
 * query-jobs over the live jobs, and the counts the metrics show. Filtering reads only the
 * table's entries (their type and last status, not their snapshots: 100,000 of those are
 * slow to reach); JobInfo is made only for the jobs a reply reads.
 */
import { QueryOrder } from '../protocol/schemas.js';
import type { JobInfo, QueryJobsArgs } from '../protocol/schemas.js';
import { jobInfo } from './job-info.js';
import type { JobTable, LiveJob } from './job-table.js';
import type { Listing } from './query.js';

/** The jobs `caller` may see that match the filters, in the order asked (newest first by default); `info` makes a job's JobInfo. */
export function queryJobs(table: JobTable, caller: string, args: QueryJobsArgs, info: (entry: LiveJob) => JobInfo): Listing {
  const admin = table.admins.has(caller);
  const owner = admin ? args.owner : caller;
  if (!admin && args.owner !== undefined && args.owner !== caller) return { count: 0, at: () => undefined };
  const matched: LiveJob[] = [];
  for (const entry of table.values()) {
    if (owner !== undefined && entry.owner !== owner) continue;
    if (args.status !== undefined && entry.status !== args.status) continue;
    if (args.type !== undefined && entry.type !== args.type) continue;
    matched.push(entry);
  }
  const oldest = args['order-by'] === QueryOrder.oldest;
  const count = matched.length;
  return {
    count,
    at: (i) => {
      const entry = i < 0 || i >= count ? undefined : matched[oldest ? i : count - 1 - i];
      return entry && info(entry);
    },
  };
}

/** How many jobs there are of each status and type (the metrics' jobs gauge). */
export function countJobs(table: JobTable): Array<{ status: string; type: string; count: number }> {
  const counts = new Map<string, { status: string; type: string; count: number }>();
  for (const entry of table.values()) {
    const { status, type } = jobInfo(entry.job.getSnapshot());
    const k = `${status}\u0000${type}`;
    const c = counts.get(k);
    if (c) c.count++;
    else counts.set(k, { status, type, count: 1 });
  }
  return [...counts.values()];
}
