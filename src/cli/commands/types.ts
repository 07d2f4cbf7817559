/** `jobctl types`: the job types the deployment runs, with their params (query-job-types). */
import { Command } from '../../protocol/subjects.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../errors.js';
import { printJson, table } from '../output.js';

/** A params schema in one line: `steps?: integer, step-ms?: integer, …`. */
function paramsLine(schema: Record<string, unknown>): string {
  const props = (schema.properties ?? {}) as Record<string, { type?: unknown }>;
  const required = new Set((schema.required ?? []) as string[]);
  const names = Object.keys(props);
  if (names.length === 0) return schema.type === 'object' && schema.properties === undefined ? '(any object)' : '(none)';
  return names.map((n) => `${n}${required.has(n) ? '' : '?'}${props[n]?.type ? `: ${String(props[n]!.type)}` : ''}`).join(', ');
}

export const types: CliCommand = {
  name: 'types',
  summary: 'list the job types the service runs, with their params',
  usage: 'jobctl types [--json]',
  positionals: [0, 0],
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', "print query-job-types' reply: each type with its params' JSON Schema"]],
  details: "Types run in the service's process (local) and on live remote workers (remote).",
  examples: ['jobctl types', "jobctl types --json | jq '.[] | select(.type == \"backup\")'"],
  async run(ctx) {
    const client = await ctx.client();
    const list = await client.request(Command.queryJobTypes, {});
    if (ctx.opts.json) printJson(ctx.io, list);
    else ctx.io.out.write(table([['TYPE', 'RUNS', 'PARAMS'], ...list.map((t) => [t.type, t.runs, paramsLine(t.params)])]));
    return ExitCode.ok;
  },
};
