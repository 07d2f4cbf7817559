/**
 * Identity over HTTP is the broker's: under nats-auth.conf the HTTP Basic credentials are
 * checked by nats-server (the HTTP server connects as that user), a wrong password is 401, and
 * bob's credentials can neither download from nor upload into alice's job.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startHttp } from '../../src/http/start.js';
import type { RunningHttp } from '../../src/http/start.js';
import { serviceHealth } from '../../src/http/beside.js';
import { Command } from '../../src/protocol/subjects.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { startAuthServer } from '../security/auth-server.js';
import type { AuthServer } from '../security/auth-server.js';
import { run } from './helpers.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

describe('HTTP under nats-auth.conf', () => {
  let auth: AuthServer;
  let stack: Stack;
  let http: RunningHttp;
  let alice: JobsClient;
  let dir: string;
  const lines: string[] = [];
  const u = (user: 'alice' | 'bob', pass?: string) => `${user}:${pass ?? auth.passwords[user]}`;

  before(async () => {
    auth = await startAuthServer({ prefix: 'jobs' });
    stack = await startStack({ server: auth.server, prefix: auth.prefix, connection: { user: 'jobstate', pass: auth.passwords.jobstate } });
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    http = await startHttp({
      nc: stack.nc,
      servers: auth.server.url,
      prefix: auth.prefix,
      logger,
      listen: { host: '127.0.0.1', port: 0 },
      health: serviceHealth(stack.nc, () => true),
      metrics: () => stack.service.metrics.text(),
      plugins: [],
    });
    alice = await stack.client('alice', auth.passwords.alice);
    dir = mkdtempSync(join(tmpdir(), 'jobstate-http-auth-'));
    writeFileSync(join(dir, 'a.bin'), 'alice data\n');
    writeFileSync(join(dir, 'b.bin'), 'bob data\n');
  });
  after(async () => {
    await http?.close();
    await stack?.close();
    await auth?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says at start that nats-server checks the HTTP Basic credentials', () => {
    assert.ok(lines.some((l) => l.includes('callers authenticate with HTTP Basic, checked by nats-server')));
    assert.ok(!lines.some((l) => l.includes('WITHOUT authentication')));
  });

  it('uploads with the right password; a wrong or missing one is 401', async () => {
    const form = ['-F', 'data={"method": "backup", "params": {"source": "pipe:input", "target": "a.img"}}', '-F', 'file=@a.bin'];
    const ok = await run('curl', ['-sS', '-f', `${http.url}/_upload`, '-u', u('alice'), ...form], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await alice.wait((JSON.parse(ok.stdout) as { job_id: string }).job_id)).error, undefined);
    for (const creds of [['-u', u('alice', 'wrong')], ['-u', u('bob', auth.passwords.alice)], []]) {
      const r = await run('curl', ['-sS', '-i', `${http.url}/_upload`, ...creds, ...form], dir);
      assert.match(r.stdout, /^HTTP\/1\.1 401 /, r.stdout);
      assert.match(r.stdout, /www-authenticate: Basic realm="jobstate"/i);
    }
  });

  it("bob's credentials cannot download alice's job; the URL stays alice's", async () => {
    // alice's file jobs read her own folder (docs/security.md, Files).
    mkdirSync(join(stack.dataDir, 'alice'), { recursive: true });
    writeFileSync(join(stack.dataDir, 'alice', 'secret.img'), 'alice secret\n');
    const { id, url } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'secret.img', target: 'pipe:output' }, filename: 'secret.img', buffered: true });
    await alice.wait(id);
    const bob = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', u('bob'), `${http.url}${url}`], dir);
    assert.equal(bob.stdout, '404');
    const nobody = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${http.url}${url}`], dir);
    assert.equal(nobody.stdout, '401');
    const wrong = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-u', u('alice', 'wrong'), `${http.url}${url}`], dir);
    assert.equal(wrong.stdout, '401');
    // wget sends the credentials once challenged (401), and the URL was not used up meanwhile.
    const w = await run('wget', ['-q', '--content-disposition', '--user', 'alice', '--password', auth.passwords.alice, `${http.url}${url}`], dir);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(readFileSync(join(dir, 'secret.img'), 'utf8'), 'alice secret\n');
  });

  it("bob's upload naming alice's job id starts a job of bob's own; alice's gets alice's bytes", async () => {
    const id = await alice.start('backup', { id: 'shared', params: { source: 'pipe:input', target: 'shared-alice.img' }, pipes: { inputs: [{}] } });
    const r = await run('curl', ['-sS', '-f', `${http.url}/_upload`, '-u', u('bob'), '-F', 'data={"method": "backup", "id": "shared", "params": {"source": "pipe:input", "target": "shared-bob.img"}}', '-F', 'file=@b.bin'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { job_id: 'shared' });
    // The reply comes once the file is stored; bob's job then writes it.
    const bob = await stack.client('bob', auth.passwords.bob);
    assert.equal((await bob.wait('shared')).error, undefined);
    await alice.upload(id, 0, [Buffer.from('alice data\n')]);
    assert.equal((await alice.wait(id)).error, undefined);
    // Each job wrote into its owner's folder.
    assert.equal(readFileSync(join(stack.dataDir, 'alice', 'shared-alice.img'), 'utf8'), 'alice data\n');
    assert.equal(readFileSync(join(stack.dataDir, 'bob', 'shared-bob.img'), 'utf8'), 'bob data\n');
  });
});
