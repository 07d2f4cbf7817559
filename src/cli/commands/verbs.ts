/** The verbs on one job: pause, resume, cancel, complete, finalize, dismiss, set-speed. Silent on success. */
import { parseSize } from '../args.js';
import type { CliCommand, Context } from '../command.js';
import { ExitCode } from '../errors.js';

const OWNER = { owner: { type: 'string' } } as const;
const OWNER_HELP: [string, string] = ['--owner NAME', "an admin acting on another owner's job"];

function at(ctx: Context): { owner?: string } {
  const owner = ctx.str('owner');
  return owner === undefined ? {} : { owner };
}

function verb(name: string, summary: string, details: string, apply: (ctx: Context, id: string) => Promise<unknown>): CliCommand {
  return {
    name,
    summary,
    usage: `jobctl ${name} ID [--owner NAME]`,
    positionals: [1, 1],
    options: OWNER,
    optionHelp: [OWNER_HELP],
    details,
    examples: [`jobctl ${name} nightly`, `jobctl --user admin ${name} nightly --owner alice`],
    async run(ctx) {
      await apply(ctx, ctx.args[0]!);
      return ExitCode.ok;
    },
  };
}

export const verbs: CliCommand[] = [
  verb('pause', 'pause a job (running or ready)', 'The job stops at its next pause point; `jobctl resume ID` goes on.', async (ctx, id) =>
    (await ctx.client()).pause(id, at(ctx)),
  ),
  verb('resume', 'resume a job paused by `pause`', 'Refused unless the job was paused by a user.', async (ctx, id) =>
    (await ctx.client()).resume(id, at(ctx)),
  ),
  {
    ...verb('cancel', 'cancel a job', '', async (ctx, id) =>
      (await ctx.client()).cancel(id, { ...at(ctx), ...(ctx.opts.soft === true && { force: false }) }),
    ),
    usage: 'jobctl cancel ID [--soft] [--owner NAME]',
    options: { ...OWNER, soft: { type: 'boolean' } },
    optionHelp: [['--soft', 'a soft cancel: a ready job completes without its final step (QEMU force=false)'], OWNER_HELP],
    details: 'A forced cancel by default: the job stops at its next pause point and concludes with "Operation canceled".',
    examples: ['jobctl cancel nightly', 'jobctl cancel mirror1 --soft'],
  },
  verb('complete', 'complete a job that is ready', 'For jobs that converge and wait in ready (e.g. test with "ready": true).', async (ctx, id) =>
    (await ctx.client()).complete(id, at(ctx)),
  ),
  verb('finalize', 'finalize a job waiting in pending', 'For jobs started with --no-auto-finalize; finalizes its whole transaction.', async (ctx, id) =>
    (await ctx.client()).finalize(id, at(ctx)),
  ),
  verb('dismiss', 'dismiss a concluded job', 'For jobs started with --no-auto-dismiss: forget it, freeing its id.', async (ctx, id) =>
    (await ctx.client()).dismiss(id, at(ctx)),
  ),
  {
    ...verb('set-speed', "change a job's speed limit", '', async (ctx, id) => {
      const speed = parseSize(ctx.args[1]!, 'BYTES');
      return (await ctx.client()).setSpeed(id, speed, at(ctx));
    }),
    usage: 'jobctl set-speed ID BYTES [--owner NAME]',
    positionals: [2, 2],
    details: 'BYTES per second: 1048576, 512K, 10M, 1G (binary units); 0 removes the limit.',
    examples: ['jobctl set-speed backup1 10M', 'jobctl set-speed backup1 0'],
  },
];
