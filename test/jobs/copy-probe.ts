/**
 * `copy-probe`, a job type for the copy tests: a backup (the source copied into an aside file,
 * put in place at finalize) whose two files are watched. Every read and write is logged when
 * it starts and when it ends, with its offset and length, and so are the job's cancel and the
 * end of the copy; so a test sees which I/O was under way when it paused, cancelled or failed
 * the job, and that none started afterwards. Writes at chosen offsets can be held until the
 * test releases them (I/O that takes its time), and the source read at one offset can fail
 * with EIO once the test says so.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { asideHooks, openAside } from '../../src/runtime/builtin/aside.js';
import { copyChunks } from '../../src/runtime/builtin/copy.js';
import { DataPath } from '../../src/runtime/builtin/paths.js';
import { openSource } from '../../src/runtime/builtin/source.js';
import { defineJob } from '../../src/runtime/handler.js';
import { sleep } from '../service/helpers.js';

export const ProbeParams = z.strictObject({
  source: DataPath,
  target: DataPath,
  /** The target exists: open it in place and write only the chunks that differ (mirror's resync). */
  compare: z.boolean().default(false),
  /** Writes at offsets in [from, to) wait until the test calls {@link release}. */
  hold: z.tuple([z.number(), z.number()]).optional(),
  /** The first source read at this offset waits until {@link failNow}, then fails with EIO. */
  failRead: z.number().optional(),
});

export type Io = { op: 'read' | 'write'; file: 'source' | 'target'; at: number; length: number };
export type ProbeEntry =
  | ({ what: 'start' | 'end' } & Io)
  /** The job's signal was aborted (cancel). */
  | { what: 'aborted' }
  /** copyChunks resolved, or threw. */
  | { what: 'returned' | 'threw' };

interface Probe {
  log: ProbeEntry[];
  release(): void;
  released: Promise<void>;
  fail(): void;
  failing: Promise<void>;
}

const probes = new Map<string, Probe>();

function probe(id: string): Probe {
  let found = probes.get(id);
  if (!found) {
    let release!: () => void;
    let fail!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const failing = new Promise<void>((resolve) => (fail = resolve));
    found = { log: [], release, released, fail, failing };
    probes.set(id, found);
  }
  return found;
}

/** What job `id` has logged so far. */
export const logOf = (id: string): ProbeEntry[] => probe(id).log;
/** Let job `id`'s held writes go on. */
export const release = (id: string): void => probe(id).release();
/** Let job `id`'s failing read fail. */
export const failNow = (id: string): void => probe(id).fail();

/** Resolves once job `id`'s log satisfies `pred` (polled); rejects after `timeoutMs`. */
export async function logged(id: string, pred: (log: ProbeEntry[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!pred(logOf(id))) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}; log: ${JSON.stringify(logOf(id))}`);
    await sleep(5);
  }
}

/** The I/O calls under way at the end of `log`. */
export function underWay(log: readonly ProbeEntry[]): Io[] {
  const open: Io[] = [];
  for (const e of log) {
    if (e.what === 'start') open.push(e);
    if (e.what !== 'end') continue;
    const started = open.findIndex((o) => o.op === e.op && o.file === e.file && o.at === e.at);
    if (started >= 0) open.splice(started, 1); // (a log cut short may end what it did not start)
  }
  return open;
}

/** The most I/O calls under way at once over `log`. */
export function mostUnderWay(log: readonly ProbeEntry[]): number {
  let most = 0;
  for (let i = 1; i <= log.length; i++) most = Math.max(most, underWay(log.slice(0, i)).length);
  return most;
}

export function copyProbe(dataDir: string) {
  return defineJob(
    'copy-probe',
    { params: ProbeParams, hooks: asideHooks<z.infer<typeof ProbeParams>>(dataDir, (p) => p.target) },
    async (job) => {
      const p = job.params;
      const { log, released, failing } = probe(job.id);
      job.signal.addEventListener('abort', () => log.push({ what: 'aborted' }), { once: true });
      let failed = false;
      const src = await openSource(job, dataDir, p.source);
      try {
        const out = p.compare ? await open(join(dataDir, p.target), 'r+') : (await openAside(job, dataDir, p.target)).file;
        try {
          const before = async (io: Io) => {
            if (io.op === 'write' && p.hold && io.at >= p.hold[0] && io.at < p.hold[1]) await released;
            if (io.op === 'read' && io.file === 'source' && io.at === p.failRead && !failed) {
              failed = true;
              await failing;
              throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
            }
          };
          let done = 0;
          job.progress(0, src.size);
          try {
            await copyChunks(job, { file: watched(src.file, 'source', log, before), name: p.source }, { file: watched(out, 'target', log, before), name: p.target }, {
              size: src.size,
              compare: p.compare,
              account: async (bytes) => {
                done += bytes;
                job.progress(done, src.size);
                await job.throttle(bytes);
              },
            });
            log.push({ what: 'returned' });
          } catch (err) {
            log.push({ what: 'threw' });
            throw err;
          }
        } finally {
          await out.close();
        }
      } finally {
        await src.file.close();
      }
    },
  );
}

/** `file`, with its reads and writes (positional, as copyChunks makes them) logged and passed through `before`. */
function watched(file: FileHandle, name: Io['file'], log: ProbeEntry[], before: (io: Io) => Promise<void>): FileHandle {
  return new Proxy(file, {
    get(target, prop) {
      if (prop === 'read' || prop === 'write') {
        const op = prop;
        return async (buffer: Buffer, offset: number, length: number, position: number) => {
          const io: Io = { op, file: name, at: position, length };
          log.push({ what: 'start', ...io });
          try {
            await before(io);
            return op === 'read' ? await target.read(buffer, offset, length, position) : await target.write(buffer, offset, length, position);
          } finally {
            log.push({ what: 'end', ...io });
          }
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
