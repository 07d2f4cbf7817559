/** `jobctl query`: the jobs you may see, as a table (or JSON, or bare ids). */
import { JOB_STATUSES } from '../../../machines/vocabulary.js';
import type { CliCommand } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { jobTable, printJson } from '../output.js';

export const query: CliCommand = {
  name: 'query',
  summary: 'list jobs: ID, TYPE, STATUS, PROGRESS, OWNER, DESCRIPTION',
  usage: 'jobctl query [--status S] [--type T] [--owner NAME] [--json | -q]',
  positionals: [0, 0],
  options: {
    status: { type: 'string' },
    type: { type: 'string' },
    owner: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  },
  optionHelp: [
    ['--status S', `only jobs in this status (${JOB_STATUSES.join(', ')})`],
    ['--type T', 'only jobs of this type'],
    ['--owner NAME', "only this owner's jobs (admins; '*' for everyone's, the admin default)"],
    ['--json', 'the JobInfo list as JSON'],
    ['-q, --quiet', 'only the ids, one per line'],
  ],
  details:
    'Newest first. A non-admin sees only its own jobs. STATUS shows "failed" for a job that concluded with an error. ' +
    'Every matching job is listed, however many: query-jobs is read page by page.',
  examples: ['jobctl query', 'jobctl query --status running --json', 'jobctl --user admin query --owner alice'],
  async run(ctx) {
    const status = ctx.str('status');
    if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) {
      throw new CliError(`--status expects one of: ${JOB_STATUSES.join(', ')}; not '${status}'`, ExitCode.usage);
    }
    const owner = ctx.str('owner');
    const type = ctx.str('type');
    const client = await ctx.client();
    const jobs = await client.query({
      ...(owner !== undefined && owner !== '*' && { owner }),
      ...(status !== undefined && { status }),
      ...(type !== undefined && { type }),
    });
    if (ctx.opts.json) printJson(ctx.io, jobs);
    else if (ctx.opts.quiet) ctx.io.out.write(jobs.map((j) => `${j.id}\n`).join(''));
    else ctx.io.out.write(jobTable(jobs, ctx.io.out.isTTY ? ctx.io.out.columns : undefined));
    return ExitCode.ok;
  },
};
