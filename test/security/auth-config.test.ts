/**
 * Operating the shipped permission model as docs/security.md describes it: nats-server will
 * not start without the passwords, credentials rotate and users come and go with a config
 * reload, and `npm start` runs the embedded server with JOBS_NATS_CONFIG, connecting as its
 * own user (NATS_USER / NATS_PASSWORD) and no longer warning about missing authentication.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PermissionViolationError, connect } from '@nats-io/transport-node';
import { NatsServer } from '../../src/nats/server.js';
import { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import { ROOT, authConfig, passwordsFile, startAuthServer } from './auth-server.js';

/** A bcrypt hash (cost 10) of BOB_NEW, as `nats server passwd` or mkpasswd would print one. */
const BOB_NEW = 'bob-rotated-7Kq2';
const BOB_NEW_HASH = '$2b$10$Djs54/WH9TVMzxR.Wq4UUulAlVbJM8dkjI8IVYCAHq27Oe1zYN1J2';

/**
 * An account for carol, as docs/security.md tells to add one: alice's account block of the
 * shipped file (already under the test's prefix) with the name changed.
 */
function carolBlock(config: string): string {
  const alice = /^  alice: \{\n[\s\S]*?\n  \}\n/m.exec(config)?.[0];
  if (!alice) throw new Error("nats-auth.conf has no account block 'alice'");
  return alice.replaceAll('alice', 'carol').replaceAll('ALICE', 'CAROL');
}

/** `config` with carol's account added before the admin's. */
const withCarol = (config: string) => config.replace('  # An admin:', `${carolBlock(config)}\n  # An admin:`);

