/**
 * QEMU's job tables as plain data, copied from `/work/shared/design/semantics.md`
 * (QEMU's JobSTT and JobVerbTable, >= 6.0). Tests compare what the machines do against them.
 */
import type { JobStatus, JobVerb } from '../../machines/index.js';

/** QEMU's JobSTT: for each status, the statuses it may move to. */
export const TRANSITIONS: Record<JobStatus, JobStatus[]> = {
  undefined: ['created'],
  created: ['running', 'aborting', 'null'],
  running: ['paused', 'ready', 'waiting', 'aborting'],
  paused: ['running'],
  ready: ['standby', 'waiting', 'aborting'],
  standby: ['ready'],
  waiting: ['pending', 'aborting'],
  pending: ['aborting', 'concluded'],
  aborting: ['aborting', 'concluded'],
  concluded: ['null'],
  null: [],
};

/** QEMU's JobVerbTable: for each status, the verbs that pass the table. */
export const VERBS_ACCEPTED: Record<JobStatus, JobVerb[]> = {
  undefined: [],
  created: ['cancel', 'pause', 'resume', 'set-speed'],
  running: ['cancel', 'pause', 'resume', 'set-speed'],
  paused: ['cancel', 'pause', 'resume', 'set-speed'],
  ready: ['cancel', 'pause', 'resume', 'set-speed', 'complete'],
  standby: ['cancel', 'pause', 'resume', 'set-speed', 'complete'],
  waiting: ['cancel'],
  pending: ['cancel', 'finalize'],
  aborting: [],
  concluded: ['dismiss'],
  null: [],
};
