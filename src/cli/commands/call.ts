/**
 * `jobctl call --job TYPE [PARAMS-JSON]`, midclt's contract: start the job, show its progress
 * on stderr until it concludes, print its result as JSON on stdout; exit 1 with the error on
 * stderr if it fails or is cancelled. Ctrl-C cancels the job (or, with --detach, leaves it
 * running and prints its id). Without --job: send one command and print what it returns.
 */
import type { EventEnvelope, JobInfo } from '../../protocol/schemas.js';
import { COMMANDS } from '../../protocol/subjects.js';
import type { Command } from '../../protocol/subjects.js';
import type { CommandArgs, JobsClient } from '../../sdk/index.js';
import { parseJsonObject } from '../args.js';
import type { CliCommand, Context } from '../command.js';
import { CliError, ExitCode, toCliError } from '../errors.js';
import { printJson, say, hexDigest } from '../output.js';
import { ProgressView } from '../progress.js';
import type { JobProgress } from '../progress.js';
import { START_HELP, START_OPTIONS, startRequest } from './start.js';
import { PIPE_HELP, PIPE_OPTIONS, pipeFiles } from '../pipes.js';
import { formatBytes } from '../progress.js';

export const call: CliCommand = {
  name: 'call',
  summary: 'run a job to its end, with progress, and print its result (midclt call --job)',
  usage: 'jobctl call --job TYPE [PARAMS-JSON] [options]\n       jobctl call COMMAND [ARGS-JSON]',
  positionals: [1, 2],
  options: { job: { type: 'boolean' }, detach: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, ...START_OPTIONS, ...PIPE_OPTIONS },
  optionHelp: [
    ['--job', 'TYPE is a job type: start it and follow it to its end'],
    ['--detach', 'on Ctrl-C, leave the job running and print its id (default: cancel it)'],
    ['-q, --quiet', 'no progress on stderr'],
    ...START_HELP,
    ...PIPE_HELP,
  ],
  details: [
    'With --job: progress goes to stderr (a bar on a terminal, `Status:` / `Total Progress:` lines',
    'otherwise), the result goes to stdout as JSON. Exit 0 on success; 1 if the job fails or is',
    'cancelled, with its error on stderr. Ctrl-C cancels the job and waits for it to end; a second',
    'Ctrl-C stops waiting (exit 130).',
    'Without --job: COMMAND is a protocol command (query-jobs, job-pause, …) and ARGS-JSON its',
    'arguments; prints its return value as JSON.',
    'Pipes: --input uploads files into the job as it reads them, --output writes its output as it',
    'comes; the output file appears only once all of it arrived with its SHA-256 checked, and a job',
    'that fails leaves none (docs/protocol.md, Pipes).',
  ].join('\n'),
  examples: [
    `jobctl call --job test '{"steps": 5, "step-ms": 200, "result": {"ok": true}}'`,
    `jobctl call --job test '{"steps": 50}' --detach   # Ctrl-C leaves it running`,
    `jobctl call --job backup '{"source": "pipe:input", "target": "a.img"}' --input ./a.img`,
    `jobctl call --job backup '{"source": "a.img", "target": "pipe:output"}' --output ./out.img`,
    `jobctl call query-jobs '{"status": "running"}'`,
  ],
  run: (ctx) => (ctx.opts.job ? callJob(ctx) : callCommand(ctx)),
};

async function callCommand(ctx: Context): Promise<number> {
  const [command, args] = ctx.args as [string, string | undefined];
  if (!COMMANDS.includes(command as Command)) {
    throw new CliError(`'${command}' is not a command (${COMMANDS.join(', ')}); to run a job, use 'jobctl call --job ${command}'`, ExitCode.usage);
  }
  const client = await ctx.client();
  const payload = args === undefined ? {} : parseJsonObject(args, 'ARGS-JSON');
  // Raw arguments: the service validates them and says what is wrong.
  const result = await client.request(command as Command, payload as CommandArgs<Command>);
  printJson(ctx.io, result);
  return ExitCode.ok;
}

/** The values of an option given any number of times (parseArgs' `multiple`: an array). */
function listOption(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}

type Outcome = { kind: 'done'; info: JobInfo } | { kind: 'detached' } | { kind: 'abandoned' };

