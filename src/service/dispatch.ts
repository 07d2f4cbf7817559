/**
 * What each command does here, on the instance serving its owner's partition: the job
 * manager's call, and what its reply waits for.
 */
import { JobVerb } from '../../machines/index.js';
import type { commandArgs } from '../protocol/schemas.js';
import { Command } from '../protocol/subjects.js';
import type { JobManager } from './jobs.js';
import type { PipeHub } from '../pipes/hub.js';
import { PAGING_HINT, queryReply } from './query.js';
import { downloadCommands } from './downloads.js';
import type { DownloadTokens } from '../persist/download-tokens.js';

type Args<C extends Command> = import('zod').infer<(typeof commandArgs)[C]>;
export type Dispatch = { [C in Command]: (caller: string, args: Args<C>) => unknown };

/** nats-server's default max_payload, for a connection that has not said its own. */
export const DEFAULT_MAX_REPLY = 1024 * 1024;

/** `maxReply`: the largest reply the connection may send, in bytes (its server's max_payload). */
export function dispatchTable(
  jobs: JobManager,
  pipes: PipeHub | undefined,
  downloads: DownloadTokens,
  maxReply: () => number = () => DEFAULT_MAX_REPLY,
): Dispatch {
  const download = downloadCommands(jobs, pipes, downloads);
  return {
    // A start is answered once the new jobs are saved (with a store), and their pipes are ready:
    // the reply promises jobs that survive a restart, and what the caller uploads next is kept.
    [Command.jobStart]: async (caller, args) => {
      const started = jobs.startJob(caller, args);
      await Promise.all([jobs.saved(caller, [started.id]), pipes?.ready(caller, started.id)]);
      return started;
    },
    [Command.transaction]: async (caller, args) => {
      const started = jobs.transaction(caller, args);
      await Promise.all([jobs.saved(caller, started.jobs), ...started.jobs.map((id) => pipes?.ready(caller, id))]);
      return started;
    },
    [Command.jobPause]: (caller, args) => jobs.verb(caller, JobVerb.pause, args),
    [Command.jobResume]: (caller, args) => jobs.verb(caller, JobVerb.resume, args),
    [Command.jobCancel]: (caller, args) => jobs.verb(caller, JobVerb.cancel, args),
    [Command.jobComplete]: (caller, args) => jobs.verb(caller, JobVerb.complete, args),
    [Command.jobFinalize]: (caller, args) => jobs.verb(caller, JobVerb.finalize, args),
    [Command.jobDismiss]: (caller, args) => jobs.verb(caller, JobVerb.dismiss, args),
    [Command.jobSetSpeed]: (caller, args) => jobs.verb(caller, JobVerb.setSpeed, args),
    [Command.queryJobs]: (caller, args) => queryReply(jobs.query(caller, args), args, maxReply()),
    [Command.jobWait]: (caller, args) => jobs.waitJob(caller, args),
    [Command.jobLog]: (caller, args) => jobs.log(caller, args),
    [Command.jobDownload]: (caller, args) => download.jobDownload(caller, args),
    [Command.jobDownloadLog]: (caller, args) => download.jobDownloadLog(caller, args),
    [Command.queryJobTypes]: () => jobs.jobTypes(),
  };
}

/** How to ask for a smaller reply to `command`. */
export function tooLargeHint(command: Command): string {
  if (command === Command.queryJobs) return PAGING_HINT;
  if (command === Command.jobLog) return "read the whole log through its pipe instead (job-download-log, the SDK's downloadLog, 'jobctl logs')";
  if (command === Command.jobWait) return "the job's JobInfo (its result or params) is too large for one reply";
  return 'ask for less in one command';
}

