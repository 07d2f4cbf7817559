/**
 * The built-in `mirror` job type: copies `source` aside (next to `target`), enters `ready`,
 * and keeps the aside copy in sync with the source until job-complete; then a final sync, and
 * the copy is put in place at finalize. A soft cancel in ready ends the job without putting
 * it in place (the commit hook removes the copy).
 *
 * Keeping in sync: a plain file has no dirty bitmap, so the job polls the source's identity,
 * size, mtime and ctime every {@link POLL_MS}; on a change it compares the source with the
 * copy chunk by chunk and rewrites the chunks that differ (progress: current and total both
 * grow by the bytes rewritten, as QEMU's mirror adds dirty bytes to its total). File
 * timestamps are coarse (a kernel tick), so a write in the same tick as a poll may be seen
 * only at the next change; the final sync therefore compares the whole file regardless.
 */
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { defineJob } from '../handler.js';
import type { ReadyOutcome } from '../handler.js';
import { asideHooks, openAside } from './aside.js';
import type { OpenAside } from './aside.js';
import { copyChunks } from './copy.js';
import { retrying } from './io-retry.js';
import { DataPath } from './paths.js';
import { changeKey, openSource } from './source.js';

/** How often the source is looked at while ready. */
export const POLL_MS = 50;

export const MirrorParams = z.strictObject({ source: DataPath, target: DataPath });
export type MirrorParams = z.infer<typeof MirrorParams>;

type Pass = 'initial' | 'resync';

export function mirrorJob(dataDir: string) {
  return defineJob(
    'mirror',
    {
      params: MirrorParams,
      description: (p) => `mirror of '${p.source}' to '${p.target}'`,
      hooks: asideHooks<MirrorParams>(dataDir, (p) => p.target),
    },
    async (job) => {
      const { source, target } = job.params;
      const progress = { done: 0, total: 0 };

      /** Bring the aside copy up to date with the source; the source's change key before the pass. */
      const sync = async (out: OpenAside, pass: Pass): Promise<{ key: string; real: string }> => {
        const src = await openSource(job, dataDir, source);
        try {
          if (pass === 'initial') {
            progress.total = src.size;
            job.progress(0, src.size);
            await retrying(job, 'write', 'write', target, () => out.file.chmod(src.mode));
          }
          await copyChunks(job, { file: src.file, name: source }, { file: out.file, name: target }, {
            size: src.size,
            compare: pass !== 'initial',
            account: async (bytes, written) => {
              if (pass === 'initial' || written) {
                progress.done += bytes;
                if (pass !== 'initial') progress.total += bytes;
                job.progress(progress.done, progress.total);
                await job.throttle(bytes);
              } else {
                await job.pausePoint();
              }
            },
          });
          return { key: src.key, real: src.real };
        } finally {
          await src.file.close();
        }
      };

      const out = await openAside(job, dataDir, target);
      try {
        let last = await sync(out, 'initial');
        const changed = async () => (await currentKey(last.real)) !== last.key;
        while (await changed()) last = await sync(out, 'resync');

        const outcome = settle(job.ready());
        while (outcome.value === undefined) {
          await job.sleep(POLL_MS);
          if (outcome.value === undefined && (await changed())) last = await sync(out, 'resync');
        }
        if ((await outcome.promise) === 'cancel') return; // soft cancel: not put in place
        await sync(out, 'resync'); // the final sync: compares everything
        await retrying(job, 'write', 'write', target, () => out.file.datasync());
      } finally {
        await out.file.close();
      }
    },
  );
}

/** The source's change key now; a source that cannot be looked at counts as changed. */
async function currentKey(real: string): Promise<string | undefined> {
  return stat(real, { bigint: true }).then(changeKey, () => undefined);
}

/** A promise whose outcome can be looked at without awaiting it (and whose rejection is never unhandled). */
function settle(promise: Promise<ReadyOutcome>): { value: ReadyOutcome | 'failed' | undefined; promise: Promise<ReadyOutcome> } {
  const state: { value: ReadyOutcome | 'failed' | undefined; promise: Promise<ReadyOutcome> } = { value: undefined, promise };
  promise.then(
    (value) => (state.value = value),
    () => (state.value = 'failed'),
  );
  return state;
}
