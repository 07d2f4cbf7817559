/**
 * What a layer job (stream, commit) will move from one layer directory into another. Layers
 * are directory trees; the plan names the top-most entries to take (a file, or a whole
 * directory the other layer lacks), every file and directory inside them, and — for commit —
 * what to remove from the source layer afterwards.
 *
 * Rules: `fill` (stream) takes what `into` lacks; `overwrite` (commit) takes everything,
 * replacing what `into` has. Where both layers have a directory, the job goes inside.
 * Symlinks and special files are not layer content: they are skipped (and logged), and with
 * `overwrite` they stay in the source layer, as do the directories that contain them.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext } from '../handler.js';
import { isFsError } from './io-retry.js';

export type LayerRule = 'fill' | 'overwrite';

/** A top-most entry to move into `into` at commit. */
export interface Take {
  /** Relative to the layers. */
  rel: string;
  dir: boolean;
  /** `into` has something there that a rename cannot replace (or that differs in kind). */
  replace: boolean;
}

export interface LayerPlan {
  takes: Take[];
  /** Every regular file to copy, inside the takes. */
  files: Array<{ rel: string; size: number }>;
  /** Every directory to create, inside the takes, parents first. */
  dirs: string[];
  /** What to remove from the source layer once moved (overwrite only). */
  removals: string[];
  bytes: number;
}

/** Plan moving layer `from` into layer `into` (both real paths of directories). */
export async function planLayer(job: JobContext<unknown>, from: string, into: string, rule: LayerRule): Promise<LayerPlan> {
  const plan: LayerPlan = { takes: [], files: [], dirs: [], removals: [], bytes: 0 };

  const addFile = async (rel: string) => {
    const { size } = await lstat(join(from, rel));
    plan.files.push({ rel, size });
    plan.bytes += size;
  };

  /** Decide for one entry that `into` may have; whether it is wholly taken. */
  const visit = async (entry: Dirent, rel: string): Promise<boolean> => {
    const there = await lstat(join(into, rel)).catch((err: unknown) => {
      if (isFsError(err) && err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (entry.isDirectory() && there?.isDirectory()) return walk(rel, false);
    if (there && rule === 'fill') return false;
    plan.takes.push({ rel, dir: entry.isDirectory(), replace: there !== undefined && !(entry.isFile() && there.isFile()) });
    if (!entry.isDirectory()) {
      await addFile(rel);
      return true;
    }
    plan.dirs.push(rel);
    return walk(rel, true);
  };

  /** Go through a directory of `from`; `taking`: it is inside a take. Whether all of it is taken. */
  const walk = async (rel: string, taking: boolean): Promise<boolean> => {
    const entries = (await readdir(join(from, rel), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const whole: string[] = [];
    let all = true;
    for (const entry of entries) {
      const child = join(rel, entry.name);
      let taken: boolean;
      if (!entry.isFile() && !entry.isDirectory()) {
        job.log.warn(`skipping '${child}': not a regular file or a directory`);
        taken = false;
      } else if (!taking) {
        taken = await visit(entry, child);
      } else if (entry.isDirectory()) {
        plan.dirs.push(child);
        taken = await walk(child, true);
      } else {
        await addFile(child);
        taken = true;
      }
      if (taken) whole.push(child);
      else all = false;
    }
    // What is wholly taken goes from the source layer: as a whole directory where possible,
    // entry by entry where the directory keeps something; the layer's root itself stays.
    if (rule === 'overwrite' && (!all || rel === '')) plan.removals.push(...whole);
    return all;
  };

  await walk('', false);
  return plan;
}
