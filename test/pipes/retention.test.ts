/** Retention: a job's output can be read again after it concluded, until JOBS_PIPE_RETENTION_MS has passed. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startFilesStack } from '../jobs/helpers.js';
import type { FilesStack } from '../jobs/helpers.js';

const RETENTION_MS = 300;

describe('pipe retention', () => {
  let s: FilesStack;
  before(async () => {
    s = await startFilesStack({ pipes: { retentionMs: RETENTION_MS } });
  });
  after(() => s.close());

  it('keeps the output for the retention time, then says it is gone', async () => {
    writeFileSync(s.at('kept.txt'), 'kept a while\n');
    const id = await s.alice.start('backup', { params: { source: 'kept.txt', target: 'pipe:output' } });
    await s.finished(id);
    for (let i = 0; i < 2; i++) {
      const chunks: Uint8Array[] = [];
      await s.alice.download(id, (c) => void chunks.push(c));
      assert.equal(Buffer.concat(chunks).toString(), 'kept a while\n');
    }
    await new Promise((r) => setTimeout(r, RETENTION_MS + 200));
    await assert.rejects(s.alice.download(id, () => undefined, { checkEveryMs: 50 }), { name: 'PipeError', message: `Output of job '${id}' is not kept (any more)` });
  });
});
