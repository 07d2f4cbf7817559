/**
 * Bad uploads and downloads get a clear 4xx and lose nothing: no `data` part or not first, bad
 * JSON, an unknown type, too many files, a file too large, a client that disconnects or stalls
 * mid-upload (the job fails with a clear error, nothing is left in the data directory), a
 * client that never finishes its headers, a huge header, file names with `../`. The server
 * answers on after each.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { JobsError } from '../../src/sdk/index.js';
import { Command } from '../../src/protocol/subjects.js';
import { MiB, bigFile } from '../pipes/helpers.js';
import { run, startHttpStack } from './helpers.js';
import type { HttpStack } from './helpers.js';

const BACKUP = (target: string, more = '') => `data={"method": "backup", "params": {"source": "pipe:input", "target": "${target}"}${more}}`;

describe('bad input over HTTP', () => {
  let s: HttpStack;
  let alice: JobsClient;
  let port: number;

  /** POST /_upload with curl's -F arguments: the status and the reply's JSON. */
  async function upload(...form: string[]): Promise<{ status: number; body: { error?: string; job_id?: string } }> {
    const r = await run('curl', ['-sS', '-u', 'alice:pw', '-w', '\n%{http_code}', `${s.url}/_upload`, ...form.flatMap((f) => ['-F', f])], s.dir);
    const at = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(at + 1)), body: JSON.parse(r.stdout.slice(0, at) || '{}') as { error?: string } };
  }

  /** Every file (not folder) below the data directory, relative, sorted: alice's land in her folder `alice/`. */
  const written = () =>
    readdirSync(s.stack.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => !e.isDirectory())
      .map((e) => relative(s.stack.dataDir, join(e.parentPath, e.name)))
      .sort();

  /** A raw HTTP exchange: write `chunks`, then either end or just stop; resolves to what came back once the server closes. */
  function raw(chunks: Array<string | Buffer>, opts: { hangUp?: boolean } = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let got = '';
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('error', () => resolve(got));
      socket.on('close', () => resolve(got));
      socket.on('connect', () => {
        for (const c of chunks) socket.write(c);
        if (opts.hangUp) setTimeout(() => socket.destroy(), 300);
      });
      socket.setTimeout(60_000, () => reject(new Error('no answer from the server')));
    });
  }

  before(async () => {
    s = await startHttpStack({ limits: { maxFileBytes: 2 * MiB, headersTimeoutMs: 1000, idleTimeoutMs: 1500 } });
    alice = await s.stack.client('alice');
    port = Number(new URL(s.url).port);
    writeFileSync(join(s.dir, 'a.bin'), 'hello\n');
    bigFile(join(s.dir, 'big.bin'), 3);
  });
  after(() => s?.close());

  it("refuses an upload without 'data' first, or with bad JSON, or an unknown type", async () => {
    assert.deepEqual(await upload('file=@a.bin'), { status: 400, body: { error: "The first part must be 'data' (the job start's JSON), not 'file'" } });
    assert.deepEqual(await upload('file=@a.bin', BACKUP('x.img')), { status: 400, body: { error: "The first part must be 'data' (the job start's JSON), not 'file'" } });
    const bad = await upload('data={"method": "backup",', 'file=@a.bin');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error!, /^Part 'data' is not JSON: /);
    const known = (await alice.request('query-job-types', {})).map((t) => t.type).join(', ');
    assert.deepEqual(await upload('data={"method": "nope", "params": {}}', 'file=@a.bin'), { status: 400, body: { error: `Invalid parameter 'type': unknown job type 'nope' (known: ${known})` } });
    assert.deepEqual(await upload('data={"params": {}}', 'file=@a.bin'), { status: 400, body: { error: "Part 'data' must name the job type: 'type' (or TrueNAS's 'method')" } });
    const r = await run('curl', ['-sS', '-u', 'alice:pw', '-w', '\n%{http_code}', '-H', 'content-type: application/json', '-d', '{}', `${s.url}/_upload`], s.dir);
    assert.match(r.stdout, /Not a multipart upload[^]*\n400$/);
    assert.deepEqual(written(), [], 'nothing written');
  });

  it('too many or too few files: 400 naming the job, which does not go on', async () => {
    const many = await upload(BACKUP('two.img', ', "auto-dismiss": false'), 'file=@a.bin', 'file=@a.bin');
    assert.equal(many.status, 400);
    assert.equal(many.body.error, `Too many files: job '${many.body.job_id}' reads 1 input`);
    const manyInfo = await alice.wait(many.body.job_id!);
    assert.equal(manyInfo.status, 'concluded');
    assert.ok(manyInfo.error, 'the job was cancelled');
    const few = await upload(BACKUP('none.img', ', "auto-dismiss": false'));
    assert.equal(few.status, 400);
    assert.equal(few.body.error, `Too few files: job '${few.body.job_id}' reads 1 input, the upload had 0`);
    assert.equal((await alice.wait(few.body.job_id!)).error, `The upload was refused: Too few files: job '${few.body.job_id}' reads 1 input, the upload had 0`);
    assert.deepEqual(written(), [], 'nothing written');
  });

  it('a file larger than allowed: 413, and the job fails with that', async () => {
    const r = await upload(BACKUP('big.img', ', "auto-dismiss": false'), 'file=@big.bin');
    assert.equal(r.status, 413);
    assert.equal(r.body.error, `File 'big.bin' is larger than allowed (at most ${2 * MiB} bytes)`);
    const info = await alice.wait(r.body.job_id!);
    assert.equal(info.error, `Input 1 was not uploaded completely: File 'big.bin' is larger than allowed (at most ${2 * MiB} bytes)`);
    assert.deepEqual(written(), [], 'nothing left behind');
  });

  it('a client that disconnects or stalls mid-upload: the job fails with a clear error, nothing left behind', async () => {
    for (const [id, hangUp] of [['cut', true], ['stall', false]] as const) {
      const boundary = 'XyZ';
      const head = [
        `--${boundary}\r\ncontent-disposition: form-data; name="data"\r\n\r\n{"type":"backup","id":"${id}","auto-dismiss":false,"params":{"source":"pipe:input","target":"${id}.img"}}\r\n`,
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="part.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`,
      ].join('');
      const body = Buffer.concat([Buffer.from(head), Buffer.alloc(256 * 1024, 7)]);
      const auth = Buffer.from('alice:pw').toString('base64');
      const request = `POST /_upload HTTP/1.1\r\nhost: x\r\nauthorization: Basic ${auth}\r\ncontent-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: ${body.length + 1_000_000}\r\n\r\n`;
      await raw([request, body], { hangUp });
      const info = await alice.wait(id);
      assert.equal(info.status, 'concluded');
      assert.match(info.error ?? '', /^Input 1 was not uploaded completely: The HTTP client disconnected before the upload ended$/, `${id}: ${info.error}`);
    }
    assert.deepEqual(written(), [], 'nothing left behind');
  });

  it('headers that never end: 408; a huge header: 431', async () => {
    const slow = await raw(['POST /_upload HTTP/1.1\r\nhost: x\r\n']);
    assert.match(slow, /^HTTP\/1\.1 408 /);
    const huge = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `x-big: ${'a'.repeat(20_000)}`, `${s.url}/healthz`], s.dir);
    assert.equal(huge.stdout, '431');
  });

  it("file names with ../: a download's is refused, an upload's names nothing on disk", async () => {
    await assert.rejects(
      alice.request(Command.jobDownload, { type: 'backup', params: { source: 'a', target: 'pipe:output' }, filename: '../../etc/passwd' }),
      (err: JobsError) => err.code === 400 && err.message === "Parameter 'filename' is invalid: '../../etc/passwd' is not a plain file name (no '/', '\\', quotes or control characters)",
    );
    const r = await upload(BACKUP('safe.img'), 'file=@a.bin;filename=../../escape.bin');
    assert.equal(r.status, 200);
    await alice.wait(r.body.job_id!);
    assert.deepEqual(written(), ['alice/safe.img']);
    assert.deepEqual(readdirSync(s.dir).sort(), ['a.bin', 'big.bin']);
  });

  it('answers on after all that', async () => {
    const h = await run('curl', ['-sS', '-f', `${s.url}/healthz`], s.dir);
    assert.equal(h.stdout, '{"live":true,"ready":true}');
  });
});
