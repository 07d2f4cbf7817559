/**
 * The README's SDK snippet runs as written, as an .mjs file on the Node the README names, and
 * `startAndFollow` sees every event of a job, however fast it runs (docs as tests).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { EventEnvelope } from '../../src/sdk/index.js';
import { JobsError } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import { codeBlocks } from './blocks.js';
import type { Stack } from '../support/stack.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const statuses = (events: EventEnvelope[]) =>
  events.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => String((e.data as Record<string, unknown>).status));

describe('README: the SDK', () => {
  let stack: Stack;
  const dirs: string[] = [];
  before(async () => {
    stack = await startStack({ prefix: 'jobs' }); // the README's snippet uses the default prefix, on this private server
  });
  after(async () => {
    await stack.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("the README's js block runs as written (node follow.mjs in the repository) and prints every event, created to null", async () => {
    const blocks = codeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).filter((b) => b.info === 'js');
    assert.equal(blocks.length, 1, 'one js block');
    // In the repository (so that `jobstate/sdk` is this package), with a data/nats.url of its own.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.tmp', 'readme-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'nats.url'), `${stack.server.url}\n`);
    writeFileSync(join(dir, 'follow.mjs'), blocks[0]!.code);
    const env = { ...process.env };
    const child = spawn(process.execPath, ['follow.mjs'], { cwd: dir, env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const stall = setTimeout(() => child.kill('SIGKILL'), 60_000); // only a stall: it used to hang
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(stall);
    assert.equal(code, 0, err);
    const changes = out
      .trim()
      .split('\n')
      .filter((l) => l.includes('JOB_STATUS_CHANGE'))
      .map((l) => (JSON.parse(l.split(' ').slice(2).join(' ')) as { status: string }).status);
    assert.deepEqual(changes, ['created', 'running', 'waiting', 'pending', 'concluded', 'null'], out);
    assert.match(out, /^job-[0-9a-z]{16} JOB_STATUS_CHANGE /);
  });

  test('startAndFollow: a job of no steps, every event to null; with auto-dismiss false, to concluded', async () => {
    const alice = await stack.client('alice');
    const fast = await alice.startAndFollow('test', { params: { steps: 0 } });
    const seen: EventEnvelope[] = [];
    for await (const e of fast.events) seen.push(e);
    assert.deepEqual(statuses(seen), ['created', 'running', 'waiting', 'pending', 'concluded', 'null']);
    assert.ok(seen.every((e) => (e.data as { id: string }).id === fast.id));

    const kept = await alice.startAndFollow('test', { id: 'kept', params: { steps: 0 }, 'auto-dismiss': false });
    const keptSeen: EventEnvelope[] = [];
    for await (const e of kept.events) keptSeen.push(e);
    assert.equal(kept.id, 'kept');
    assert.deepEqual(statuses(keptSeen), ['created', 'running', 'waiting', 'pending', 'concluded']);

    // A start that fails rejects, and leaves no subscription behind.
    await assert.rejects(alice.startAndFollow('no-such-type'), JobsError);
    await assert.rejects(alice.startAndFollow('test', { id: 'kept' }), JobsError);
  });
});
