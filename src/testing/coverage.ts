/**
 * What a replay covered, counted over the steps that matched: the statuses published, the
 * verb × status pairs tried (status = the job's when the verb was sent), and QEMU's
 * transitions taken; and the summary a person or CI reads.
 */
import { JOB_STATUSES, JOB_VERBS, JobEventName, JobStatus } from '../../machines/index.js';
import type { JobVerb } from '../../machines/index.js';
import { TRANSITIONS } from './qemu-tables.js';
import type { PathResult } from './replay.js';

export interface Coverage {
  paths: { total: number; passed: number; failed: number };
  steps: number;
  statuses: { reached: JobStatus[]; of: number };
  pairs: { tried: string[]; of: number };
  transitions: { taken: string[]; of: number };
}

const VERB_OF_COMMAND: Record<string, JobVerb> = {
  'job-cancel': 'cancel',
  'job-pause': 'pause',
  'job-resume': 'resume',
  'job-set-speed': 'set-speed',
  'job-complete': 'complete',
  'job-finalize': 'finalize',
  'job-dismiss': 'dismiss',
};

const TABLE = JOB_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}>${to}`));

export function coverageOf(results: readonly PathResult[]): Coverage {
  const statuses = new Set<JobStatus>();
  const pairs = new Set<string>();
  const transitions = new Set<string>();
  let steps = 0;
  for (const { path, passed } of results) {
    const last = new Map<string, JobStatus>(path.jobs.map((id) => [id, JobStatus.undefined]));
    for (const step of path.steps.slice(0, passed)) {
      steps++;
      const verb = VERB_OF_COMMAND[step.command];
      if (verb && step.before) pairs.add(`${step.before}>${verb}`);
      for (const e of step.events) {
        if (e.event !== JobEventName.statusChange) continue;
        const status = e.data.status as JobStatus;
        statuses.add(status);
        transitions.add(`${last.get(e.id)}>${status}`);
        last.set(e.id, status);
      }
    }
  }
  const failed = results.filter((r) => r.mismatch).length;
  return {
    paths: { total: results.length, passed: results.length - failed, failed },
    steps,
    statuses: { reached: JOB_STATUSES.filter((s) => statuses.has(s)), of: JOB_STATUSES.length },
    pairs: { tried: [...pairs].sort(), of: JOB_STATUSES.length * JOB_VERBS.length },
    transitions: { taken: TABLE.filter((t) => transitions.has(t)), of: TABLE.length },
  };
}

/** The coverage as lines of text, ending with the summary line `N passed, M failed`. */
export function formatCoverage(c: Coverage, ms?: number): string {
  const missing = <T>(all: readonly T[], got: readonly T[]) => all.filter((x) => !got.includes(x));
  const never = missing(JOB_STATUSES, c.statuses.reached);
  const untaken = missing(TABLE, c.transitions.taken);
  const lines = [
    `statuses reached: ${c.statuses.reached.length}/${c.statuses.of}${never.length ? ` (not: ${never.join(', ')})` : ''}`,
    `verb × status pairs tried: ${c.pairs.tried.length}/${c.pairs.of} (a verb can be sent in a status a job rests in; never in undefined, created, aborting)`,
    `QEMU transitions taken: ${c.transitions.taken.length}/${c.transitions.of}${untaken.length ? ` (not: ${untaken.map((t) => t.replace('>', '→')).join(', ')})` : ''}`,
    `${c.paths.passed} passed, ${c.paths.failed} failed (${c.paths.total} paths, ${c.steps} steps${ms === undefined ? '' : `, ${(ms / 1000).toFixed(1)} s`})`,
  ];
  return lines.join('\n');
}
