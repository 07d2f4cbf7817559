/**
 * `jobctl call --job`, midclt's contract: the result alone on stdout and exit 0, or the error
 * on stderr and exit 1; progress on stderr (midclt's lines in a pipe, a bar redrawn in place on
 * a terminal); Ctrl-C cancels the job, or with --detach leaves it running.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { CLI, CWD, cleanEnv, cliTypes, jobctl, shq, spawnCli, until } from './helpers.js';

/** How to run a command in a pseudo-terminal here: util-linux's script, else tmux, else none. */
function terminal(): 'script' | 'tmux' | undefined {
  const forced = process.env.JOBCTL_TEST_TERMINAL; // to try the tmux way where script exists
  if (forced === 'script' || forced === 'tmux') return forced;
  const has = (bin: string) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  return has('script') ? 'script' : has('tmux') ? 'tmux' : undefined;
}

/** Run a shell command line in a pseudo-terminal; resolves to everything it wrote there. */
async function inTerminal(kind: 'script' | 'tmux', line: string): Promise<string> {
  if (kind === 'script') {
    // script copies the terminal's output to its stdout, escape sequences and all.
    const child = spawn('script', ['-qfc', `stty cols 120 rows 20 2>/dev/null; ${line}`, '/dev/null'], { cwd: CWD, env: cleanEnv({ COLUMNS: '120', LINES: '20', TERM: 'xterm' }), stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    return out;
  }
  // tmux shows only the final screen: the bar's last state and what followed it.
  const session = `jobctl-test-${process.pid}`;
  execFileSync('tmux', ['new-session', '-d', '-x', '120', '-y', '20', '-s', session, `${line}; echo EXITED; sleep 30`]);
  try {
    return await until('the command to end in tmux', () => {
      const screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session]).toString();
      return screen.includes('EXITED') ? screen : undefined;
    }, 20_000);
  } finally {
    execFileSync('tmux', ['kill-session', '-t', session]);
  }
}

