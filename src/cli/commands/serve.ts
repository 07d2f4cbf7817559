/** `jobctl serve` (the service, as `npm start`) and `jobctl worker` (the remote worker process). */
import type { CliCommand, Context } from '../command.js';
import { ExitCode } from '../errors.js';

export const serve: CliCommand = {
  name: 'serve',
  summary: 'run the jobstate service (the same as npm start)',
  usage: 'jobctl serve [--server URL] [--prefix P]',
  positionals: [0, 0],
  details: [
    'Runs until SIGINT or SIGTERM, logging JSON lines on stdout. Its settings are the environment',
    "variables of docs/protocol.md (Settings); --server and --prefix set NATS_URL and JOBS_PREFIX.",
    'Without NATS_URL it starts its own nats-server (nats.conf, no authentication) and writes its',
    'URL to ./data/nats.url, where the other jobctl commands find it.',
  ].join('\n'),
  examples: ['jobctl serve', 'jobctl serve --server nats://10.0.0.5:4222 --prefix acme.jobs'],
  async run(ctx) {
    const { runService } = await import('../../service/run.js');
    const { httpBeside } = await import('../../http/beside.js');
    await runService(serviceEnv(ctx), httpBeside);
    return ExitCode.ok;
  },
};

/** The environment of `serve` and `worker`: --server and --prefix, when given, as NATS_URL and JOBS_PREFIX. */
function serviceEnv(ctx: Context): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // Only explicit flags: the processes' own defaults apply otherwise (the embedded server for serve).
  if (ctx.str('server') !== undefined) env.NATS_URL = ctx.str('server');
  if (ctx.str('prefix') !== undefined) env.JOBS_PREFIX = ctx.str('prefix');
  return env;
}

export const worker: CliCommand = {
  name: 'worker',
  summary: 'run the remote worker process: job types served over NATS (src/worker/)',
  usage: 'jobctl worker [--server URL] [--prefix P]',
  positionals: [0, 0],
  details: [
    'Runs until SIGINT or SIGTERM, logging JSON lines on stdout, like `npm run worker`. Its settings are',
    'environment variables (JOBS_WORKER_TYPES, JOBS_WORKER_CONCURRENCY, …; see src/worker/settings.ts);',
    '--server and --prefix set NATS_URL and JOBS_PREFIX. Without NATS_URL it uses ./data/nats.url.',
  ].join('\n'),
  examples: ['jobctl worker', 'JOBS_WORKER_TYPES=backup,mirror jobctl worker --server nats://10.0.0.5:4222'],
  async run(ctx) {
    // Loaded only when asked for, so the other subcommands start without the worker's code.
    const { runWorker } = await import('../../worker/main.js');
    await runWorker(serviceEnv(ctx));
    return ExitCode.ok;
  },
};