async function callJob(ctx: Context): Promise<number> {
  const { type, opts } = startRequest(ctx);
  const pipes = pipeFiles(listOption(ctx.opts.input), ctx.str('output'));
  if (pipes) opts.pipes = pipes.arg;
  const client = await ctx.client();
  const { io } = ctx;

  // Subscribe before starting, so that no event is missed; until the id is known, keep them.
  const stream = client.events(opts.id !== undefined ? { id: opts.id } : {});
  const early: EventEnvelope[] = [];
  let view: ProgressView | undefined;
  let id: string | undefined;
  let cancelled = false;
  const hinted = new Set<string>();
  const onEvent = (e: EventEnvelope) => {
    if (id === undefined) return void early.push(e);
    if (e.data.id !== id || !view) return;
    if (e.event === 'JOB_CANCELLED') cancelled = true;
    view.update(progressOf(e));
    const status = e.event === 'JOB_STATUS_CHANGE' ? String(e.data.status) : undefined;
    const hint = status === 'ready' ? `complete it with 'jobctl complete ${id}'` : status === 'pending' && opts['auto-finalize'] === false ? `finalize it with 'jobctl finalize ${id}'` : undefined;
    if (hint && !hinted.has(status!)) {
      hinted.add(status!);
      view.message(`jobctl: job '${id}' is ${status}: ${hint}`);
    }
  };
  const following = (async () => {
    for await (const e of stream) onEvent(e);
  })().catch((err: unknown) => {
    if (!ctx.opts.quiet) say(io, `no progress shown: ${toCliError(err, ctx.settings).message}`);
  });
  // A refused subscription rejects this too; the loop above says so, and the call goes on without progress.
  await stream.ready.catch(() => undefined);

  // Ctrl-C: cancel (or detach); a second one stops waiting.
  let interrupts = 0;
  let interrupted!: (o: Outcome) => void;
  const interruption = new Promise<Outcome>((resolve) => (interrupted = resolve));
  const onSigint = () => {
    interrupts++;
    if (id !== undefined) void react(client, id);
    else if (interrupts > 1) process.exit(ExitCode.interrupted); // still starting: nothing to cancel yet
  };
  const react = async (c: JobsClient, jobId: string) => {
    if (ctx.opts.detach) return interrupted({ kind: 'detached' });
    if (interrupts > 1) return interrupted({ kind: 'abandoned' });
    cancelled = true;
    const note = `jobctl: cancelling job '${jobId}' (Ctrl-C again to stop waiting)`;
    if (view) view.message(note);
    else io.err.write(`${note}\n`);
    await c.cancel(jobId).catch(() => undefined); // it may be ending already; the wait tells
  };
  process.on('SIGINT', onSigint);

  try {
    id = await client.start(type, opts);
    const initial: JobProgress = { id, type, status: 'running', current: 0, total: 0, ...(opts.description !== undefined && { description: opts.description }) };
    view = ctx.opts.quiet ? undefined : new ProgressView(io.err, initial, { tty: io.err.isTTY === true, unicode: utf8Locale() });
    for (const e of early.splice(0)) onEvent(e);
    if (interrupts > 0) void react(client, id);
    void describe(client, type, id, view);
    const transfers = pipes?.transfer(client, id).then(
      (got) => ({ got }),
      (err: unknown) => ({ err: err instanceof Error ? err : new Error(String(err)) }),
    );

    const outcome = await Promise.race([client.wait(id).then((info): Outcome => ({ kind: 'done', info })), interruption]);
    if (outcome.kind === 'detached') {
      view?.stop();
      io.out.write(`${id}\n`);
      say(io, `detached: job '${id}' keeps running; follow it with 'jobctl watch ${id}' or 'jobctl wait ${id}'`);
      return ExitCode.ok;
    }
    if (outcome.kind === 'abandoned') {
      view?.stop();
      say(io, `stopped waiting for job '${id}'`);
      return ExitCode.interrupted;
    }
    const { info } = outcome;
    const moved = await transfers;
    if (info.error === undefined && info.status === 'concluded' && moved && 'err' in moved) {
      view?.finish(false);
      say(io, `job '${id}' succeeded, but its pipes failed: ${moved.err.message}`);
      return ExitCode.failed;
    }
    if (info.error === undefined && info.status === 'concluded') {
      view?.finish(true);
      const got = moved && 'got' in moved ? moved.got : undefined;
      if (got && !ctx.opts.quiet) say(io, `wrote ${ctx.str('output') === '-' ? 'stdout' : ctx.str('output')}: ${formatBytes(got.size)}, ${hexDigest(got.digest)} checked`);
      if (!pipes?.toStdout) printJson(io, info.result);
      return ExitCode.ok;
    }
    view?.finish(false);
    const error = info.error ?? `ended in status ${info.status}`;
    if (cancelled || error === 'Operation canceled') say(io, `job '${id}' was cancelled${error === 'Operation canceled' ? '' : `: ${error}`}`);
    else say(io, `job '${id}' failed: ${error}`);
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onSigint);
    stream.close();
    await following;
  }
}

/** The job's description and progress so far, from query-jobs (the start reply has only the id). */
async function describe(client: JobsClient, type: string, id: string, view: ProgressView | undefined): Promise<void> {
  if (!view) return;
  const info = (await client.query({ type, owner: client.user }).catch(() => [])).find((j) => j.id === id);
  if (!info) return;
  view.update({
    ...(info.description !== undefined && { description: info.description }),
    ...(info['total-progress'] > view.state.total && { current: info['current-progress'], total: info['total-progress'] }),
  });
}

function progressOf(e: EventEnvelope): Partial<JobProgress> {
  const d = e.data as Record<string, unknown>;
  const change: Partial<JobProgress> = {};
  if (e.event === 'JOB_STATUS_CHANGE') change.status = String(d.status);
  if (typeof d['current-progress'] === 'number' && typeof d['total-progress'] === 'number') {
    change.current = d['current-progress'];
    change.total = d['total-progress'];
  }
  if (typeof d.description === 'string') change.description = d.description;
  return change;
}

function utf8Locale(): boolean {
  const env = process.env;
  return /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '');
}
