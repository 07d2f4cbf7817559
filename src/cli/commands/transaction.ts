/** `jobctl transaction FILE.json`: start several jobs at once, optionally grouped. */
import { readFileSync } from 'node:fs';
import type { TransactionArgs } from '../../protocol/schemas.js';
import { Command } from '../../protocol/subjects.js';
import type { CliCommand } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { printJson } from '../output.js';

export const transaction: CliCommand = {
  name: 'transaction',
  summary: 'start several jobs at once from a JSON file (grouped: all succeed or all fail)',
  usage: 'jobctl transaction FILE.json [--grouped] [--json]',
  positionals: [1, 1],
  options: { grouped: { type: 'boolean' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--grouped', 'completion-mode grouped: the jobs succeed or fail together'],
    ['--json', 'print {"jobs": [...]} instead of one id per line'],
  ],
  details: [
    'FILE.json (or - for stdin) holds either an array of job-start argument objects,',
    '  [{"type": "test", "id": "a"}, {"type": "test", "id": "b", "params": {"steps": 3}}]',
    'or the transaction command\'s own arguments,',
    '  {"actions": [...], "properties": {"completion-mode": "grouped"}}',
    'Prints the ids of the jobs started, in order.',
  ].join('\n'),
  examples: ['jobctl transaction backups.json --grouped', `echo '[{"type":"test"},{"type":"test"}]' | jobctl transaction -`],
  async run(ctx) {
    const file = ctx.args[0]!;
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${file}: ${(err as Error).message}`, ExitCode.usage);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, ExitCode.usage);
    }
    const args = transactionArgs(body, file, ctx.opts.grouped === true);
    const client = await ctx.client();
    const ids = (await client.request(Command.transaction, args)).jobs;
    if (ctx.opts.json) printJson(ctx.io, { jobs: ids });
    else ctx.io.out.write(ids.map((id) => `${id}\n`).join(''));
    return ExitCode.ok;
  },
};

/** The arguments of the transaction command from a file's content; the service checks the rest. */
export function transactionArgs(body: unknown, file: string, grouped: boolean): TransactionArgs {
  let args: TransactionArgs;
  if (Array.isArray(body)) args = { actions: body };
  else if (typeof body === 'object' && body !== null && Array.isArray((body as { actions?: unknown }).actions)) args = body as TransactionArgs;
  else throw new CliError(`${file} must hold an array of job-start arguments, or {"actions": [...], "properties": {...}}`, ExitCode.usage);
  return grouped ? { ...args, properties: { ...args.properties, 'completion-mode': 'grouped' } } : args;
}
