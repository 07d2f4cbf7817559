/** `jobctl download ID [-o FILE]`: a job's output, while it runs or after it concluded. */
import type { CliCommand } from '../command.js';
import { ExitCode } from '../errors.js';
import { say, hexDigest } from '../output.js';
import { download as downloadTo } from '../pipes.js';
import { formatBytes } from '../progress.js';

export const download: CliCommand = {
  name: 'download',
  summary: "download a job's output (its pipe:output)",
  usage: 'jobctl download ID [-o FILE]',
  positionals: [1, 1],
  options: { output: { type: 'string', short: 'o' } },
  optionHelp: [['-o, --output FILE', 'where the output goes (default: stdout); FILE appears only once all of it arrived, its SHA-256 checked']],
  details: [
    "The output of one of your jobs that writes to its output pipe, read while the job runs or after it",
    "concluded, until the service's retention time (JOBS_PIPE_RETENTION_MS) has passed. Exit 1 with the",
    "job's error if it failed or was cancelled: a failed job never gives an empty download.",
  ].join('\n'),
  examples: ["jobctl start backup '{\"source\": \"a.img\", \"target\": \"pipe:output\"}' --id dl && jobctl download dl -o a-copy.img"],
  async run(ctx) {
    const output = ctx.str('output') ?? '-';
    const client = await ctx.client();
    const got = await downloadTo(client, ctx.args[0]!, output);
    if (output !== '-') say(ctx.io, `wrote ${output}: ${formatBytes(got.size)}, ${hexDigest(got.digest)} checked`);
    return ExitCode.ok;
  },
};
