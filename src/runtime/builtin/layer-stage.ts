/**
 * The staging of the layer jobs (stream, commit): during the work, the files to move are
 * copied (chunked, throttled, with pause points) into a hidden staging directory next to the
 * destination layer (`.<layer>.jobstate-<owner>-<id>.stage`, same filesystem); `prepare`
 * re-checks the destination; `commit` only renames staged entries into place and removes
 * what the plan says; `abort` and `clean` remove the staging directory.
 */
import { constants, realpathSync, renameSync, rmSync } from 'node:fs';
import { lstat, mkdir, open, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { JobContext, JobHooks, JobLog } from '../handler.js';
import { copyChunks } from './copy.js';
import { retrying } from './io-retry.js';
import type { LayerPlan, LayerRule } from './layer-plan.js';
import { asideName, resolveBelow } from './paths.js';
import { READ_FLAGS } from './source.js';

/** One rename of the commit. */
export interface Move {
  from: string;
  to: string;
  dir: boolean;
  replace: boolean;
  /** For logs: the destination relative to the data directory. */
  shown: string;
}

/** What the job staged (kept in its scratch for the hooks). */
export class Staging {
  constructor(
    readonly dir: string,
    readonly rule: LayerRule,
    public moves: Move[],
    /** What to remove from the source layer once everything is moved. */
    readonly removals: Array<{ path: string; shown: string }>,
  ) {}

  /** Prepare: every destination is still a real directory; decide again what each rename replaces. */
  async check(log: JobLog): Promise<void> {
    for (const { path, shown } of this.removals) {
      if (!(await isRealDir(dirname(path)))) throw new Error(`'${dirname(shown)}' changed during the job`);
    }
    const kept: Move[] = [];
    for (const move of this.moves) {
      if (!(await isRealDir(dirname(move.to)))) throw new Error(`'${dirname(move.shown)}' changed during the job`);
      const there = await lstat(move.to).catch(() => undefined);
      if (there && this.rule === 'fill') {
        log.info(`'${move.shown}' appeared meanwhile: kept as it is`);
        continue;
      }
      kept.push({ ...move, replace: there !== undefined && (move.dir || !there.isFile()) });
    }
    this.moves = kept;
  }

  /**
   * Commit: renames (and removals) only. A rename that fails is logged and the rest go on;
   * then nothing is removed from the source layer, which still has what did not move.
   */
  commit(log: JobLog): void {
    let failed = false;
    for (const move of this.moves) {
      try {
        if (!isRealDirSync(dirname(move.to))) throw new Error('its directory moved');
        if (move.replace) rmSync(move.to, { recursive: true, force: true });
        renameSync(move.from, move.to);
      } catch (err) {
        failed = true;
        log.error(`could not put '${move.shown}' in place: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const { path, shown } of failed ? [] : this.removals) {
      if (isRealDirSync(dirname(path))) rmSync(path, { recursive: true, force: true });
      else log.error(`could not remove '${shown}': its directory moved`);
    }
    this.discard();
  }

  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether `dir` is a directory reached without symlinks (its real path is itself): a path
 * below it does not lead out of where the plan found it. Checked in prepare and again, sync,
 * right before each rename or removal.
 */
async function isRealDir(dir: string): Promise<boolean> {
  return (await realpath(dir).catch(() => undefined)) === dir && (await lstat(dir)).isDirectory();
}

function isRealDirSync(dir: string): boolean {
  try {
    return realpathSync(dir) === dir;
  } catch {
    return false;
  }
}

export function stagingOf(scratch: Record<string, unknown>): Staging | undefined {
  return scratch.staging instanceof Staging ? scratch.staging : undefined;
}

/** The finalize hooks of a layer job: prepare checks, commit renames, abort and clean remove the staging. */
export function layerHooks<P>(): JobHooks<P> {
  return {
    async prepare(job) {
      await stagingOf(job.scratch)?.check(job.log);
    },
    commit(job) {
      stagingOf(job.scratch)?.commit(job.log);
    },
    abort(job) {
      stagingOf(job.scratch)?.discard();
    },
    clean(job) {
      stagingOf(job.scratch)?.discard();
    },
  };
}

/** The two layers as the job sees them: real paths and the caller's names. */
export interface Layers {
  from: { real: string; name: string };
  into: { real: string; name: string };
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Copy what `plan` takes into a new staging directory, noted in the job's scratch. */
export async function stage(job: JobContext<unknown>, dataDir: string, layers: Layers, plan: LayerPlan, rule: LayerRule): Promise<void> {
  const { from, into } = layers;
  const dir = join(dirname(into.real), asideName(basename(into.real), job.owner, job.id, 'stage'));
  job.scratch.staging = new Staging(
    dir,
    rule,
    plan.takes.map((take) => ({
      from: join(dir, take.rel),
      to: join(into.real, take.rel),
      dir: take.dir,
      replace: take.replace,
      shown: join(into.name, take.rel),
    })),
    plan.removals.map((rel) => ({ path: join(from.real, rel), shown: join(from.name, rel) })),
  );
  await retrying(job, 'write', 'create', into.name, async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
  });
  for (const rel of plan.dirs) {
    await retrying(job, 'write', 'create', join(into.name, rel), () => mkdir(join(dir, rel), { recursive: true }).then(() => undefined));
  }
  let done = 0;
  job.progress(0, plan.bytes);
  for (const { rel } of plan.files) {
    const shownFrom = join(from.name, rel);
    const shownTo = join(into.name, rel);
    const source = await retrying(job, 'read', 'open', shownFrom, async () => {
      const file = await open(await resolveBelow(dataDir, join(from.real, rel), shownFrom), READ_FLAGS);
      try {
        const stats = await file.stat();
        if (!stats.isFile()) throw new Error(`'${shownFrom}' is no longer a regular file`);
        return { file, size: stats.size, mode: stats.mode & 0o777 };
      } catch (err) {
        await file.close();
        throw err;
      }
    });
    try {
      const target = await retrying(job, 'write', 'open', shownTo, async () => {
        // A take inside a directory both layers have is staged under that directory's name.
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await rm(join(dir, rel), { force: true });
        return open(join(dir, rel), CREATE_FILE, source.mode);
      });
      try {
        await copyChunks(job, { file: source.file, name: shownFrom }, { file: target, name: shownTo }, {
          size: source.size,
          account: async (bytes) => {
            done += bytes;
            job.progress(done, Math.max(done, plan.bytes));
            await job.throttle(bytes);
          },
        });
        await retrying(job, 'write', 'write', shownTo, () => target.datasync());
      } finally {
        await target.close();
      }
    } finally {
      await source.file.close();
    }
  }
  job.progress(done, done);
}
