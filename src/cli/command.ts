/**
 * What a jobctl subcommand is (its options, help and run function) and what it gets to run:
 * its arguments, the settings, a client on first use, and the streams.
 */
import { readFileSync } from 'node:fs';
import { credsAuthenticator } from '@nats-io/transport-node';
import { JobsClient } from '../sdk/index.js';
import type { OptionSpec, Settings, Values } from './args.js';
import { toCliError, unreachable } from './errors.js';
import { CliError, ExitCode } from './errors.js';
import type { Io } from './output.js';

export interface CliCommand {
  name: string;
  /** One line for `jobctl --help`. */
  summary: string;
  /** `jobctl start TYPE [PARAMS-JSON] [options]` */
  usage: string;
  /** How many positional arguments it takes. */
  positionals: [min: number, max: number];
  options?: OptionSpec;
  optionHelp?: Array<[string, string]>;
  /** More text for `--help`. */
  details?: string;
  examples: string[];
  run(ctx: Context): Promise<number>;
}

export interface Context {
  args: string[];
  opts: Values;
  settings: Settings;
  io: Io;
  /** Connect (once) as the configured user. */
  client(): Promise<JobsClient>;
  /** The string value of an option, if given. */
  str(name: string): string | undefined;
}

export function makeContext(args: string[], opts: Values, settings: Settings, io: Io): Context & { close(): Promise<void> } {
  let client: Promise<JobsClient> | undefined;
  return {
    args,
    opts,
    settings,
    io,
    str: (name) => (typeof opts[name] === 'string' ? (opts[name] as string) : undefined),
    client: () => (client ??= connectClient(settings)),
    close: async () => {
      const c = await client?.catch(() => undefined);
      await c?.close().catch(() => undefined);
    },
  };
}

async function connectClient(settings: Settings): Promise<JobsClient> {
  const user = settings.user();
  let authenticator;
  if (settings.creds !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(settings.creds);
    } catch (err) {
      throw new CliError(`cannot read the creds file ${settings.creds}: ${(err as Error).message}`, ExitCode.usage);
    }
    authenticator = credsAuthenticator(creds);
  }
  try {
    return await JobsClient.connect({
      servers: settings.server,
      user,
      prefix: settings.prefix,
      timeoutMs: settings.timeoutMs,
      ...(settings.password !== undefined && { pass: settings.password }),
      connection: {
        timeout: Math.min(settings.timeoutMs, 5000),
        name: `jobctl-${user}`,
        ...(authenticator && { authenticator }),
      },
    });
  } catch (err) {
    const cli = toCliError(err, settings);
    // Anything but credentials and permissions, while connecting, means: not reachable.
    throw cli.exitCode === ExitCode.denied || cli.exitCode === ExitCode.usage ? cli : unreachable(settings);
  }
}
