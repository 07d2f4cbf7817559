/**
 * What the dashboard's page knows of the job machine, read off it when the server starts: the
 * statuses, the verbs each status accepts (the machine's verb table, probed as `npm run docs`
 * probes it for docs/machines/job.md) and the statechart's SVG.
 */
import { JOB_STATUSES, JOB_VERBS, jobMachine } from '../../machines/index.js';
import { accepts } from '../docs/verbs.js';
import { statechartSvg } from './statechart.js';

export interface MachineModel {
  statuses: readonly string[];
  verbs: readonly string[];
  /** For each status, the verbs it accepts, in QEMU's verb order. */
  accepts: Record<string, string[]>;
  svg: string;
}

/**
 * The model the page gets from `/dashboard/model.json`.
 *
 * @example
 * ```ts
 * machineModel().accepts.paused; // ['cancel', 'pause', 'resume', 'set-speed']
 * ```
 */
export function machineModel(): MachineModel {
  const table: Record<string, string[]> = {};
  for (const state of Object.values(jobMachine.root.states)) {
    table[state.key] = JOB_VERBS.filter((verb) => accepts(state, verb));
  }
  return { statuses: JOB_STATUSES, verbs: JOB_VERBS, accepts: table, svg: statechartSvg(jobMachine) };
}
