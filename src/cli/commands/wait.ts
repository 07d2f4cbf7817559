/** `jobctl wait` (the final JobInfo) and `jobctl logs` (the job's own log, downloaded whole). */
import { Command } from '../../protocol/subjects.js';
import { logFromExcerpt } from '../../runtime/job-log.js';
import { JobsError, PipeError } from '../../sdk/index.js';
import { parseInteger } from '../args.js';
import type { CliCommand } from '../command.js';
import { ExitCode } from '../errors.js';
import { printJson, say } from '../output.js';

/** QEMU's error text of a cancelled job (ECANCELED). */
const CANCELED = 'Operation canceled';

export const wait: CliCommand = {
  name: 'wait',
  summary: 'wait until a job concludes and print its final JobInfo',
  usage: 'jobctl wait ID [--timeout MS] [--owner NAME]',
  positionals: [1, 1],
  options: { owner: { type: 'string' } },
  optionHelp: [
    ['--timeout MS', 'give up after MS milliseconds (exit 1, "Timed out waiting for job"); default: wait as long as it takes'],
    ['--owner NAME', "an admin waiting for another owner's job"],
  ],
  details: 'Prints the JobInfo as JSON on stdout; exit 0 if the job succeeded, 1 if it failed or was cancelled.\nAlso works shortly after the job was dismissed.',
  examples: ['jobctl wait nightly', 'jobctl wait nightly --timeout 60000 | jq .result'],
  async run(ctx) {
    const timeout = ctx.str('timeout');
    const owner = ctx.str('owner');
    const timeoutMs = timeout === undefined ? undefined : parseInteger(timeout, '--timeout');
    const client = await ctx.client();
    const info = await client.wait(ctx.args[0]!, { ...(owner !== undefined && { owner }), ...(timeoutMs !== undefined && { timeoutMs }) });
    printJson(ctx.io, info);
    if (info.error === undefined) return ExitCode.ok;
    say(ctx.io, info.error === CANCELED ? `job '${info.id}' was cancelled` : `job '${info.id}' failed: ${info.error}`);
    return ExitCode.failed;
  },
};

export const logs: CliCommand = {
  name: 'logs',
  summary: "download a job's whole log",
  usage: 'jobctl logs ID [--owner NAME] [--json]',
  positionals: [1, 1],
  options: { owner: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--owner NAME', "an admin reading another owner's job (its log as the service keeps it in memory)"],
    ['--json', 'print {"lines": [...], "count": N} as job-log returns it (the lines kept in memory)'],
  ],
  details: [
    'Every line the job wrote with job.log, downloaded from its log pipe: the whole log, however long,',
    "while the job runs (as far as it got) and after it concluded, until the service's retention time",
    '(JOBS_PIPE_RETENTION_MS) has passed; a concluded log is checked against its SHA-256. A job that',
    'wrote nothing there yet is answered by job-log (its lines in memory; just after a dismissal, its',
    "final JobInfo's logs-excerpt); a job without log lines is said so on stderr (exit 0).",
  ].join('\n'),
  examples: ['jobctl logs nightly', 'jobctl logs nightly | grep ERROR'],
  async run(ctx) {
    const owner = ctx.str('owner');
    const client = await ctx.client();
    const id = ctx.args[0]!;
    if (!ctx.opts.json && (owner === undefined || owner === client.user)) {
      const decoder = new TextDecoder();
      const got = await client
        .downloadLog(id, (chunk) => void ctx.io.out.write(decoder.decode(chunk, { stream: true })))
        .catch((err: unknown) => {
          // No log pipe (the job wrote nothing there, or there is no such job): job-log tells
          // which, also for a job dismissed a moment ago.
          if (err instanceof PipeError) return undefined;
          throw err;
        });
      ctx.io.out.write(decoder.decode());
      if (got && got.size > 0) return ExitCode.ok;
    }
    const log = await client.request(Command.jobLog, { id, ...(owner !== undefined && { owner }) }).catch(async (err: unknown) => {
      if (!(err instanceof JobsError) || err.message !== 'Job not found') throw err;
      // Dismissed a moment ago (job-log answers only for live jobs): job-wait still has its final
      // JobInfo, whose logs-excerpt is what is left of the log; else the job-log error stands.
      const info = await client.wait(id, { ...(owner !== undefined && { owner }), timeoutMs: 1000 }).catch(() => undefined);
      if (!info) throw err;
      return logFromExcerpt(info['logs-excerpt']);
    });
    if (ctx.opts.json) {
      printJson(ctx.io, log);
      return ExitCode.ok;
    }
    ctx.io.out.write(log.lines.map((line) => `${line}\n`).join(''));
    if (log.count === 0) say(ctx.io, `job '${id}' has not written any log lines`);
    else if (log.count > log.lines.length) say(ctx.io, `the job wrote ${log.count} lines; ${log.count - log.lines.length} after the first 10 are no longer kept`);
    return ExitCode.ok;
  },
};
