/** Every jobctl subcommand, in the order `jobctl --help` lists them. */
import type { CliCommand } from '../command.js';
import { call } from './call.js';
import { completion } from './completion.js';
import { download } from './download.js';
import { query } from './query.js';
import { selftest } from './selftest.js';
import { serve, worker } from './serve.js';
import { start } from './start.js';
import { transaction } from './transaction.js';
import { types } from './types.js';
import { verbs } from './verbs.js';
import { logs, wait } from './wait.js';
import { watch } from './watch.js';

export const COMMAND_LIST: readonly CliCommand[] = [
  start,
  call,
  query,
  types,
  ...verbs,
  wait,
  logs,
  download,
  watch,
  transaction,
  selftest,
  serve,
  worker,
  completion(() => COMMAND_LIST),
];

export function findCliCommand(name: string): CliCommand | undefined {
  return COMMAND_LIST.find((c) => c.name === name);
}
