/**
 * Each owner's own data folder: a file job sees only `<data>/<owner>/` (its paths are
 * relative to it, and symlinks may not lead out of it), never another owner's files. The
 * owner is an account name (`^[A-Za-z0-9_-]{1,64}$`, checked again here), so it is always one
 * plain path segment. The folder is made (0700) when the owner's first file job runs.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { FinalizeContext, JobHooks, JobType } from '../handler.js';

const OWNER_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** `owner`'s data folder below `root` (JOBS_DATA_DIR). */
export function ownerDir(root: string, owner: string): string {
  if (!OWNER_RE.test(owner)) throw new Error(`Invalid owner '${owner.slice(0, 64)}' for a data folder`);
  return join(root, owner);
}

/**
 * The file job type `make(dir)` with `dir` its owner's folder below `root`, for every job:
 * its handler and finalize hooks run as made for `ownerDir(root, job.owner)`. Everything
 * that does not depend on a folder (params, description, pipes) is the type's own.
 */
export function perOwner<P>(root: string, make: (dir: string) => JobType<P>): JobType<P> {
  // The folder-independent options, from a type made for a folder no job ever uses.
  const template = make(join(root, '.template'));
  const of = (owner: string) => make(ownerDir(root, owner));
  const hooks = template.hooks;
  const hook = <K extends keyof JobHooks<P>>(name: K) =>
    hooks?.[name] && ((job: FinalizeContext<P>) => (of(job.owner).hooks![name] as (j: FinalizeContext<P>) => ReturnType<NonNullable<JobHooks<P>[K]>>)(job));
  return {
    ...template,
    ...(hooks && {
      hooks: {
        ...(hooks.prepare && { prepare: hook('prepare') }),
        ...(hooks.commit && { commit: hook('commit') }),
        ...(hooks.abort && { abort: hook('abort') }),
        ...(hooks.clean && { clean: hook('clean') }),
      } as JobHooks<P>,
    }),
    handler: async (job) => {
      const dir = ownerDir(root, job.owner);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return make(dir).handler(job);
    },
  };
}
