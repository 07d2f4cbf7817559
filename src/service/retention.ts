/** Retention: concluded jobs are dismissed once kept long enough, or when too many are kept. */
import type { Logger } from 'pino';
import { JobStatus, statusOf } from '../../machines/index.js';
import type { Retention } from '../persist/settings.js';
import { logJob } from './job-table.js';
import type { JobTable } from './job-table.js';

/**
 * Dismiss concluded jobs kept longer than `keepConcludedMs`, and the oldest beyond
 * `keepConcluded` (their `null` events are published as for any dismissal). Returns how many.
 */
export function sweepConcluded(table: JobTable, retention: Retention, logger: Logger, now = Date.now()): number {
  const concluded = [...table.values()].filter((e) => statusOf(e.job.getSnapshot()) === JobStatus.concluded);
  const excess = concluded.length - retention.keepConcluded;
  let dismissed = 0;
  concluded.forEach((entry, i) => {
    const finishedAt = entry.job.getSnapshot().context.finishedAt ?? now;
    if (i >= excess && now - finishedAt < retention.keepConcludedMs) return;
    logJob(logger, entry, 'info', { finishedAt: new Date(finishedAt).toISOString() }, 'concluded job dismissed by retention');
    entry.job.send({ type: 'dismiss' });
    dismissed++;
  });
  return dismissed;
}