describe('jobctl call --job', () => {
  let stack: Stack;
  let alice: string[];
  let sdk: JobsClient;

  before(async () => {
    stack = await startStack({ types: cliTypes() });
    alice = ['--server', stack.server.url, '--prefix', stack.prefix, '--user', 'alice'];
    sdk = await stack.client('alice');
  });
  after(() => stack.close());

  test('success: stdout is exactly the result JSON, exit 0; midclt-style progress lines on stderr', async () => {
    const r = await jobctl([...alice, 'call', '--job', 'test', '{"steps": 4, "step-ms": 50, "result": {"answer": 42, "list": [1, 2]}}', '--description', 'counting']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"answer":42,"list":[1,2]}\n');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'Status: counting');
    for (const line of lines.slice(1)) assert.match(line, /^Total Progress: \[[#_]{40}\] \d{1,3}\.\d\d%$/);
    assert.equal(lines.at(-1), `Total Progress: [${'#'.repeat(40)}] 100.00%`);
    assert.ok(!r.stderr.includes('\r'), 'no redraws in a pipe');

    const nothing = await jobctl([...alice, 'call', '--job', 'test', '{"steps": 0}', '--quiet']);
    assert.deepEqual(nothing, { code: 0, stdout: 'null\n', stderr: '' });
  });

  test('failure: exit 1, the error on stderr, nothing on stdout', async () => {
    const r = await jobctl([...alice, 'call', '--job', 'test', '{"steps": 5, "step-ms": 10, "fail": "disk on fire", "fail-at": 2}', '--id', 'bad1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Total Progress: \[#{8}_{32}\] 20\.00%\n/);
    assert.ok(r.stderr.endsWith("jobctl: job 'bad1' failed: disk on fire\n"), r.stderr);
    assert.ok(!r.stderr.includes('100.00%'));

    const refused = await jobctl([...alice, 'call', '--job', 'test', '{"steps": -1}']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^jobctl: Parameter 'params\.steps' is invalid/);
  });

  test('Ctrl-C cancels the job and waits for it to end: exit 1, the job concluded as cancelled', async () => {
    const call = spawnCli([...alice, 'call', '--job', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'int1']);
    await call.until('progress', (o) => /Total Progress: .* [1-9][\d.]*%/.test(o.stderr));
    call.child.kill('SIGINT');
    const r = await call.exited;
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /jobctl: cancelling job 'int1' \(Ctrl-C again to stop waiting\)\n/);
    assert.ok(r.stderr.endsWith("jobctl: job 'int1' was cancelled\n"), r.stderr);
    const info = await sdk.wait('int1');
    assert.equal(info.status, 'concluded');
    assert.equal(info.error, 'Operation canceled');
  });

  test('--detach: Ctrl-C leaves the job running and prints its id', async () => {
    const call = spawnCli([...alice, 'call', '--job', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'det1', '--detach']);
    await call.until('progress', (o) => o.stderr.includes('Total Progress'));
    call.child.kill('SIGINT');
    const r = await call.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'det1\n');
    assert.match(r.stderr, /detached: job 'det1' keeps running; follow it with 'jobctl watch det1'/);
    const info = (await sdk.query()).find((j) => j.id === 'det1');
    assert.equal(info?.status, 'running');
    await sdk.cancel('det1');
  });

  test('a ready job: the hint says how to complete it, and complete ends the call', async () => {
    const call = spawnCli([...alice, 'call', '--job', 'test', '{"steps": 1, "step-ms": 1, "ready": true, "result": "converged"}', '--id', 'rdy1']);
    await call.until('the hint', (o) => o.stderr.includes("jobctl: job 'rdy1' is ready: complete it with 'jobctl complete rdy1'"));
    assert.equal((await jobctl([...alice, 'complete', 'rdy1'])).code, 0);
    const r = await call.exited;
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '"converged"\n');
  });

  const kind = terminal();
  test('on a terminal: a bar redrawn in place that ends at 100%, then the result', { skip: kind === undefined && 'neither script (util-linux) nor tmux is installed' }, async () => {
    const line = [process.execPath, CLI, ...alice, 'call', '--job', 'test', '{"steps":5,"step-ms":100}'].map(shq).join(' ');
    const out = await inTerminal(kind!, line);
    if (kind === 'script') {
      const frames = out.split('\r\x1b[K').slice(1);
      assert.ok(frames.length >= 3, `several redraws: ${JSON.stringify(out)}`);
      assert.match(frames[0]!, /^\[[░.]{30}\]   0\.0%/);
      assert.ok(frames.some((f) => /^\[[█#]+[░.]+\]  [1-9]\d\.0%  \d\/5  test job-/.test(f)), JSON.stringify(frames));
      const last = frames.at(-1)!;
      assert.match(last, /^\[[█#]{30}\] 100\.0%  5\/5  test job-\w+\r?\n/);
      assert.match(last, /\nnull\r?\n$/, 'the result after the bar');
      assert.ok(!out.includes('Total Progress'), 'no midclt lines on a terminal');
    } else {
      assert.match(out, /\] 100\.0%  5\/5  test job-/);
      assert.match(out, /^null$/m);
    }
  });

  test('on a terminal, a byte job shows amounts, rate and ETA', { skip: kind === undefined && 'no pseudo-terminal tool' }, async () => {
    const line = [process.execPath, CLI, ...alice, 'call', '--job', 'bytes', '{"mib":16,"steps":6,"step-ms":150}'].map(shq).join(' ');
    const out = await inTerminal(kind!, line);
    // tmux keeps only the last screen, where the ETA is gone.
    if (kind === 'script') assert.match(out, /\d+\.\d\/16\.0 MiB  \d+\.\d MiB\/s  ETA 0:0\d  copying 16 MiB\r/);
    assert.match(out, /100\.0%  16\.0\/16\.0 MiB  \d+\.\d MiB\/s  copying 16 MiB/);
    assert.match(out, /\{"bytes":16777216\}|"bytes": 16777216/);
  });
});
