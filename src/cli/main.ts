#!/usr/bin/env node
/**
 * jobctl: the command line of jobstate. Finds the subcommand, parses its options with the
 * global ones, runs it, and turns every failure into one line on stderr and an exit code.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, findCommand, resolveSettings } from './args.js';
import type { Values } from './args.js';
import { makeContext } from './command.js';
import { COMMAND_LIST, findCliCommand } from './commands/index.js';
import { CliError, ExitCode, toCliError } from './errors.js';
import { commandHelp, overview } from './help.js';
import { processIo, say } from './output.js';
import type { Io } from './output.js';

async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const { name, rest } = findCommand(argv);
  if (name === undefined || name === 'help') {
    if (rest.includes('--version')) {
      io.out.write(`${version()}\n`);
      return ExitCode.ok;
    }
    const topic = name === 'help' ? rest.find((a) => !a.startsWith('-')) : undefined;
    const command = topic === undefined ? undefined : findCliCommand(topic);
    if (topic !== undefined && !command) return usageError(io, `unknown command '${topic}'`);
    const asked = name === 'help' || rest.includes('--help') || rest.includes('-h');
    (asked ? io.out : io.err).write(command ? commandHelp(command) : overview(COMMAND_LIST));
    return asked ? ExitCode.ok : ExitCode.usage;
  }
  const command = findCliCommand(name);
  if (!command) return usageError(io, `unknown command '${name}'${suggest(name)}`);

  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true }));
  } catch (err) {
    // node's texts run long ("To specify a positional argument starting with a '-' …"): keep the first sentence.
    const text = (err as Error).message.replace(/^(Unknown option '[^']*')\..*$/s, '$1');
    return usageError(io, text.charAt(0).toLowerCase() + text.slice(1), command.name);
  }
  if (values.help) {
    io.out.write(commandHelp(command));
    return ExitCode.ok;
  }
  const [min, max] = command.positionals;
  if (positionals.length < min || positionals.length > max) {
    const what = positionals.length < min ? 'missing arguments' : `unexpected argument '${positionals[max]}'`;
    return usageError(io, `${what}; usage: ${command.usage}`, command.name);
  }

  let settings;
  try {
    settings = resolveSettings(values);
  } catch (err) {
    say(io, (err as Error).message);
    return err instanceof CliError ? err.exitCode : ExitCode.usage;
  }
  const ctx = makeContext(positionals, values, settings, io);
  try {
    return await command.run(ctx);
  } catch (err) {
    const failure = toCliError(err, settings);
    if (process.env.JOBCTL_DEBUG) io.err.write(`${(err as Error)?.stack ?? String(err)}\n`);
    say(io, failure.message);
    return failure.exitCode;
  } finally {
    await ctx.close();
  }
}

function usageError(io: Io, message: string, command?: string): number {
  say(io, message);
  io.err.write(`Try 'jobctl ${command ? `${command} ` : ''}--help'.\n`);
  return ExitCode.usage;
}

function suggest(name: string): string {
  const close = COMMAND_LIST.find((c) => distance(c.name, name) <= 2 || (name.length >= 3 && c.name.startsWith(name)));
  return close ? `; did you mean '${close.name}'?` : '';
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `jobctl ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'jobctl';
  }
}

// A reader that goes away (`jobctl watch | head`) ends jobctl quietly.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(ExitCode.ok);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
