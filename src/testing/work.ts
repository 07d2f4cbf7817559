/**
 * What a job's work does, as a test over the wire sees it: one of four behaviours chosen by
 * the params a job is started with, and the job machine with its work played by that
 * behaviour. The machine is the exported `jobMachine`; only its `startWork` and `tellWork`
 * effects are provided, to record what the work has been told (in `context.work`), so that
 * the report the work owes next ({@link dueReport}) follows from the snapshot alone.
 */
import { CANCELED_ERROR, jobMachine, JobStatus, statusOf } from '../../machines/index.js';
import type { JobSnapshot, WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import { assignExtra } from './model-context.js';

/**
 * How a job's work behaves, by the params it was started with:
 * - `done`: ends successfully by itself, soon (a short run);
 * - `hold`: keeps running until it is cancelled (force): then it stops at once;
 * - `ready`: reaches `ready` by itself, soon, then waits for job-complete (or a soft cancel)
 *   and then ends successfully, soon; paused (standby), it ends only once resumed;
 * - `fail`: fails by itself, soon.
 *
 * Whatever the behaviour, a force-cancelled work stops soon, and paused work reports nothing
 * until it is resumed.
 */
export const WorkBehaviour = { done: 'done', hold: 'hold', ready: 'ready', fail: 'fail' } as const;
export type WorkBehaviour = (typeof WorkBehaviour)[keyof typeof WorkBehaviour];
export const WORK_BEHAVIOURS = Object.values(WorkBehaviour) as readonly WorkBehaviour[];

/** What the work of a job has been told so far (kept in the model's context as `work`). */
export interface WorkKnowledge {
  paused: boolean;
  told: 'none' | 'complete' | 'soft' | 'force';
}

const knowledge = (snapshot: JobSnapshot): WorkKnowledge | undefined =>
  (snapshot.context as { work?: WorkKnowledge }).work;

function told(work: WorkKnowledge, command: WorkCommand): WorkKnowledge {
  switch (command.type) {
    case 'pause':
      return { ...work, paused: true };
    case 'resume':
      return { ...work, paused: false };
    case 'complete':
      return work.told === 'none' ? { ...work, told: 'complete' } : work;
    case 'cancel':
      return { ...work, told: command.force ? 'force' : work.told === 'none' ? 'soft' : work.told };
    case 'set-speed':
      return work;
  }
}

/**
 * The job machine whose work is played by the model: `startWork` and `tellWork` record what
 * the work knows. Nothing else changes (the real `prepare`, `commit`… defaults stay).
 */
export const wireJobMachine = jobMachine.provide({
  actions: {
    startWork: assignExtra('work', (_: WorkKnowledge | undefined, input: WorkInput): WorkKnowledge => ({ paused: input.paused, told: 'none' })),
    tellWork: assignExtra('work', (work: WorkKnowledge | undefined, command: WorkCommand) => (work ? told(work, command) : undefined)),
  },
});

/**
 * The report the work of `snapshot` owes next with `behaviour`, if any: what a live job of
 * that behaviour sends soon, by itself. `error` is what a failing work fails with.
 */
export function dueReport(snapshot: JobSnapshot, behaviour: WorkBehaviour, error: string): WorkReport | undefined {
  const c = snapshot.context;
  const work = knowledge(snapshot);
  const status = statusOf(snapshot);
  if (!work || c.startedAt === undefined || c.outcome !== undefined) return undefined;
  if (status === JobStatus.concluded || status === JobStatus.null) return undefined;
  if (work.told === 'force') return { type: 'work.failed', error: CANCELED_ERROR };
  if (work.paused) return undefined;
  switch (behaviour) {
    case WorkBehaviour.done:
      return { type: 'work.done' };
    case WorkBehaviour.fail:
      return { type: 'work.failed', error };
    case WorkBehaviour.hold:
      return undefined;
    case WorkBehaviour.ready:
      if (!c.converged) return { type: 'work.ready' };
      return work.told === 'none' ? undefined : { type: 'work.done' };
  }
}

/** The work's knowledge, for the model's abstract state. */
export function workKey(snapshot: JobSnapshot): string {
  const work = knowledge(snapshot);
  return work ? `work=${work.paused ? 'paused' : 'going'}/${work.told}` : 'work=none';
}
