/**
 * F4 of the hostile probe: file jobs see only their owner's folder, `<JOBS_DATA_DIR>/<owner>/`.
 * Bob's backup of alice's file finds nothing (as for a file that does not exist: no sign that
 * alice has one), bob cannot overwrite it, and a path out of his folder is refused at start.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

describe("file jobs see only their owner's files", () => {
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;

  /** What `user`'s backup of `source` to pipe:output sends back, or its job's error. */
  async function download(user: JobsClient, source: string): Promise<string> {
    const id = await user.start('backup', { params: { source, target: 'pipe:output' } });
    const chunks: Uint8Array[] = [];
    try {
      await user.download(id, (c) => void chunks.push(c));
    } catch {
      // The job's own error says why.
    }
    const info = await user.wait(id, { timeoutMs: 10_000 });
    return info.error ?? Buffer.concat(chunks).toString();
  }

  /** `user` uploads `text` into its file `target`. */
  async function upload(user: JobsClient, target: string, text: string): Promise<void> {
    const id = await user.start('backup', { params: { source: 'pipe:input', target }, pipes: { inputs: [{}] } });
    await user.upload(id, 0, [Buffer.from(text)]);
    assert.equal((await user.wait(id, { timeoutMs: 10_000 })).error, undefined);
  }

  before(async () => {
    stack = await startStack();
    alice = await stack.client('alice');
    bob = await stack.client('bob');
    await upload(alice, 'alice-secret.img', 'alice only\n');
  });
  after(async () => {
    await stack?.close();
  });

  test("alice's file is in her folder, and hers to read", async () => {
    assert.equal(readFileSync(join(stack.dataDir, 'alice', 'alice-secret.img'), 'utf8'), 'alice only\n');
    assert.equal(existsSync(join(stack.dataDir, 'alice-secret.img')), false);
    assert.equal(await download(alice, 'alice-secret.img'), 'alice only\n');
  });

  test("bob's backup of alice's file fails as for a file that does not exist", async () => {
    const missing = await download(bob, 'no-such-file.img');
    assert.match(missing, /^Could not open 'no-such-file\.img': No such file or directory$/);
    assert.equal(await download(bob, 'alice-secret.img'), missing.replace('no-such-file.img', 'alice-secret.img'));
    // Out of his folder by path: refused at start.
    for (const source of ['../alice/alice-secret.img', '/alice/alice-secret.img']) {
      await assert.rejects(bob.start('backup', { params: { source, target: 'pipe:output' } }), { code: 400, message: /path escapes the data directory/ });
    }
  });

  test("bob's writes to the same names land in his folder; alice's file is untouched", async () => {
    await upload(bob, 'alice-secret.img', 'bob was here\n');
    const create = await bob.start('create', { params: { target: 'made-by-bob.img', size: 4096 } });
    assert.equal((await bob.wait(create, { timeoutMs: 10_000 })).error, undefined);
    assert.equal(readFileSync(join(stack.dataDir, 'bob', 'alice-secret.img'), 'utf8'), 'bob was here\n');
    assert.equal(existsSync(join(stack.dataDir, 'bob', 'made-by-bob.img')), true);
    assert.equal(await download(alice, 'alice-secret.img'), 'alice only\n');
    assert.equal(await download(bob, 'alice-secret.img'), 'bob was here\n');
    // alice cannot reach bob's either.
    assert.match(await download(alice, 'made-by-bob.img'), /^Could not open 'made-by-bob\.img': No such file or directory$/);
  });
});
