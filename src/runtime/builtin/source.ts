/**
 * Opening a file job's source: resolved inside the data directory (symlinks followed, then
 * checked), opened by its real path with O_NOFOLLOW, and it must be a regular file. Errors of
 * the filesystem are read errors under the on-error policy.
 */
import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { JobContext } from '../handler.js';
import { retrying } from './io-retry.js';
import { resolveExisting } from './paths.js';

/** Never through a symlink; O_NONBLOCK so that opening a FIFO does not hang (it is then refused as not a file). */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export interface OpenSource {
  file: FileHandle;
  /** Its real path. */
  real: string;
  size: number;
  /** Its permission bits (rwx only: no setuid, setgid or sticky bit is copied). */
  mode: number;
  /** Changes whenever the file is written or replaced (see {@link changeKey}). */
  key: string;
}

/** What a poll compares to see that a file changed: device, inode, size, mtime and ctime in ns. */
export function changeKey(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/** Open the regular file `rel` (relative to the data directory) for reading. */
export async function openSource(job: JobContext<unknown>, dataDir: string, rel: string): Promise<OpenSource> {
  return retrying(job, 'read', 'open', rel, async () => {
    const real = await resolveExisting(dataDir, rel);
    const file = await open(real, READ_FLAGS);
    try {
      const stats = await file.stat({ bigint: true });
      if (!stats.isFile()) throw new Error(`Source '${rel}' is not a regular file`);
      return { file, real, size: Number(stats.size), mode: Number(stats.mode) & 0o777, key: changeKey(stats) };
    } catch (err) {
      await file.close();
      throw err;
    }
  });
}
