/**
 * `job-download` and `job-download-log` (docs/http.md): a job started with an output pipe, or
 * an existing job's log, and a single-use URL for the HTTP server to serve it from.
 */
import { BadInputError, WaitTimeoutError } from '../protocol/errors.js';
import type { JobDownloadArgs, JobDownloadLogArgs } from '../protocol/schemas.js';
import { downloadUrl } from '../persist/download-tokens.js';
import type { DownloadTokens } from '../persist/download-tokens.js';
import type { PipeHub } from '../pipes/hub.js';
import type { JobManager } from './jobs.js';

export function downloadCommands(jobs: JobManager, pipes: PipeHub | undefined, tokens: DownloadTokens) {
  const needPipes = (): PipeHub => {
    if (!pipes) throw new BadInputError('Downloads are off: this service runs without pipes');
    return pipes;
  };
  return {
    async jobDownload(caller: string, args: JobDownloadArgs): Promise<{ id: string; url: string }> {
      const hub = needPipes();
      const { filename, buffered = false, ...start } = args;
      // The token bucket first: a job whose URL cannot be made is never started.
      await tokens.ready();
      const started = jobs.startJob(caller, { ...start, pipes: { ...start.pipes, output: buffered ? 'buffer' : 'stream' } });
      await Promise.all([jobs.saved(caller, [started.id]), hub.ready(caller, started.id)]);
      const token = await tokens.issue({ caller, owner: caller, id: started.id, pipe: 'out', filename, buffered });
      return { id: started.id, url: downloadUrl(token, filename) };
    },

    async jobDownloadLog(caller: string, args: JobDownloadLogArgs): Promise<{ url: string }> {
      needPipes();
      // The job must be there (live, or concluded and remembered) and the caller's to see.
      const info = await jobs.waitJob(caller, { id: args.id, ...(args.owner !== undefined && { owner: args.owner }), 'timeout-ms': 0 }).catch((err: unknown) => {
        if (err instanceof WaitTimeoutError) return undefined;
        throw err;
      });
      const owner = info?.owner ?? args.owner ?? caller;
      if (owner !== caller) throw new BadInputError(`Parameter 'owner' is invalid: a log is downloaded by its owner ('${owner}'); job-log shows it to admins`);
      const filename = args.filename ?? `${args.id}.log`;
      const token = await tokens.issue({ caller, owner, id: args.id, pipe: 'log', filename, buffered: false });
      return { url: downloadUrl(token, filename) };
    },
  };
}
