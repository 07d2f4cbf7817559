/** Pipes end to end with the built-in backup: upload into the data directory, download out of it. */
import assert from 'node:assert/strict';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startFilesStack } from '../jobs/helpers.js';
import type { FilesStack } from '../jobs/helpers.js';
import { MiB, bigFile, fileSha256, hashingSink } from './helpers.js';

describe('pipes with backup', () => {
  let s: FilesStack;
  before(async () => {
    s = await startFilesStack();
  });
  after(() => s.close());

  it('backs up an uploaded file into the data directory', async () => {
    bigFile(s.at('../up-src.bin'), 3);
    const id = await s.alice.start('backup', {
      params: { source: 'pipe:input', target: 'up.bin' },
      pipes: { inputs: [{ name: 'up-src.bin', size: 3 * MiB }] },
    });
    const sent = await s.alice.upload(id, 0, createReadStream(s.at('../up-src.bin')));
    const info = await s.finished(id);
    assert.equal(info.error, undefined);
    assert.equal(sent.size, 3 * MiB);
    assert.equal(await fileSha256(s.at('up.bin')), await fileSha256(s.at('../up-src.bin')));
  });

  it('downloads a file while the job runs', async () => {
    bigFile(s.at('down.bin'), 5);
    const id = await s.alice.start('backup', { params: { source: 'down.bin', target: 'pipe:output' }, pipes: { output: 'stream' } });
    const got = hashingSink();
    const received = await s.alice.download(id, got.sink);
    assert.equal(received.size, 5 * MiB);
    assert.equal(got.hex(), await fileSha256(s.at('down.bin')));
    assert.equal((await s.finished(id)).error, undefined);
  });

  it('downloads the output after the job concluded', async () => {
    writeFileSync(s.at('small.txt'), 'hello pipes\n');
    const id = await s.alice.start('backup', { params: { source: 'small.txt', target: 'pipe:output' } });
    await s.finished(id);
    const chunks: Uint8Array[] = [];
    await s.alice.download(id, (c) => void chunks.push(c));
    assert.equal(Buffer.concat(chunks).toString(), readFileSync(s.at('small.txt'), 'utf8'));
  });

  it("reports a failed job's error to its downloader", async () => {
    const id = await s.alice.start('backup', { params: { source: 'missing.bin', target: 'pipe:output' } });
    await assert.rejects(s.alice.download(id, () => undefined), { name: 'PipeError', message: "Could not open 'missing.bin': No such file or directory" });
  });
});