/** Waits until `probe` resolves to true (a reload is applied asynchronously). */
async function eventually(what: string, probe: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const canConnect = async (url: string, user: string, pass: string): Promise<boolean> => {
  try {
    await (await connect({ servers: url, user, pass, reconnect: false })).close();
    return true;
  } catch {
    return false;
  }
};

describe('nats-auth.conf in operation', () => {
  test('nats-server refuses to start without the passwords file, or with a password missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jobstate-auth-'));
    try {
      copyFileSync(join(ROOT, 'nats.conf'), join(dir, 'nats.conf'));
      writeFileSync(join(dir, 'nats-auth.conf'), authConfig('jobs'));
      const config = join(dir, 'nats-auth.conf');
      await assert.rejects(NatsServer.start({ config, cwd: dir }), /nats-passwords\.conf/);
      writeFileSync(join(dir, 'nats-passwords.conf'), passwordsFile({ alice: 'a1', bob: 'b1', admin: 'c1' }));
      await assert.rejects(NatsServer.start({ config, cwd: dir }), /JOBSTATE_PASSWORD/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rotating a password and adding a user take a reload, not a restart', async () => {
    const auth = await startAuthServer();
    const stack = await startStack({ server: auth.server, prefix: auth.prefix, connection: { user: 'jobstate', pass: auth.passwords.jobstate } });
    try {
      const url = auth.server.url;
      const alice = await stack.client('alice', auth.passwords.alice);
      const bob = await stack.client('bob', auth.passwords.bob);
      await alice.start('test', { id: 'keeps-running', params: { steps: 100_000, 'step-ms': 20 } });
      await bob.start('test', { id: 'bobs', params: { steps: 100_000, 'step-ms': 20 } });

      // Rotate bob's password: the file now holds a bcrypt hash of the new one; add carol.
      const carolPassword = 'carol-Xk81';
      writeFileSync(
        join(auth.dir, 'nats-passwords.conf'),
        passwordsFile({ ...auth.passwords, bob: BOB_NEW_HASH, carol: carolPassword }),
      );
      const config = readFileSync(auth.config, 'utf8');
      writeFileSync(auth.config, withCarol(config));
      // nats-server 2.9.10 wires a new account's imports only on the reload after the one that
      // made the account (docs/security.md, Adding a user): reload, then reload again.
      const reloads = () => auth.server.output.split('Reloaded server configuration').length - 1;
      const before = reloads();
      auth.server.reload();
      await eventually('the configuration is reloaded', async () => reloads() > before);
      auth.server.reload();
      await eventually('the configuration is reloaded again', async () => reloads() > before + 1);

      await eventually('the old password is refused', async () => !(await canConnect(url, 'bob', auth.passwords.bob)));
      assert.ok(await canConnect(url, 'bob', BOB_NEW), 'the new password is accepted');
      // Bob's session on the old password is closed by the server.
      await eventually("bob's old session is closed", async () => bob.nc.isClosed());
      // Everyone else carries on: alice and the service were not disturbed.
      assert.equal((await alice.query()).find((j) => j.id === 'keeps-running')?.status, 'running');

      // Bob, back with the new password, finds his job as he left it.
      const bobAgain = await JobsClient.connect({ servers: url, user: 'bob', pass: BOB_NEW, prefix: auth.prefix });
      try {
        assert.equal((await bobAgain.query()).find((j) => j.id === 'bobs')?.status, 'running');
      } finally {
        await bobAgain.close();
      }

      // Carol exists now, with a user's rights only.
      const carol = await JobsClient.connect({ servers: url, user: 'carol', pass: carolPassword, prefix: auth.prefix });
      try {
        const id = await carol.start('test', { params: { steps: 1, 'step-ms': 1 } });
        assert.equal((await carol.wait(id, { timeoutMs: 5000 })).owner, 'carol');
        assert.deepEqual(await carol.query({ owner: 'alice' }), []);
        // Her pipes work through the imports of her block (her own stream, her own folder).
        mkdirSync(join(stack.dataDir, 'carol'), { recursive: true });
        writeFileSync(join(stack.dataDir, 'carol', 'c.txt'), 'carol only\n');
        const dl = await carol.start('backup', { params: { source: 'c.txt', target: 'pipe:output' } });
        const chunks: Uint8Array[] = [];
        await carol.download(dl, (c) => void chunks.push(c));
        assert.equal(Buffer.concat(chunks).toString(), 'carol only\n');
        const spy = carol.nc.subscribe(`${auth.prefix}.evt.alice.>`);
        await carol.nc.flush();
        assert.ok((await spy.closed) instanceof PermissionViolationError);

        // A leftover password line makes the reload fail: the server keeps the previous config.
        writeFileSync(auth.config, config);
        auth.server.reload();
        await eventually('the failed reload is logged', async () => auth.server.output.includes('unknown field "CAROL_PASSWORD"'));
        assert.ok(await canConnect(url, 'carol', carolPassword), 'carol is still there');
        // Removing both the block and the password line removes carol, and closes her session.
        writeFileSync(join(auth.dir, 'nats-passwords.conf'), passwordsFile({ ...auth.passwords, bob: BOB_NEW_HASH }));
        auth.server.reload();
        await eventually("carol's session is closed", async () => carol.nc.isClosed());
        assert.equal(await canConnect(url, 'carol', carolPassword), false);
        assert.equal((await alice.query()).find((j) => j.id === 'keeps-running')?.status, 'running');
      } finally {
        await carol.close();
      }
    } finally {
      await stack.close();
      await auth.stop();
    }
  });

  test('npm start with JOBS_NATS_CONFIG runs the embedded server with authentication, as its own user', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'jobstate-main-auth-'));
    // Keep 4322 taken so the embedded server picks a free port (and never disturbs another test's).
    const squatter = createServer();
    await new Promise<void>((resolve) => {
      squatter.once('error', () => resolve());
      squatter.listen(4322, '127.0.0.1', () => resolve());
    });
    const passwords = { alice: 'alice-pw-1', bob: 'bob-pw-1', admin: 'admin-pw-1', jobstate: 'svc-pw-1' };
    copyFileSync(join(ROOT, 'nats.conf'), join(cwd, 'nats.conf'));
    copyFileSync(join(ROOT, 'nats-auth.conf'), join(cwd, 'nats-auth.conf'));
    writeFileSync(join(cwd, 'nats-passwords.conf'), passwordsFile(passwords));
    const main = join(ROOT, 'dist/src/main.js');
    const run = (env: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, [main], {
        cwd,
        env: { ...process.env, NATS_URL: '', JOBS_PREFIX: '', LOG_LEVEL: 'info', JOBS_NATS_CONFIG: 'nats-auth.conf', NATS_USER: 'jobstate', ...env },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const lines = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string });
      return { child, exited, lines, stderr: () => err };
    };
    try {
      // Wrong service password: one line, exit 1, and no nats-server left behind.
      const refused = run({ NATS_PASSWORD: 'wrong' });
      assert.equal(await refused.exited, 1);
      assert.match(refused.stderr().trim(), /^jobstate: Invalid setting NATS_USER\/NATS_PASSWORD: the nats-server refused them \(.*Authorization Violation.*\)$/);
      const leftover = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
      assert.equal(await canConnect(leftover, 'alice', passwords.alice), false, 'the embedded nats-server was left running');

      const svc = run({ NATS_PASSWORD: passwords.jobstate });
      try {
        await eventually('ready', async () => svc.lines().some((l) => l.msg === 'ready'), 15_000);
        assert.equal(svc.lines().filter((l) => String(l.msg).includes('WITHOUT authentication')).length, 0);
        const url = readFileSync(join(cwd, 'data', 'nats.url'), 'utf8').trim();
        assert.notEqual(url, 'nats://127.0.0.1:4222');
        await assert.rejects(connect({ servers: url, reconnect: false }), { name: 'AuthorizationError' });
        const alice = await JobsClient.connect({ servers: url, user: 'alice', pass: passwords.alice });
        try {
          const id = await alice.start('test', { params: { steps: 1, 'step-ms': 1 } });
          assert.equal((await alice.wait(id, { timeoutMs: 5000 })).status, 'concluded');
        } finally {
          await alice.close();
        }
        svc.child.kill('SIGTERM');
        assert.equal(await svc.exited, 0);
      } finally {
        svc.child.kill('SIGKILL');
      }
    } finally {
      squatter.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
