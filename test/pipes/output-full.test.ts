/**
 * A failed output pipe fails the job (issue #12, F6): with JOBS_PIPE_MAX_BYTES at 1,000,000, a
 * backup of a 2 MB file to `pipe:output` cannot store its output, and concludes with the pipe's
 * error — in JOB_COMPLETED and in JobInfo — instead of succeeding; its downloader is told why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFilesStack } from '../jobs/helpers.js';
import type { FilesStack } from '../jobs/helpers.js';
import { randomFile } from '../jobs/helpers.js';

const FULL = /^Output could not be stored: the pipe storage is full/;

describe('an output the pipe storage cannot hold', () => {
  let s: FilesStack;
  before(async () => {
    s = await startFilesStack({ pipes: { maxBytes: 1_000_000 } });
  });
  after(() => s.close());

  // 1 MiB: read and written in one piece, so that nothing checks the pipe's acknowledgements
  // before the work ends — only the job's end can find out that the output was not stored.
  const cases = [
    ['buffer', 1024 * 1024],
    ['buffer', 2_000_000],
    ['stream', 2_000_000],
  ] as const;
  for (const [mode, bytes] of cases) {
    it(`fails the job with the pipe's error (${mode}, ${bytes} bytes)`, async () => {
      const name = `out-${mode}-${bytes}.bin`;
      randomFile(s.at(name), bytes);
      const id = await s.alice.start('backup', {
        params: { source: name, target: 'pipe:output' },
        pipes: { output: mode },
        'auto-dismiss': false,
      });
      const completed = (async () => {
        for await (const e of s.alice.events({ id, event: 'JOB_COMPLETED' })) return e.data as { error?: string };
        return undefined;
      })();
      if (mode === 'stream') void s.alice.download(id, () => undefined).catch(() => undefined);
      const info = await s.alice.wait(id, { timeoutMs: 30_000 });
      assert.match(info.error ?? '(no error)', FULL);
      assert.match((await completed)?.error ?? '(no error)', FULL);
      assert.equal((await s.alice.query()).find((j) => j.id === id)?.error, info.error);
      await assert.rejects(s.alice.download(id, () => undefined), { name: 'PipeError' });
    });
  }
});
