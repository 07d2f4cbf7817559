/**
 * I/O errors of the file jobs under the job's on-error policy: a failed filesystem call goes
 * through `job.ioError` (JOB_ERROR; `report` fails the job, `stop` waits for job-resume,
 * `ignore` goes on) and is then retried. Errors that are not the filesystem's (a path that
 * escapes the data directory, a cancel) are not I/O errors: they propagate at once.
 * Texts name the caller's relative path, never the service's directories, in QEMU's words
 * (`Could not open 'x': No such file or directory`).
 */
import { OnError } from '../../../machines/index.js';
import type { JobContext } from '../handler.js';

/** How long `ignore` waits before retrying, so a lasting error does not spin. */
export const IGNORE_RETRY_MS = 100;

/** What was being done, for the error text: `Could not <doing> '<path>': …`. */
export type Doing = 'open' | 'read' | 'write' | 'resize' | 'create' | 'list' | 'stat';

/** A filesystem error: one Node tags with an errno code. */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EFBIG: 'File too large',
  EIO: 'Input/output error',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EROFS: 'Read-only file system',
  ENOTEMPTY: 'Directory not empty',
  EMFILE: 'Too many open files',
};

/** `Could not <doing> '<path>': <strerror>`, without the absolute paths Node puts in its messages. */
export function ioFailure(doing: Doing, path: string, err: NodeJS.ErrnoException): Error {
  const code = err.code ?? 'EIO';
  return new Error(`Could not ${doing} '${path}': ${STRERROR[code] ?? code}`);
}

/**
 * Run `attempt` until it succeeds; each filesystem error goes through the on-error policy
 * first (as `operation`, named `doing '<path>'` in its text). Other errors propagate.
 */
export async function retrying<T>(
  job: JobContext<unknown>,
  operation: 'read' | 'write',
  doing: Doing,
  path: string,
  attempt: () => Promise<T>,
): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!isFsError(err)) throw err;
      await job.ioError(operation, ioFailure(doing, path, err));
      if (job.onError === OnError.ignore) await job.sleep(IGNORE_RETRY_MS);
      else await job.pausePoint();
    }
  }
}
