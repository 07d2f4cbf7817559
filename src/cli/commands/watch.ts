/** `jobctl watch [ID]`: live job events, one readable line each (or JSON lines). */
import { JOB_EVENT_NAMES } from '../../../machines/vocabulary.js';
import type { JobEventName } from '../../../machines/vocabulary.js';
import { subjects } from '../../protocol/subjects.js';
import type { CliCommand } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { eventLine, say } from '../output.js';

export const watch: CliCommand = {
  name: 'watch',
  summary: 'print job events as they happen',
  usage: 'jobctl watch [ID] [--owner NAME|*] [--event NAME] [--json]',
  positionals: [0, 1],
  options: { owner: { type: 'string' }, event: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--owner NAME', "another owner's events (admins); '*' for every owner's"],
    ['--event NAME', `only this event (${JOB_EVENT_NAMES.join(', ')})`],
    ['--json', 'each event envelope as one JSON line'],
  ],
  details: [
    'One line per event: `12:00:01.123 alice/j1 JOB_STATUS_CHANGE running` (local time of the event).',
    'Runs until Ctrl-C; with ID, ends when that job reaches status null (dismissed).',
    'The subject watched is printed on stderr once the subscription is in place.',
  ].join('\n'),
  examples: ['jobctl watch', 'jobctl watch nightly', 'jobctl --user admin watch --owner "*" --json | jq .event'],
  async run(ctx) {
    const id = ctx.args[0];
    const event = ctx.str('event');
    if (event !== undefined && !(JOB_EVENT_NAMES as readonly string[]).includes(event)) {
      throw new CliError(`--event expects one of: ${JOB_EVENT_NAMES.join(', ')}; not '${event}'`, ExitCode.usage);
    }
    const owner = ctx.str('owner');
    const client = await ctx.client();
    const filter = {
      owner: owner ?? client.user,
      ...(id !== undefined && { id }),
      ...(event !== undefined && { event: event as JobEventName }),
    };
    const stream = client.events(filter);
    const stop = () => stream.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await stream.ready;
      say(ctx.io, `watching ${subjects.events(client.prefix, filter)} (Ctrl-C to stop)`);
      for await (const e of stream) {
        ctx.io.out.write(ctx.opts.json ? `${JSON.stringify(e)}\n` : `${eventLine(e)}\n`);
        if (id !== undefined && e.event === 'JOB_STATUS_CHANGE' && e.data.status === 'null') break;
      }
      return ExitCode.ok;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      stream.close();
    }
  },
};
