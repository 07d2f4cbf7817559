/** `jobctl start`: start a job and print its id. Its options are shared with `call --job`. */
import type { StartOptions } from '../../sdk/index.js';
import { parseJsonObject, parseSize } from '../args.js';
import type { OptionSpec } from '../args.js';
import type { CliCommand, Context } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { printJson } from '../output.js';

export const START_OPTIONS = {
  id: { type: 'string' },
  'no-auto-finalize': { type: 'boolean' },
  'no-auto-dismiss': { type: 'boolean' },
  speed: { type: 'string' },
  description: { type: 'string' },
  'on-error': { type: 'string' },
} as const satisfies OptionSpec;

export const START_HELP: Array<[string, string]> = [
  ['--id ID', 'the job id (default: one the service makes up)'],
  ['--no-auto-finalize', 'wait in pending for `jobctl finalize ID`'],
  ['--no-auto-dismiss', 'stay concluded until `jobctl dismiss ID`'],
  ['--speed BYTES', 'speed limit per second, e.g. 10M (default: 0, unlimited)'],
  ['--description TEXT', "what the job is for (default: the type's own)"],
  ['--on-error ACTION', 'report, stop or ignore: what an I/O error does (default: report)'],
];

/** The job-start arguments of the command line: TYPE, PARAMS-JSON and the start options. */
export function startRequest(ctx: Context): { type: string; opts: StartOptions } {
  const [type, params] = ctx.args as [string, string | undefined];
  const onError = ctx.str('on-error');
  if (onError !== undefined && !['report', 'stop', 'ignore'].includes(onError)) {
    throw new CliError(`--on-error expects report, stop or ignore, not '${onError}'`, ExitCode.usage);
  }
  const speed = ctx.str('speed');
  const opts: StartOptions = {
    ...(params !== undefined && { params: parseJsonObject(params, 'PARAMS-JSON') }),
    ...(ctx.str('id') !== undefined && { id: ctx.str('id') }),
    ...(ctx.opts['no-auto-finalize'] === true && { 'auto-finalize': false }),
    ...(ctx.opts['no-auto-dismiss'] === true && { 'auto-dismiss': false }),
    ...(speed !== undefined && { speed: parseSize(speed, '--speed') }),
    ...(onError !== undefined && { 'on-error': onError as 'report' | 'stop' | 'ignore' }),
    ...(ctx.str('description') !== undefined && { description: ctx.str('description') }),
  };
  return { type, opts };
}

export const start: CliCommand = {
  name: 'start',
  summary: 'start a job and print its id',
  usage: 'jobctl start TYPE [PARAMS-JSON] [options]',
  positionals: [1, 2],
  options: { ...START_OPTIONS, json: { type: 'boolean' } },
  optionHelp: [...START_HELP, ['--json', 'print {"id": ID} instead of the bare id']],
  details: 'Returns at once; the job runs on. Follow it with `jobctl watch ID`, or use `jobctl call --job` to wait for it.',
  examples: [`jobctl start test '{"steps": 5, "step-ms": 200}' --id nightly`, `id=$(jobctl start test) && jobctl wait "$id"`],
  async run(ctx) {
    const { type, opts } = startRequest(ctx);
    const client = await ctx.client();
    const id = await client.start(type, opts);
    if (ctx.opts.json) printJson(ctx.io, { id });
    else ctx.io.out.write(`${id}\n`);
    return ExitCode.ok;
  },
};
