/**
 * TrueNAS's HTTP lines (docs: truenas-middleware-jobs.rst, "Using the pipes with the REST API"),
 * with curl and wget, against a running service: `/_upload` of one file into a backup and of
 * two files into a job reading two, `job-download` URLs fetched with `wget --content-disposition`
 * (unbuffered and buffered, byte-identical), a failed job's download, a used URL, /metrics.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { Command } from '../../src/protocol/subjects.js';
import { MiB, bigFile, fileSha256 } from '../pipes/helpers.js';
import { run, startHttpStack } from './helpers.js';
import type { HttpStack } from './helpers.js';

/** Reads its two inputs in order; its result is the SHA-256 of the two together. */
const pair = defineJob('pair', { params: z.strictObject({}), pipes: { inputs: 2 } }, async (job) => {
  const hash = createHash('sha256');
  const sizes: number[] = [];
  for (const input of job.pipes.inputs) {
    let size = 0;
    for await (const chunk of input) {
      hash.update(chunk);
      size += chunk.length;
    }
    sizes.push(size);
  }
  return { sha256: hash.digest('hex'), sizes };
});

/** Writes three lines to its log. */
const chatty = defineJob('chatty', { params: z.strictObject({}) }, async (job) => {
  for (let i = 1; i <= 3; i++) job.log.info(`line ${i}`);
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('TrueNAS upload and download over HTTP (curl, wget)', () => {
  let s: HttpStack;
  let alice: JobsClient;

  before(async () => {
    s = await startHttpStack({ types: (dir) => builtinTypes(dir).register(pair).register(chatty) });
    alice = await s.stack.client('alice');
  });
  after(() => s?.close());

  it('uploads one file into a backup: curl -F data=… -F file=@…', async () => {
    bigFile(join(s.dir, 'config.tar'), 3);
    const want = await fileSha256(join(s.dir, 'config.tar'));
    const r = await run('curl', ['-sS', '-f', `${s.url}/_upload`, '-u', 'alice:abcd1234', '-F', 'data={"method": "backup", "params": {"source": "pipe:input", "target": "config.img"}}', '-F', 'file=@config.tar'], s.dir);
    assert.equal(r.code, 0, r.stderr);
    const { job_id: id } = JSON.parse(r.stdout) as { job_id: string };
    const info = await alice.wait(id);
    assert.equal(info.error, undefined);
    assert.equal(info.status, 'concluded');
    assert.equal(await fileSha256(join(s.stack.dataDir, 'alice', 'config.img')), want);
  });

  it('uploads two files, in order, into a job that reads two', async () => {
    const a = Buffer.from('metadata {"name": "vm1"}\n');
    bigFile(join(s.dir, 'rootfs.squashfs'), 2);
    writeFileSync(join(s.dir, 'metadata.json'), a);
    const both = Buffer.concat([a, readFileSync(join(s.dir, 'rootfs.squashfs'))]);
    const r = await run('curl', ['-sS', '-f', `${s.url}/_upload`, '-u', 'alice:abcd1234', '-F', 'data={"method": "pair", "params": {}}', '-F', 'file=@metadata.json', '-F', 'file=@rootfs.squashfs'], s.dir);
    assert.equal(r.code, 0, r.stderr);
    const info = await alice.wait((JSON.parse(r.stdout) as { job_id: string }).job_id);
    assert.equal(info.error, undefined);
    assert.deepEqual(info.result, { sha256: sha256(both), sizes: [a.length, 2 * MiB] });
  });

  it('downloads a backup unbuffered and buffered with wget --content-disposition, byte-identical', async () => {
    // alice's file jobs read her own folder (docs/security.md, Files).
    bigFile(join(s.stack.dataDir, 'alice', 'disk.img'), 5);
    const want = await fileSha256(join(s.stack.dataDir, 'alice', 'disk.img'));
    for (const [buffered, filename] of [[false, 'stream.img'], [true, 'buffered.img']] as const) {
      const { id, url } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'disk.img', target: 'pipe:output' }, filename, buffered });
      assert.match(url, new RegExp(`^/_download/[A-Za-z0-9_-]+\\?filename=${filename}$`));
      const r = await run('wget', ['-q', '--content-disposition', `${s.url}${url}`], s.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await fileSha256(join(s.dir, filename)), want, `${filename}: the job's output`);
      assert.equal((await alice.wait(id)).error, undefined);
    }
  });

  it("a failed job's download is an HTTP error carrying its error text, never an empty 200", async () => {
    for (const buffered of [false, true]) {
      const { url } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'nope.img', target: 'pipe:output' }, filename: 'nope.img', buffered });
      const w = await run('wget', ['--content-disposition', `${s.url}${url}`], s.dir);
      assert.equal(w.code, 8, w.stderr); // wget: the server issued an error response
      assert.match(w.stderr, /ERROR 500: Could not open 'nope\.img': No such file or directory/);
    }
    const { url } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'nope.img', target: 'pipe:output' }, filename: 'nope.img' });
    const c = await run('curl', ['-sS', '-w', '\n%{http_code}', `${s.url}${url}`], s.dir);
    const [body, status] = c.stdout.split('\n');
    assert.equal(status, '500');
    assert.deepEqual(JSON.parse(body!), { error: "Could not open 'nope.img': No such file or directory" });
  });

  it('a used URL is 404; so is one never issued', async () => {
    const { id, url } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'disk.img', target: 'pipe:output' }, filename: 'once.img', buffered: true });
    await alice.wait(id);
    assert.equal((await run('curl', ['-sS', '-f', '-o', 'once.img', `${s.url}${url}`], s.dir)).code, 0);
    const again = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${s.url}${url}`], s.dir);
    assert.equal(again.stdout, '404');
    const never = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${s.url}/_download/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?filename=x`], s.dir);
    assert.equal(never.stdout, '404');
  });

  it("job-download-log: the job's log, under its file name", async () => {
    const id = await alice.start('chatty', { params: {} });
    await alice.wait(id);
    const { url } = await alice.request(Command.jobDownloadLog, { id });
    assert.equal(url, url.replace(/filename=.*/, `filename=${id}.log`));
    const r = await run('wget', ['-q', '--content-disposition', `${s.url}${url}`], s.dir);
    assert.equal(r.code, 0, r.stderr);
    const chunks: Uint8Array[] = [];
    await alice.downloadLog(id, (c) => void chunks.push(c));
    const log = readFileSync(join(s.dir, `${id}.log`), 'utf8');
    assert.match(log, /line 1[^]*line 2[^]*line 3/);
    assert.equal(log, Buffer.concat(chunks).toString('utf8'));
  });

  it('/metrics is Prometheus text and counts what was done; /healthz is ready', async () => {
    await alice.wait(await alice.start('test', { params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false }));
    const r = await run('curl', ['-sS', '-f', `${s.url}/metrics`], s.dir);
    assert.equal(r.code, 0, r.stderr);
    const samples = parsePrometheus(r.stdout);
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((sum, x) => sum + x.value, 0);
    assert.equal(value('jobstate_jobs', { type: 'test', status: 'concluded' }), 1, 'jobs by status and type');
    assert.ok(value('jobstate_commands_total', { command: 'job-download', result: 'ok' }) >= 6);
    assert.ok(value('jobstate_command_duration_seconds_count', { command: 'job-start' }) >= 3);
    assert.ok(value('jobstate_events_published_total', { event: 'JOB_STATUS_CHANGE' }) > 0);
    assert.ok(value('jobstate_store_write_duration_seconds_count') > 0);
    assert.ok(value('jobstate_pipe_bytes_total', { direction: 'in' }) >= 5 * MiB, 'uploads read by jobs');
    assert.ok(value('jobstate_pipe_bytes_total', { direction: 'out' }) >= 15 * MiB, 'downloads written by jobs');
    assert.ok(value('jobstate_http_requests_total', { route: '/_upload', status: '200' }) >= 2);
    assert.ok(value('jobstate_http_requests_total', { route: '/_download/:token', status: '404' }) >= 2);
    const h = await run('curl', ['-sS', '-w', '\n%{http_code}', `${s.url}/healthz`], s.dir);
    assert.deepEqual(h.stdout.split('\n'), ['{"live":true,"ready":true}', '200']);
  });
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, strictly: HELP/TYPE comments, then `name{labels} value` lines. */
function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        typed.add(meta[2]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g) ?? []) labels[k!] = v!;
    const name = m[1]!;
    assert.ok([...typed].some((t) => name === t || name.startsWith(`${t}_`)), `${name} has no TYPE line`);
    out.push({ name, labels, value: Number(m[3]) });
  }
  return out;
}
