/**
 * Path safety of the file jobs: every path a caller gives is relative to the data directory
 * and must stay inside it. Two layers:
 * - at job-start, {@link DataPath} refuses what is visibly out (absolute paths, `..`
 *   segments, NUL bytes, the data directory itself), so job-start answers 400;
 * - at run time, the `resolve*` helpers follow symlinks with realpath and refuse a path whose
 *   real location is outside the (real) data directory, before anything is opened. Files are
 *   then opened by their real path with O_NOFOLLOW, so a last component swapped for a
 *   symlink in between is refused by the kernel.
 */
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { z } from 'zod';

export const ESCAPES = 'path escapes the data directory';
/** Paths that start so name a pipe (`pipe:input`, `pipe:output`), where a job takes one. */
export const PIPE_PREFIX = 'pipe:';

/**
 * A path param of a file job: relative, without `..`, naming something below the data
 * directory; a path starting with `pipe:` is refused unless it is `pipe`, the one pipe the
 * param may name.
 */
function dataPath(pipe?: string) {
  const or = (test: (p: string) => boolean) => (p: string) => p === pipe || test(p);
  return z
    .string()
    .min(1)
    .max(4096)
    .refine(or((p) => !p.includes('\u0000')), 'path contains a NUL byte')
    .refine(or((p) => !isAbsolute(p) && !p.split('/').includes('..')), ESCAPES)
    .refine(or((p) => normalize(p) !== '.' && normalize(p) !== './'), 'path names the data directory itself')
    .refine(or((p) => !p.startsWith(PIPE_PREFIX)), {
      error: (iss) => `'${String(iss.input).slice(0, 64)}' names a pipe, which is not taken here (for a file of that name: './${String(iss.input).slice(0, 64)}')`,
    });
}

/** A path param of a file job: relative, without `..`, naming something below the data directory. */
export const DataPath = dataPath();

/** A path param that may also name one pipe (`pipe:input` for a source, `pipe:output` for a target). */
export function pathOrPipe(pipe: string) {
  return dataPath(pipe).describe(`A path below the data directory, or '${pipe}'`);
}

/** A path that leads out of the data directory (found at run time: a symlink). Fails the job. */
export class PathEscapeError extends Error {
  constructor(path: string) {
    super(`Path '${path}' escapes the data directory`);
    this.name = 'PathEscapeError';
  }
}

/** Whether `path` (absolute, real) is `root` or below it. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of an existing file or directory named by `rel`; refuses one whose real
 * location is outside the data directory. Errors of realpath (ENOENT…) propagate.
 */
export async function resolveExisting(dataDir: string, rel: string): Promise<string> {
  const root = await realpath(dataDir);
  const real = await realpath(join(root, rel));
  if (!isInside(root, real) || real === root) throw new PathEscapeError(rel);
  return real;
}

/**
 * The real path of `path` (absolute, found by walking a directory already checked), which
 * must still be inside the data directory: a directory on the way may have been swapped for
 * a symlink since. `shown` names it in the error.
 */
export async function resolveBelow(dataDir: string, path: string, shown: string): Promise<string> {
  const root = await realpath(dataDir);
  const real = await realpath(path);
  if (!isInside(root, real) || real === root) throw new PathEscapeError(shown);
  return real;
}

/** Where a file that is to be created (or replaced) lives: its real directory and its name. */
export interface NewPath {
  /** The real directory the file goes in. */
  dir: string;
  name: string;
  /** `dir/name`. */
  path: string;
}

/**
 * Where the file `rel` is to be written: the real path of its directory must be inside the
 * data directory, and if `rel` is already a symlink, what it points to must be too (a dangling
 * symlink is refused: where it leads cannot be checked). Errors of realpath on the directory
 * (ENOENT, ENOTDIR…) propagate.
 */
export async function resolveNew(dataDir: string, rel: string): Promise<NewPath> {
  const root = await realpath(dataDir);
  const dir = await realpath(join(root, dirname(rel)));
  if (!isInside(root, dir)) throw new PathEscapeError(rel);
  const name = basename(rel);
  const path = join(dir, name);
  const existing = await lstat(path).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    const real = await realpath(path).catch(() => undefined);
    if (real === undefined || !isInside(root, real)) throw new PathEscapeError(rel);
  }
  return { dir, name, path };
}

/**
 * The name of a job's file kept aside next to `name` (in the same directory, hence on the
 * same filesystem, so that putting it in place is a rename): hidden, and unique per job.
 */
export function asideName(name: string, owner: string, id: string, kind: 'part' | 'snap' | 'stage'): string {
  return `.${name}.jobstate-${owner}-${id}.${kind}`;
}
