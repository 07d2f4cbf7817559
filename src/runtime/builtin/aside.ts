/**
 * The aside file of the single-file jobs (backup, mirror, create): the job writes its result
 * into a hidden file next to the target (`.<target>.jobstate-<owner>-<id>.part`, same
 * directory, so same filesystem) and the finalize hooks put it in place with one rename
 * (commit) or remove it (abort, and a soft-cancelled mirror's commit). The fallible checks —
 * the target is still where it was, not a directory, not created meanwhile — are made in
 * `prepare`, so that commit is a rename that does not fail.
 */
import { constants, realpathSync, renameSync, rmSync } from 'node:fs';
import { lstat, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FinalizeContext, JobContext, JobHooks } from '../handler.js';
import { retrying } from './io-retry.js';
import { PathEscapeError, asideName, isInside, resolveNew } from './paths.js';

/** Where a job's result waits (kept in the job's scratch for the hooks). */
export class Aside {
  constructor(
    /** The aside file (real path). */
    readonly path: string,
    /** The target it will replace (real directory + name). */
    readonly target: string,
  ) {}

  putInPlace(): void {
    renameSync(this.path, this.target);
  }

  discard(): void {
    rmSync(this.path, { force: true });
  }
}

/** The job's aside file, if it has one; one brought back by a job store (a plain `{ path, target }`) becomes an Aside again. */
export function asideOf(scratch: Record<string, unknown>): Aside | undefined {
  const aside = scratch.aside;
  if (aside instanceof Aside) return aside;
  if (typeof aside !== 'object' || aside === null) return undefined;
  const { path, target } = aside as Record<string, unknown>;
  if (typeof path !== 'string' || typeof target !== 'string') return undefined;
  return (scratch.aside = new Aside(path, target));
}

/** Flags of a new aside file: created here and now, never through a symlink. */
const CREATE = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface OpenAside {
  aside: Aside;
  file: FileHandle;
}

/**
 * Create the aside file of `target` (relative), and note it in the job's scratch. A target
 * whose directory is missing or not a directory is a write error (retried under on-error);
 * one that leads out of the data directory fails the job. `refuseExisting`: fail the job if
 * the target exists.
 */
export async function openAside(
  job: JobContext<unknown>,
  dataDir: string,
  target: string,
  opts: { refuseExisting?: boolean } = {},
): Promise<OpenAside> {
  return retrying(job, 'write', 'open', target, async () => {
    const where = await resolveNew(dataDir, target);
    if (opts.refuseExisting && (await exists(where.path))) throw new Error(`Target '${target}' already exists`);
    const aside = new Aside(join(where.dir, asideName(where.name, job.owner, job.id, 'part')), where.path);
    job.scratch.aside = aside;
    // A leftover of the same job id (a service that stopped mid-job) is ours to replace.
    await rm(aside.path, { force: true });
    return { aside, file: await open(aside.path, CREATE, 0o644) };
  });
}

/**
 * The finalize hooks of an aside job: prepare re-checks the target, commit renames the aside
 * file over it (unless the job was soft-cancelled), abort and clean remove what is left.
 */
export function asideHooks<P>(dataDir: string, targetOf: (params: P) => string, opts: { refuseExisting?: boolean } = {}): JobHooks<P> {
  return {
    async prepare(job) {
      const aside = asideOf(job.scratch);
      if (!aside || job.softCancelled) return;
      const target = targetOf(job.params);
      const where = await resolveNew(dataDir, target);
      if (where.path !== aside.target) throw new PathEscapeError(target);
      const existing = await lstat(where.path).catch(() => undefined);
      if (existing && opts.refuseExisting) throw new Error(`Target '${target}' already exists`);
      if (existing?.isDirectory()) throw new Error(`Target '${target}' is a directory`);
    },
    commit(job) {
      const aside = asideOf(job.scratch);
      if (job.softCancelled) aside?.discard();
      else aside?.putInPlace();
    },
    abort(job) {
      discardAside(job, dataDir, targetOf(job.params));
    },
    clean(job) {
      discardAside(job, dataDir, targetOf(job.params));
    },
  };
}

/**
 * Remove the job's aside file. A job brought back after a crash may have opened it after its
 * scratch was last saved: its aside is then found by its name, which depends only on the
 * target and the job (and never outside the data directory).
 */
function discardAside(job: FinalizeContext<unknown>, dataDir: string, target: string): void {
  const aside = asideOf(job.scratch);
  if (aside) return aside.discard();
  try {
    const root = realpathSync(dataDir);
    const dir = realpathSync(join(root, dirname(target)));
    if (isInside(root, dir)) rmSync(join(dir, asideName(basename(target), job.owner, job.id, 'part')), { force: true });
  } catch {
    // No such directory: nothing was written aside.
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
