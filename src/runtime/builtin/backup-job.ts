/**
 * The built-in `backup` job type: a point-in-time copy of `source` to `target`, written
 * aside and put in place at finalize (see aside.ts). Progress and speed are in bytes.
 *
 * Point in time: a plain file has no copy-before-write, so where the filesystem can clone
 * (reflinks: btrfs, XFS, bcachefs, …) the job first clones the source — instant, and a true
 * snapshot of the moment the job started running — and copies from the clone, which it
 * unlinks at once (the open handle keeps it readable; nothing is left behind). Elsewhere
 * (ext4, tmpfs) it copies the source as it reads it: the copy's point in time is then the
 * copy's duration, and the job's log says so. The size is always the one at the start.
 */
import { constants } from 'node:fs';
import { copyFile, open, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { defineJob } from '../handler.js';
import type { JobContext } from '../handler.js';
import { asideHooks, openAside } from './aside.js';
import { copyChunks } from './copy.js';
import { retrying } from './io-retry.js';
import { asideName, pathOrPipe } from './paths.js';
import { PIPE_INPUT, PIPE_OUTPUT, pipeBackup } from './pipe-backup.js';
import { READ_FLAGS, openSource } from './source.js';
import type { OpenSource } from './source.js';

export const BackupParams = z.strictObject({ source: pathOrPipe(PIPE_INPUT), target: pathOrPipe(PIPE_OUTPUT) });
export type BackupParams = z.infer<typeof BackupParams>;

export function backupJob(dataDir: string) {
  return defineJob(
    'backup',
    {
      params: BackupParams,
      description: (p) => `backup of '${p.source}' to '${p.target}'`,
      hooks: asideHooks<BackupParams>(dataDir, (p) => p.target),
      pipes: { inputs: (p) => (p.source === PIPE_INPUT ? 1 : 0), output: (p) => p.target === PIPE_OUTPUT },
    },
    async (job) => {
      const { source, target } = job.params;
      if (source === PIPE_INPUT || target === PIPE_OUTPUT) return pipeBackup(job, dataDir);
      const src = await snapshotOf(job, await openSource(job, dataDir, source));
      try {
        const out = await openAside(job, dataDir, target);
        try {
          await retrying(job, 'write', 'write', target, () => out.file.chmod(src.mode));
          let done = 0;
          job.progress(0, src.size);
          await copyChunks(job, { file: src.file, name: source }, { file: out.file, name: target }, {
            size: src.size,
            account: async (bytes) => {
              done += bytes;
              job.progress(done, src.size);
              await job.throttle(bytes);
            },
          });
          await retrying(job, 'write', 'write', target, () => out.file.datasync());
        } finally {
          await out.file.close();
        }
      } finally {
        await src.file.close();
      }
    },
  );
}

/**
 * A reflink clone of the open source, opened and already unlinked, in its place; or the
 * source itself where the filesystem cannot clone.
 */
async function snapshotOf(job: JobContext<unknown>, src: OpenSource): Promise<OpenSource> {
  const clone = join(dirname(src.real), asideName(basename(src.real), job.owner, job.id, 'snap'));
  const removeClone = () => rm(clone, { force: true }).catch(() => undefined);
  try {
    await rm(clone, { force: true });
    await copyFile(src.real, clone, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
  } catch {
    await removeClone();
    job.log.info('no reflink snapshot on this filesystem: the copy reflects the source as it is read');
    return src;
  }
  try {
    const file = await open(clone, READ_FLAGS);
    const { size } = await file.stat().catch(async (err: unknown) => {
      await file.close();
      throw err;
    });
    await src.file.close();
    job.log.info('copying from a reflink snapshot of the source');
    return { ...src, file, size };
  } catch {
    job.log.info('the reflink snapshot could not be opened: the copy reflects the source as it is read');
    return src;
  } finally {
    await removeClone();
  }
}
