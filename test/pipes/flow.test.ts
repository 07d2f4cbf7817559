/**
 * Pipes under stress of the kinds TrueNAS's users met: several inputs read in order, a
 * downloader that goes away mid-stream, an upload that never comes, failed and cancelled
 * jobs' downloads — each ends its own job with a clear error, and the service carries on.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobsClient } from '../../src/sdk/index.js';
import { startFilesStack } from '../jobs/helpers.js';
import type { FilesStack } from '../jobs/helpers.js';
import { MiB, bigFile, hashingSink } from './helpers.js';
import { createHash } from 'node:crypto';

/** Writes its inputs, in order, to its output: what `cat a b` does. */
const concat = defineJob('concat', { params: z.strictObject({}), pipes: { inputs: [1, 4], output: true } }, async (job) => {
  for (const input of job.pipes.inputs) {
    for await (const chunk of input) {
      await job.pipes.output!.write(chunk);
      await job.pausePoint();
    }
  }
});

const STALL_MS = 400;

describe('pipes under stress', () => {
  let s: FilesStack;
  before(async () => {
    s = await startFilesStack({
      types: (dir) => builtinTypes(dir).register(concat),
      pipes: { stallTimeoutMs: STALL_MS, windowBytes: MiB },
    });
  });
  after(() => s.close());

  it('takes two inputs and reads them in order', async () => {
    bigFile(s.at('../one.bin'), 3);
    bigFile(s.at('../two.bin'), 2);
    const id = await s.alice.start('concat', { pipes: { inputs: [{ name: 'one.bin' }, { name: 'two.bin' }], output: 'stream' } });
    const got = hashingSink();
    const downloading = s.alice.download(id, got.sink);
    await s.alice.upload(id, 0, createReadStream(s.at('../one.bin')));
    await s.alice.upload(id, 1, createReadStream(s.at('../two.bin')));
    await downloading;
    const want = createHash('sha256');
    for (const f of ['../one.bin', '../two.bin']) for await (const c of createReadStream(s.at(f))) want.update(c as Buffer);
    assert.equal(got.size, 5 * MiB);
    assert.equal(got.hex(), want.digest('hex'));
    assert.equal((await s.finished(id)).error, undefined);
  });

  it('fails only its own job when the downloader disconnects mid-stream', async () => {
    bigFile(s.at('big.bin'), 16);
    const id = await s.alice.start('backup', { params: { source: 'big.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
    const reader = await JobsClient.connect({ servers: s.stack.server.url, user: 'alice', prefix: s.stack.prefix });
    let got = 0;
    const gone = new Promise<void>((resolve) => {
      reader
        .download(id, async (chunk) => {
          got += chunk.length;
          if (got >= 2 * MiB) {
            resolve();
            await reader.nc.close(); // gone, mid-stream, without a word
          }
        })
        .catch(() => undefined);
    });
    await gone;
    const info = await s.finished(id);
    assert.equal(info.error, `Output stalled: its reader read nothing for ${STALL_MS} ms`);
    // The service and other jobs are untouched.
    const other = await s.alice.start('test', { params: { steps: 2, 'step-ms': 1 } });
    assert.equal((await s.finished(other)).error, undefined);
  });

  it('fails a job whose upload never comes', async () => {
    const id = await s.alice.start('backup', { params: { source: 'pipe:input', target: 'never.bin' }, pipes: { inputs: [{ name: 'never.bin' }] } });
    const info = await s.finished(id);
    assert.equal(info.error, `Input 1 ('never.bin') stalled: nothing was written to it for ${STALL_MS} ms`);
  });

  it('ends the download of a cancelled job with the cancel', async () => {
    bigFile(s.at('slow.bin'), 4);
    const id = await s.alice.start('backup', { params: { source: 'slow.bin', target: 'pipe:output' }, speed: MiB });
    const downloading = s.alice.download(id, () => undefined);
    // It may reject before assert.rejects below takes it: not an unhandled rejection.
    downloading.catch(() => undefined);
    await s.events.until((e) => e.data.id === id && e.event === 'JOB_PROGRESS' && Number(e.data['current-progress']) > 0);
    await s.alice.cancel(id);
    await assert.rejects(downloading, { name: 'PipeError', message: 'Operation canceled' });
  });

  it('tells the uploader when the job ends without reading its input', async () => {
    bigFile(s.at('../up.bin'), 8);
    const id = await s.alice.start('backup', { params: { source: 'pipe:input', target: 'x/in/missing/dir' }, pipes: { inputs: [{}] } });
    await assert.rejects(s.alice.upload(id, 0, createReadStream(s.at('../up.bin'))), (err: Error) => {
      assert.equal(err.name, 'PipeError');
      assert.match(err.message, /^Job '.*' ended before reading Input 1: Could not open 'x\/in\/missing\/dir': No such file or directory$/);
      return true;
    });
  });

  it('checks the announced size', async () => {
    const id = await s.alice.start('backup', { params: { source: 'pipe:input', target: 'sized.bin' }, pipes: { inputs: [{ size: 20 }] } });
    await s.alice.upload(id, 0, [Buffer.from('only 10 by')]);
    const info = await s.finished(id);
    assert.equal(info.error, 'Input 1 has 10 bytes, not the 20 announced');
  });
});
