/** What the worker directory keeps of one live worker, and what it reads off it. */
import type { HeartbeatInfo } from '../../protocol/worker.js';
import type { RemoteJob, WorkerRef } from './remote-job.js';

export interface WorkerEntry extends WorkerRef {
  info: HeartbeatInfo;
  /** Hooks by type. */
  types: Map<string, ReadonlySet<string>>;
  seen: number;
  /** This service's jobs on the worker, until their work is stopped. */
  readonly jobs: Set<RemoteJob>;
  dispatched: number;
}

/** What the worker directory's `list()` shows of a worker. */
export interface WorkerSummary {
  id: string;
  types: string[];
  capacity: number;
  load: number;
  closing: boolean;
}

const NO_HOOKS: ReadonlySet<string> = new Set();

/** A worker first heard from: its types, seen and jobs are filled in by the directory. */
export function newWorkerEntry(beat: HeartbeatInfo): WorkerEntry {
  const created: WorkerEntry = {
    id: beat.worker,
    info: beat,
    types: new Map(),
    seen: 0,
    jobs: new Set(),
    dispatched: 0,
    hooks: (type) => hooksOf(created, type),
  };
  return created;
}

/** The finalize hooks `worker` announced for `type`; none when it is not known (yet). */
export function hooksOf(worker: WorkerEntry | undefined, type: string): ReadonlySet<string> {
  return worker?.types.get(type) ?? NO_HOOKS;
}

/** Jobs given to `worker` whose work has not ended: its own count, or what it reported if more. */
export function busy(worker: WorkerEntry): number {
  let mine = 0;
  for (const job of worker.jobs) if (!job.settled) mine++;
  return Math.max(mine, worker.info.load);
}

export function summary(w: WorkerEntry): WorkerSummary {
  return {
    id: w.id,
    types: [...w.types.keys()],
    capacity: w.info.capacity,
    load: busy(w),
    closing: w.info.closing,
  };
}
