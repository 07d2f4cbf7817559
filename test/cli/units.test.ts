/**
 * jobctl's pure parts: the progress view (midclt's lines, the terminal bar, rate and ETA),
 * the event lines and the table, and the settings and value parsers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { findCommand, parseJsonObject, parseSize, resolveSettings } from '../../src/cli/args.js';
import { CliError } from '../../src/cli/errors.js';
import { eventLine, jobTable } from '../../src/cli/output.js';
import { ProgressView, bar, formatBytes, formatDuration, isByteJob, ttyLine } from '../../src/cli/progress.js';
import type { JobProgress } from '../../src/cli/progress.js';
import type { EventEnvelope, JobInfo } from '../../src/sdk/index.js';

class Sink {
  text = '';
  columns = 100;
  constructor(readonly isTTY: boolean) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

const MIB = 1024 * 1024;
const job: JobProgress = { id: 'j1', type: 'test', status: 'running', current: 0, total: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress', () => {
  test('bar, sizes, durations, byte jobs', () => {
    assert.equal(bar(0.53, 40), `[${'#'.repeat(21)}${'_'.repeat(19)}]`);
    assert.equal(bar(2, 4), '[####]');
    assert.equal(bar(NaN, 4), '[____]');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(10 * MIB), '10.0 MiB');
    assert.equal(formatDuration(62), '1:02');
    assert.equal(formatDuration(3723), '1:02:03');
    assert.ok(isByteJob('test', 2 * MIB));
    assert.ok(isByteJob('backup', 100));
    assert.ok(!isByteJob('test', 100));
  });

  test("in a pipe: midclt's lines, one per change, at most one per interval, ending at 100% on success", async () => {
    const err = new Sink(false);
    const view = new ProgressView(err, { ...job, description: 'counting' }, { tty: false, minIntervalMs: 60 });
    view.update({ current: 0, total: 5 });
    view.update({ current: 1, total: 5 });
    view.update({ current: 2, total: 5 });
    assert.equal(err.text, `Status: counting\nTotal Progress: [${'_'.repeat(40)}] 0.00%\n`, 'the rest waits for the interval');
    await sleep(120);
    assert.ok(err.text.endsWith(`Total Progress: [${'#'.repeat(16)}${'_'.repeat(24)}] 40.00%\n`), err.text);
    assert.ok(!err.text.includes('20.00%'), 'only the latest state is drawn');
    view.update({ status: 'paused' });
    await sleep(120);
    assert.ok(err.text.endsWith('Status: counting (paused)\n'));
    view.update({ current: 1, total: 5 });
    view.finish(true);
    assert.ok(err.text.endsWith(`Total Progress: [${'#'.repeat(40)}] 100.00%\n`));
    view.update({ current: 3, total: 5 });
    await sleep(80);
    assert.ok(err.text.endsWith('100.00%\n'), 'nothing after finish');
  });

  test('on a failure the bar stays where it was', () => {
    const err = new Sink(false);
    const view = new ProgressView(err, job, { tty: false });
    view.update({ current: 1, total: 4 });
    view.finish(false);
    assert.ok(err.text.endsWith('25.00%\n'));
  });

  test('on a terminal: redrawn in place, messages above it, a newline at the end', () => {
    const err = new Sink(true);
    const view = new ProgressView(err, job, { tty: true, minIntervalMs: 0 });
    view.update({ current: 1, total: 4 });
    assert.equal(err.text, `\r\x1b[K[${'#'.repeat(7)}${'.'.repeat(23)}]  25.0%  1/4  test j1`);
    view.message('jobctl: hello');
    assert.ok(err.text.endsWith(`\r\x1b[Kjobctl: hello\n\r\x1b[K[${'#'.repeat(7)}${'.'.repeat(23)}]  25.0%  1/4  test j1`));
    view.finish(true);
    assert.ok(err.text.endsWith(`\r\x1b[K[${'#'.repeat(30)}] 100.0%  4/4  test j1\n`));
  });

  test('byte jobs: amount, rate over the last seconds, and ETA', () => {
    let now = 0;
    const err = new Sink(true);
    const view = new ProgressView(err, { ...job, type: 'backup', description: 'nightly' }, { tty: true, minIntervalMs: 0, now: () => now, unicode: true });
    view.update({ current: 0, total: 40 * MIB });
    now = 1000;
    view.update({ current: 10 * MIB });
    assert.equal(view.rate(), 10 * MIB);
    assert.ok(err.text.endsWith('  25.0%  10.0/40.0 MiB  10.0 MiB/s  ETA 0:03  nightly'), err.text);
    assert.ok(err.text.includes('█'.repeat(7) + '░'.repeat(23)));
    assert.equal(ttyLine({ ...job, current: 512 * 1024, total: 2 * MIB }, 100, undefined, false).split('  ')[2], '512.0 KiB/2.0 MiB');
    const narrow = ttyLine({ ...job, description: 'x'.repeat(200) }, 40, undefined, false);
    assert.equal(narrow.length, 39);
    assert.ok(narrow.endsWith('…'));
  });
});

describe('output', () => {
  const ts = { seconds: 1_700_000_000, microseconds: 123_456 };
  const line = (event: string, data: Record<string, unknown>) => eventLine({ event, data: { id: 'j1', owner: 'alice', ...data }, timestamp: ts } as EventEnvelope);

  test('one readable line per event', () => {
    assert.match(line('JOB_STATUS_CHANGE', { status: 'running' }), /^\d\d:\d\d:\d\d\.123 alice\/j1 JOB_STATUS_CHANGE running$/);
    assert.match(line('JOB_PROGRESS', { 'current-progress': 3, 'total-progress': 5, description: 'copying' }), / JOB_PROGRESS 3\/5 60% copying$/);
    assert.match(line('JOB_COMPLETED', { 'current-progress': 1, 'total-progress': 5, error: 'boom' }), / JOB_COMPLETED error: boom$/);
    assert.match(line('JOB_COMPLETED', { 'current-progress': 5, 'total-progress': 5 }), / JOB_COMPLETED ok 5\/5 100%$/);
    assert.match(line('JOB_PENDING', { type: 'test' }), / JOB_PENDING test$/);
    assert.match(line('JOB_ERROR', { operation: 'write', action: 'stop' }), / JOB_ERROR write error, action stop$/);
  });

  test('the table: aligned columns, failed jobs marked, rows cut to the width', () => {
    const info = (id: string, extra: Partial<JobInfo> = {}): JobInfo =>
      ({ id, type: 'test', status: 'running', 'current-progress': 1, 'total-progress': 4, owner: 'alice', 'auto-finalize': true, 'auto-dismiss': true, speed: 0, ...extra }) as JobInfo;
    const text = jobTable([info('a', { description: 'first one' }), info('longer-id', { status: 'concluded', error: 'x', 'total-progress': 0 })]);
    assert.equal(
      text,
      ['ID         TYPE  STATUS   PROGRESS  OWNER  DESCRIPTION', 'a          test  running  25%       alice  first one', 'longer-id  test  failed   -         alice', ''].join('\n'),
    );
    assert.ok(jobTable([info('a', { description: 'x'.repeat(100) })], 60).split('\n').every((l) => l.length <= 60));
  });
});

describe('arguments and settings', () => {
  test('the command is the first word that is not an option or its value', () => {
    assert.deepEqual(findCommand(['--server', 'nats://x', '-u', 'bob', 'query', '--json']), { name: 'query', rest: ['--server', 'nats://x', '-u', 'bob', '--json'] });
    assert.deepEqual(findCommand(['--server=nats://x', 'wait', 'j1']), { name: 'wait', rest: ['--server=nats://x', 'j1'] });
    assert.deepEqual(findCommand(['--help']), { name: undefined, rest: ['--help'] });
  });

  test('sizes and JSON', () => {
    assert.equal(parseSize('1048576', 'x'), 1048576);
    assert.equal(parseSize('512K', 'x'), 512 * 1024);
    assert.equal(parseSize('10MiB', 'x'), 10 * MIB);
    assert.equal(parseSize('1.5G', 'x'), 1.5 * 1024 * MIB);
    assert.throws(() => parseSize('-1', 'x'), CliError);
    assert.deepEqual(parseJsonObject('{"a": 1}', 'P'), { a: 1 });
    assert.throws(() => parseJsonObject('[1]', 'P'), /P must be a JSON object/);
  });

  test('server: --server, then NATS_URL, then ./data/nats.url, then the default; user: --user, JOBS_USER, then the login name', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'jobctl-settings-'));
    assert.deepEqual([resolveSettings({}, {}, cwd).server, resolveSettings({}, {}, cwd).serverSource], ['nats://127.0.0.1:4322', 'the default']);
    mkdirSync(join(cwd, 'data'));
    writeFileSync(join(cwd, 'data', 'nats.url'), 'nats://127.0.0.1:5555\n');
    assert.equal(resolveSettings({}, {}, cwd).server, 'nats://127.0.0.1:5555');
    assert.equal(resolveSettings({}, { NATS_URL: 'nats://env:1' }, cwd).server, 'nats://env:1');
    assert.equal(resolveSettings({ server: 'nats://flag:1' }, { NATS_URL: 'nats://env:1' }, cwd).server, 'nats://flag:1');

    assert.equal(resolveSettings({}, { USER: 'carol' }, cwd).user(), 'carol');
    assert.equal(resolveSettings({}, { USER: 'carol', JOBS_USER: 'dave' }, cwd).user(), 'dave');
    assert.equal(resolveSettings({ user: 'erin' }, { JOBS_USER: 'dave' }, cwd).user(), 'erin');
    assert.throws(() => resolveSettings({}, { USER: 'john.doe' }, cwd).user(), /your login name 'john\.doe' is not an account name/);
    assert.equal(resolveSettings({}, { JOBS_PREFIX: 'acme.jobs' }, cwd).prefix, 'acme.jobs');
    assert.throws(() => resolveSettings({ prefix: 'bad prefix' }, {}, cwd), /invalid prefix/);
    assert.throws(() => resolveSettings({ timeout: '0' }, {}, cwd), /--timeout expects an integer of at least 1/);
    assert.equal(resolveSettings({}, { JOBS_PASSWORD: 'pw' }, cwd).password, 'pw');
    rmSync(cwd, { recursive: true, force: true });
  });
});
