/**
 * `--input FILE` (repeatable) and `--output FILE` of `jobctl call --job`: the files are checked
 * before the job starts, announced in job-start's `pipes`, uploaded in order once it runs, and
 * the output streamed into a file next to FILE that takes FILE's name only once the whole
 * output arrived with its digest checked (`-`: stdout). Memory stays bounded: chunks, no files.
 */
import { createReadStream, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { PipesArg } from '../protocol/schemas.js';
import type { JobsClient, Transferred } from '../sdk/index.js';
import { CliError, ExitCode } from './errors.js';

export const PIPE_OPTIONS = {
  input: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
} as const;

export const PIPE_HELP: Array<[string, string]> = [
  ['--input FILE', "upload FILE into the job's input pipe (\"source\": \"pipe:input\"); repeat for several, read in order"],
  ['-o, --output FILE', "stream the job's output pipe (\"target\": \"pipe:output\") into FILE as it runs; - for stdout"],
];

export interface PipeFiles {
  /** job-start's `pipes`. */
  arg: PipesArg;
  /** The output goes to stdout: the result is then not printed. */
  toStdout: boolean;
  /** Upload the inputs and download the output of job `id`; resolves to what was written, rejects with the first failure. */
  transfer(client: JobsClient, id: string): Promise<Transferred | undefined>;
}

/** The pipes the command line asks for, or undefined; usage errors for unreadable inputs. */
export function pipeFiles(inputs: readonly string[] | undefined, output: string | undefined): PipeFiles | undefined {
  if (!inputs?.length && output === undefined) return undefined;
  const files = (inputs ?? []).map((path) => {
    try {
      const stats = statSync(path);
      if (!stats.isFile()) throw new Error('not a regular file');
      return { path, size: stats.size };
    } catch (err) {
      throw new CliError(`cannot read --input ${path}: ${(err as Error).message}`, ExitCode.usage);
    }
  });
  const arg: PipesArg = {
    ...(files.length > 0 && { inputs: files.map((f) => ({ name: basename(f.path).slice(0, 255) || 'input', size: f.size })) }),
    ...(output !== undefined && { output: 'stream' as const }),
  };
  return {
    arg,
    toStdout: output === '-',
    transfer: async (client, id) => {
      const downloading = output === undefined ? undefined : download(client, id, output);
      // Not awaited before the uploads end: its rejection must not go unhandled meanwhile.
      downloading?.catch(() => undefined);
      for (const [index, file] of files.entries()) await client.upload(id, index, createReadStream(file.path, { highWaterMark: 512 * 1024 }));
      return downloading;
    },
  };
}

/** Download job `id`'s output into the file `output` (complete or not at all), or stdout for `-`. */
export async function download(client: JobsClient, id: string, output: string): Promise<Transferred> {
  if (output === '-') return client.download(id, process.stdout);
  const part = join(dirname(output), `.${basename(output)}.jobctl-${id}.part`);
  const file = await open(part, 'w');
  try {
    const got = await client.download(id, async (chunk) => void (await file.write(chunk)));
    await file.close();
    await rename(part, output);
    return got;
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(part, { force: true });
    throw err;
  }
}
