/**
 * Helpers of the file-job tests: a stack with the built-in types on a temporary data
 * directory, alice's client and a recorder of her events, and small file utilities.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { JobTypes } from '../../src/runtime/registry.js';
import type { JobInfo, JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack, StackOptions } from '../support/stack.js';
import { Recorder } from '../service/helpers.js';

export const MiB = 1024 * 1024;

export interface FilesStack {
  stack: Stack;
  alice: JobsClient;
  events: Recorder;
  /** The service's data directory. */
  dir: string;
  /** The absolute path of `rel` in the data directory. */
  at(rel: string): string;
  /** Wait until job `id` is gone (status null); its final JobInfo. */
  finished(id: string, timeoutMs?: number): Promise<JobInfo>;
  close(): Promise<void>;
}

/** The stack (options as startStack's, e.g. `types`: a function of the data directory replacing the built-in types). */
export async function startFilesStack(opts: StackOptions = {}): Promise<FilesStack> {
  const stack = await startStack(opts);
  const alice = await stack.client('alice');
  // alice's file jobs see her own folder only (docs/security.md, Files).
  const dir = join(stack.dataDir, 'alice');
  mkdirSync(dir, { recursive: true });
  const events = new Recorder(alice.nc, `${stack.prefix}.evt.alice.>`);
  await events.ready;
  return {
    stack,
    alice,
    events,
    dir,
    at: (rel) => join(dir, rel),
    finished: async (id, timeoutMs = 10_000) => {
      const info = await alice.wait(id, { timeoutMs });
      await events.status(id, 'null', timeoutMs);
      return info;
    },
    close: async () => {
      events.close();
      await stack.close();
    },
  };
}

/** Write `bytes` random bytes at `path` (making its directory). */
export function randomFile(path: string, bytes: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, randomBytes(bytes));
}

/** Write `text` at `path` (making its directory). */
export function textFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file and directory below `dir` (dot files included), relative, sorted; directories end in `/`. */
export function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => relative(dir, join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : ''))
    .sort();
}

/** The contents of every file below `dir`, by relative path. */
export function contents(dir: string): Record<string, string> {
  return Object.fromEntries(
    tree(dir)
      .filter((p) => !p.endsWith('/'))
      .map((p) => [p, readFileSync(join(dir, p), 'utf8')]),
  );
}

/** The current progress of job `id`, from query-jobs. */
export async function progressOf(alice: JobsClient, id: string): Promise<number | undefined> {
  return (await alice.query()).find((j) => j.id === id)?.['current-progress'];
}
