/**
 * `npm run http`: the HTTP server as its own process next to a service elsewhere (NATS_URL):
 * health and metrics asked of the service over NATS (`<prefix>.svc.metrics`), uploads and
 * downloads as their callers.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Command } from '../../src/protocol/subjects.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startNatsServer, startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { run } from './helpers.js';

const HTTP_MAIN = join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist/src/http/main.js');

describe('npm run http: the HTTP server on its own', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let stack: Stack | undefined;
  let child: ChildProcess;
  let dir: string;
  let url: string;
  const prefix = `hs${process.pid}`;
  let stdout = '';

  before(async () => {
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), 'jobstate-http-alone-'));
    child = spawn(process.execPath, [HTTP_MAIN], {
      cwd: dir,
      env: { ...process.env, NATS_URL: server.url, JOBS_PREFIX: prefix, JOBS_HTTP: '127.0.0.1:0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const urlFile = join(dir, 'data', 'http.url');
    while (!(existsSync(urlFile) && readFileSync(urlFile, 'utf8').endsWith('\n'))) await new Promise((r) => setTimeout(r, 50));
    url = readFileSync(urlFile, 'utf8').trim();
  });
  after(async () => {
    child?.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    await stack?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is live but not ready while no service answers, and says it runs without authentication', async () => {
    const r = await fetch(`${url}/healthz`);
    assert.equal(r.status, 503);
    const body = (await r.json()) as { live: boolean; ready: boolean; reason: string };
    assert.equal(body.live, true);
    assert.equal(body.ready, false);
    assert.match(body.reason, /^the service does not answer: /);
    assert.match(stdout, /HTTP server listening WITHOUT authentication/);
  });

  it('once the service runs: ready, its metrics, uploads and downloads', async () => {
    stack = await startStack({ server, prefix });
    const alice: JobsClient = await stack.client('alice');
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    writeFileSync(join(dir, 'a.bin'), 'standalone\n');
    const up = await run('curl', ['-sS', '-f', `${url}/_upload`, '-u', 'alice:x', '-F', 'data={"method": "backup", "params": {"source": "pipe:input", "target": "a.img"}}', '-F', 'file=@a.bin'], dir);
    assert.equal(up.code, 0, up.stderr);
    assert.equal((await alice.wait((JSON.parse(up.stdout) as { job_id: string }).job_id)).error, undefined);
    const { url: path } = await alice.request(Command.jobDownload, { type: 'backup', params: { source: 'a.img', target: 'pipe:output' }, filename: 'back.bin' });
    const down = await run('wget', ['-q', '--content-disposition', `${url}${path}`], dir);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(readFileSync(join(dir, 'back.bin'), 'utf8'), 'standalone\n');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^jobstate_commands_total\{command="job-download",result="ok"\} 1$/m);
    assert.match(metrics, /^jobstate_http_requests_total\{method="POST",route="\/_upload",status="200"\} 1$/m);
  });
});
