/**
 * jobctl against a nats-server that enforces users and permissions: a refused publish or
 * subscription exits 4 and names the subject; bad credentials exit 4; a call whose events may
 * not be watched still gives its result.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NatsServer } from '../../src/nats/server.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { cliTypes, jobctl } from './helpers.js';

// `*` stands for the stack's prefix (one token). Connections without credentials are the service.
const CONFIG = `
authorization {
  users = [
    { user: svc, password: svc-secret }
    { user: alice, password: alice-pw, permissions: {
        publish: { allow: ["*.cmd.alice.query-jobs", "*.cmd.alice.job-start", "*.cmd.alice.job-wait"] }
        subscribe: { allow: ["*.evt.alice.>", "_INBOX_alice.>"] } } }
    { user: mallory, password: mallory-pw, permissions: {
        publish: { allow: ["*.cmd.mallory.>"] }
        subscribe: { allow: ["_INBOX_mallory.>"] } } }
  ]
}
no_auth_user: svc
`;

describe('jobctl with broker permissions', () => {
  let dir: string;
  let server: NatsServer;
  let stack: Stack;
  let base: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobctl-auth-'));
    writeFileSync(join(dir, 'auth.conf'), CONFIG);
    server = await NatsServer.start({ config: join(dir, 'auth.conf') });
    // This server has no JetStream: jobs are kept in memory only.
    stack = await startStack({ server, types: cliTypes(), persistence: false });
    base = ['--server', server.url, '--prefix', stack.prefix];
  });
  after(async () => {
    await stack.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('allowed commands work, with the password from --password or JOBS_PASSWORD', async () => {
    const [flag, env] = await Promise.all([
      jobctl([...base, '--user', 'alice', '--password', 'alice-pw', 'query']),
      jobctl([...base, 'query', '-q'], { env: { JOBS_USER: 'alice', JOBS_PASSWORD: 'alice-pw' } }),
    ]);
    assert.equal(flag.code, 0, flag.stderr);
    assert.equal(env.code, 0, env.stderr);
  });

  test('a refused publish: exit 4, naming the subject', async () => {
    const r = await jobctl([...base, '--user', 'alice', 'pause', 'j1'], { env: { JOBS_PASSWORD: 'alice-pw' } });
    assert.deepEqual(r, {
      code: 4,
      stdout: '',
      stderr: `jobctl: permission denied: the NATS server does not let this account publish to '${stack.prefix}.cmd.alice.job-pause'\n`,
    });
  });

  test('a refused subscription: exit 4, naming the subject', async () => {
    const r = await jobctl([...base, '--user', 'alice', 'watch', '--owner', '*'], { env: { JOBS_PASSWORD: 'alice-pw' } });
    assert.equal(r.code, 4);
    assert.ok(r.stderr.endsWith(`jobctl: permission denied: the NATS server does not let this account subscribe to '${stack.prefix}.evt.*.*.*'\n`), r.stderr);
  });

  test('bad credentials: exit 4, saying which settings to check', async () => {
    const r = await jobctl([...base, '--user', 'alice', 'query'], { env: { JOBS_PASSWORD: 'wrong' } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /^jobctl: NATS at nats:\/\/127\.0\.0\.1:\d+ refused the credentials \(.*\): check --user, --password\/JOBS_PASSWORD or --creds\n$/);
    const creds = await jobctl([...base, '--user', 'alice', '--creds', join(dir, 'missing.creds'), 'query']);
    assert.equal(creds.code, 2);
    assert.match(creds.stderr, /cannot read the creds file .*missing\.creds/);
  });

  test('call --job without permission to watch events still prints the result', async () => {
    const r = await jobctl([...base, '--user', 'mallory', 'call', '--job', 'test', '{"steps": 2, "step-ms": 10, "result": "ok"}'], { env: { JOBS_PASSWORD: 'mallory-pw' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '"ok"\n');
    assert.match(r.stderr, new RegExp(`no progress shown: permission denied: .* subscribe to '${stack.prefix}\\.evt\\.mallory\\.\\*\\.\\*'`));
  });
});
