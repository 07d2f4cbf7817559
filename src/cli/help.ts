/** The texts of `jobctl --help` and `jobctl COMMAND --help`. */
import { GLOBAL_HELP } from './args.js';
import type { CliCommand } from './command.js';
import { EXIT_HELP } from './errors.js';

function list(rows: ReadonlyArray<readonly [string, string]>, indent = 2): string {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${' '.repeat(indent)}${a.padEnd(width)}  ${b}`).join('\n');
}

export function overview(commands: readonly CliCommand[]): string {
  return `jobctl: start, follow and steer jobstate jobs over NATS

Usage: jobctl [global options] COMMAND [arguments] [options]

Commands:
${list(commands.map((c) => [c.name, c.summary]))}

Global options (before or after the command):
${list(GLOBAL_HELP)}

Exit codes:
${list(EXIT_HELP)}

Results go to stdout, progress and messages to stderr. 'jobctl COMMAND --help' shows a
command's options and examples; docs/cli.md has the whole manual.

Examples:
  jobctl call --job test '{"steps": 5, "step-ms": 200}'
  jobctl query --status running
  jobctl watch
`;
}

export function commandHelp(c: CliCommand): string {
  const parts = [`Usage: ${c.usage}`, '', c.summary.charAt(0).toUpperCase() + c.summary.slice(1) + '.'];
  if (c.details) parts.push('', c.details);
  if (c.optionHelp?.length) parts.push('', 'Options:', list(c.optionHelp));
  parts.push('', 'Global options: --server, --user, --password, --creds, --prefix, --timeout (see jobctl --help).');
  parts.push('', c.examples.length > 1 ? 'Examples:' : 'Example:', ...c.examples.map((e) => `  ${e}`));
  return `${parts.join('\n')}\n`;
}
