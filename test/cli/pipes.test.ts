/**
 * `jobctl call --job … --input FILE --output FILE`: an upload into a backup, a download out of
 * one (the file appears only once complete), stdout as the output, and a failed job's
 * download: exit 1 with the job's error and no output file. And `jobctl logs`, which downloads
 * a job's whole log the same way.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { bigFile, fileSha256 } from '../pipes/helpers.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { CWD, jobctl, logJob } from './helpers.js';

describe('jobctl call --job with pipes', () => {
  let stack: Stack;
  let alice: string[];

  before(async () => {
    stack = await startStack({ types: (dir) => builtinTypes(dir).register(logJob) });
    alice = ['--server', stack.server.url, '--prefix', stack.prefix, '--user', 'alice'];
  });
  after(() => stack.close());

  test('--input uploads into the backup; --output downloads from one', async () => {
    bigFile(join(CWD, 'a.img'), 3);
    const up = await jobctl([...alice, 'call', '--job', 'backup', '{"source":"pipe:input","target":"a.img"}', '--input', './a.img']);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, 'null\n');
    assert.equal(await fileSha256(join(stack.dataDir, 'alice', 'a.img')), await fileSha256(join(CWD, 'a.img')));

    const down = await jobctl([...alice, 'call', '--job', 'backup', '{"source":"a.img","target":"pipe:output"}', '--output', './out.img']);
    assert.equal(down.code, 0, down.stderr);
    // The digest in hex, as sha256sum prints it.
    assert.match(down.stderr, new RegExp(`jobctl: wrote \\./out\\.img: 3\\.0 MiB, sha256 ${await fileSha256(join(CWD, 'a.img'))} checked\n`));
    assert.equal(await fileSha256(join(CWD, 'out.img')), await fileSha256(join(CWD, 'a.img')));
  });

  test('--output - writes the bytes to stdout, and no result', async () => {
    mkdirSync(join(stack.dataDir, 'alice'), { recursive: true });
    writeFileSync(join(stack.dataDir, 'alice', 'hello.txt'), 'hello from the data directory\n');
    const r = await jobctl([...alice, 'call', '--job', 'backup', '{"source":"hello.txt","target":"pipe:output"}', '-o', '-', '--quiet']);
    assert.deepEqual(r, { code: 0, stdout: 'hello from the data directory\n', stderr: '' });
  });

  test("a failed job's download: exit 1, its error, no output file", async () => {
    const r = await jobctl([...alice, 'call', '--job', 'backup', '{"source":"nope.img","target":"pipe:output"}', '--output', './failed.img', '--id', 'dlfail']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /jobctl: job 'dlfail' failed: Could not open 'nope\.img': No such file or directory\n$/);
    assert.ok(!existsSync(join(CWD, 'failed.img')));
    assert.deepEqual(readdirSync(CWD).filter((f) => f.includes('failed.img')), []);
  });

  test('an unreadable --input is a usage error before anything starts', async () => {
    const r = await jobctl([...alice, 'call', '--job', 'backup', '{"source":"pipe:input","target":"b.img"}', '--input', './missing.img']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^jobctl: cannot read --input \.\/missing\.img: ENOENT/);
    assert.equal(readFileSync(join(CWD, 'a.img')).length, 3 * 1024 * 1024);
  });

  test('download reads a concluded job\'s output, or says why it cannot', async () => {
    writeFileSync(join(stack.dataDir, 'alice', 'later.txt'), 'read later\n');
    const started = await jobctl([...alice, 'start', 'backup', '{"source":"later.txt","target":"pipe:output"}', '--id', 'later']);
    assert.equal(started.code, 0, started.stderr);
    assert.equal((await jobctl([...alice, 'wait', 'later'])).code, 0);
    assert.deepEqual(await jobctl([...alice, 'download', 'later']), { code: 0, stdout: 'read later\n', stderr: '' });
    const toFile = await jobctl([...alice, 'download', 'later', '-o', './later.txt']);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(readFileSync(join(CWD, 'later.txt'), 'utf8'), 'read later\n');

    await jobctl([...alice, 'start', 'backup', '{"source":"gone.txt","target":"pipe:output"}', '--id', 'broken']);
    const failed = await jobctl([...alice, 'download', 'broken']);
    assert.deepEqual(failed, { code: 1, stdout: '', stderr: "jobctl: Could not open 'gone.txt': No such file or directory\n" });
  });

  test('logs downloads the whole log, past the 2,000 lines job-log keeps and after the job was dismissed', async () => {
    const r = await jobctl([...alice, 'call', '--job', 'logger', '{"lines": 2500}', '--id', 'long', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const logs = await jobctl([...alice, 'logs', 'long']);
    assert.equal(logs.code, 0, logs.stderr);
    const lines = logs.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2501);
    assert.match(lines[0]!, /INFO line 1 of 2500$/);
    assert.match(lines[1999]!, /INFO line 2000 of 2500$/);
    assert.match(lines[2500]!, /WARN almost done$/);
    assert.equal(logs.stderr, '');

    const none = await jobctl([...alice, 'logs', 'never-was']);
    assert.deepEqual(none, { code: 1, stdout: '', stderr: "jobctl: Job not found: no job 'never-was' (see 'jobctl query')\n" });

    // A job that wrote nothing: said so; also once it is dismissed (docs/cli.md: logs also after the dismissal).
    await jobctl([...alice, 'start', 'test', '{"steps": 0}', '--id', 'quiet', '--no-auto-dismiss']).catch(() => undefined);
    await jobctl([...alice, 'wait', 'quiet']);
    const quiet = await jobctl([...alice, 'logs', 'quiet']);
    assert.deepEqual(quiet, { code: 0, stdout: '', stderr: "jobctl: job 'quiet' has not written any log lines\n" });
    assert.equal((await jobctl([...alice, 'dismiss', 'quiet'])).code, 0);
    assert.deepEqual(await jobctl([...alice, 'logs', 'quiet']), quiet);
  });
});
