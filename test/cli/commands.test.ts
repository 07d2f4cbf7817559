/**
 * jobctl's subcommands as a user runs them: the built CLI as a child process against a private
 * nats-server and the service (in-process), acting as alice (and admin).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobInfo, JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { COMMAND_LIST, findCliCommand } from '../../src/cli/commands/index.js';
import { commandHelp } from '../../src/cli/help.js';
import { CWD, cliTypes, jobctl, spawnCli, until } from './helpers.js';

describe('jobctl commands', () => {
  let stack: Stack;
  let as: (user: string) => string[];
  let alice: string[];

  let sdk: JobsClient;
  const query = (): Promise<JobInfo[]> => sdk.query();
  const statusOf = async (id: string) => (await query()).find((j) => j.id === id)?.status;
  const untilStatus = (id: string, status: string) => until(`${id} ${status}`, async () => ((await statusOf(id)) === status ? true : undefined));

  before(async () => {
    stack = await startStack({ types: cliTypes() });
    as = (user) => ['--server', stack.server.url, '--prefix', stack.prefix, '--user', user];
    alice = as('alice');
    sdk = await stack.client('alice');
  });
  after(() => stack.close());

  test('start prints the id, passes every start option, and --json prints {"id"}', async () => {
    const r = await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 's1', '--no-auto-finalize', '--no-auto-dismiss', '--speed', '1K', '--description', 'hello there', '--on-error', 'stop']);
    assert.deepEqual(r, { code: 0, stdout: 's1\n', stderr: '' });
    const info = (await query()).find((j) => j.id === 's1')!;
    assert.equal(info['auto-finalize'], false);
    assert.equal(info['auto-dismiss'], false);
    assert.equal(info.speed, 1024);
    assert.equal(info.description, 'hello there');
    assert.deepEqual(info.params, { steps: 1000, 'step-ms': 20, ready: false });

    const j = await jobctl([...alice, 'start', 'test', '{"steps": 0}', '--json']);
    assert.equal(j.code, 0);
    assert.match((JSON.parse(j.stdout) as { id: string }).id, /^job-/);

    assert.equal((await jobctl([...alice, 'cancel', 's1'])).code, 0);
    await untilStatus('s1', 'concluded');
    assert.equal((await jobctl([...alice, 'dismiss', 's1'])).code, 0);
    assert.equal(await statusOf('s1'), undefined);
  });

  test('query: a table with the six columns, --json, -q, and the filters', async () => {
    await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'q1', '--description', 'the first']);
    await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'q2']);
    await jobctl([...alice, 'pause', 'q2']);
    await untilStatus('q2', 'paused');

    const table = await jobctl([...alice, 'query']);
    assert.equal(table.code, 0);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+TYPE\s+STATUS\s+PROGRESS\s+OWNER\s+DESCRIPTION$/);
    assert.match(table.stdout, /^q1\s+test\s+running\s+\d+%\s+alice\s+the first$/m);
    assert.match(table.stdout, /^q2\s+test\s+paused\s+\d+%\s+alice$/m);
    assert.ok(lines.indexOf(lines.find((l) => l.startsWith('q2'))!) < lines.indexOf(lines.find((l) => l.startsWith('q1'))!), 'newest first');

    assert.deepEqual((await jobctl([...alice, 'query', '-q', '--status', 'paused'])).stdout, 'q2\n');
    assert.deepEqual((await jobctl([...alice, 'query', '-q', '--type', 'nope'])).stdout, '');
    const bob = await jobctl([...as('bob'), 'query', '--json']);
    assert.deepEqual(JSON.parse(bob.stdout), [], "bob does not see alice's jobs");
    const admin = await jobctl([...as('admin'), 'query', '-q', '--owner', 'alice', '--status', 'paused']);
    assert.equal(admin.stdout, 'q2\n');
    const everyone = await jobctl([...as('admin'), 'query', '-q', '--owner', '*']);
    assert.match(everyone.stdout, /^q1$/m);

    const bad = await jobctl([...alice, 'query', '--status', 'bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--status expects one of: undefined, created, running/);
    await jobctl([...alice, 'cancel', 'q1']);
    await jobctl([...alice, 'cancel', 'q2']);
  });

  test('pause, resume, set-speed and cancel; refusals exit 1 with the QEMU text', async () => {
    await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'v1']);
    assert.deepEqual(await jobctl([...alice, 'pause', 'v1']), { code: 0, stdout: '', stderr: '' });
    await untilStatus('v1', 'paused');
    assert.deepEqual(await jobctl([...alice, 'pause', 'v1']), { code: 1, stdout: '', stderr: 'jobctl: Job is already paused\n' });
    assert.equal((await jobctl([...alice, 'resume', 'v1'])).code, 0);
    assert.equal((await jobctl([...alice, 'resume', 'v1'])).stderr, "jobctl: Can't resume a job that was not paused\n");

    assert.equal((await jobctl([...alice, 'set-speed', 'v1', '5M'])).code, 0);
    assert.equal((await query()).find((j) => j.id === 'v1')!.speed, 5 * 1024 * 1024);
    const badSpeed = await jobctl([...alice, 'set-speed', 'v1', 'fast']);
    assert.equal(badSpeed.code, 2);
    assert.match(badSpeed.stderr, /BYTES expects a size in bytes/);

    assert.deepEqual(await jobctl([...alice, 'pause', 'nope']), { code: 1, stdout: '', stderr: "jobctl: Job not found: no job 'nope' (see 'jobctl query')\n" });
    // QEMU's text first, then the rule it broke.
    assert.deepEqual(await jobctl([...alice, 'start', 'test', '{"steps": 0}', '--id', '1bad']), {
      code: 2,
      stdout: '',
      stderr: "jobctl: Invalid job ID '1bad': a job ID starts with a letter and has up to 128 letters, digits, _ and -\n",
    });
    assert.equal((await jobctl([...as('bob'), 'cancel', 'v1'])).code, 1, "bob cannot cancel alice's job");
    assert.equal((await jobctl([...as('admin'), 'pause', 'v1', '--owner', 'alice'])).code, 0, 'an admin can, with --owner');
    assert.equal((await jobctl([...alice, 'cancel', 'v1'])).code, 0);
    const waited = await jobctl([...alice, 'wait', 'v1']);
    assert.equal(waited.code, 1);
    assert.equal((JSON.parse(waited.stdout) as JobInfo).error, 'Operation canceled');
    assert.equal(waited.stderr, "jobctl: job 'v1' was cancelled\n");
  });

  test('complete and cancel --soft on a ready job; finalize and dismiss', async () => {
    await jobctl([...alice, 'start', 'test', '{"steps": 1, "step-ms": 1, "ready": true, "result": 7}', '--id', 'r1']);
    await jobctl([...alice, 'start', 'test', '{"steps": 1, "step-ms": 1, "ready": true}', '--id', 'r2']);
    await untilStatus('r1', 'ready');
    await untilStatus('r2', 'ready');
    assert.equal((await jobctl([...alice, 'complete', 'r1'])).code, 0);
    const r1 = await jobctl([...alice, 'wait', 'r1']);
    assert.equal(r1.code, 0);
    assert.equal((JSON.parse(r1.stdout) as JobInfo).result, 7);
    assert.equal((await jobctl([...alice, 'cancel', 'r2', '--soft'])).code, 0);
    assert.equal((await jobctl([...alice, 'wait', 'r2'])).code, 0, 'a soft cancel in ready completes');

    await jobctl([...alice, 'start', 'test', '{"steps": 1, "step-ms": 1}', '--id', 'f1', '--no-auto-finalize', '--no-auto-dismiss']);
    await untilStatus('f1', 'pending');
    assert.equal((await jobctl([...alice, 'dismiss', 'f1'])).code, 1, 'not concluded yet');
    assert.equal((await jobctl([...alice, 'finalize', 'f1'])).code, 0);
    await untilStatus('f1', 'concluded');
    assert.equal((await jobctl([...alice, 'dismiss', 'f1'])).code, 0);
    assert.equal(await statusOf('f1'), undefined);
  });

  test('wait prints the final JobInfo; --timeout ends it with exit 1', async () => {
    await jobctl([...alice, 'start', 'test', '{"steps": 2, "step-ms": 10, "result": {"x": 1}}', '--id', 'w1']);
    const ok = await jobctl([...alice, 'wait', 'w1']);
    assert.equal(ok.code, 0);
    const info = JSON.parse(ok.stdout) as JobInfo;
    assert.equal(info.status, 'concluded');
    assert.deepEqual(info.result, { x: 1 });
    assert.equal(ok.stdout.trimEnd().split('\n').length, 1, 'one JSON line when piped');

    await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'w2']);
    const timedOut = await jobctl([...alice, 'wait', 'w2', '--timeout', '100']);
    assert.deepEqual(timedOut, { code: 1, stdout: '', stderr: "jobctl: Timed out waiting for job 'w2'\n" });
    await jobctl([...alice, 'cancel', 'w2']);

    await jobctl([...alice, 'start', 'test', '{"steps": 1, "step-ms": 1, "fail": "disk on fire"}', '--id', 'w3']);
    const failed = await jobctl([...alice, 'wait', 'w3']);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, "jobctl: job 'w3' failed: disk on fire\n");
  });

  test("logs prints the job's own log lines; --json as the service returns it", async () => {
    await jobctl([...alice, 'start', 'logger', '{"lines": 2}', '--id', 'l1', '--no-auto-dismiss']);
    await untilStatus('l1', 'concluded');
    const r = await jobctl([...alice, 'logs', 'l1']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /INFO line 1 of 2$/);
    assert.match(lines[2]!, /WARN almost done$/);
    const json = JSON.parse((await jobctl([...alice, 'logs', 'l1', '--json'])).stdout) as { lines: string[]; count: number };
    assert.equal(json.count, 3);
    assert.equal((await jobctl([...alice, 'logs', 'nope'])).code, 1);
  });

  test('watch: one readable line per event; with an ID it ends when the job reaches null', async () => {
    const watcher = spawnCli([...alice, 'watch', 'wa1']);
    await watcher.until('the subscription', (o) => o.stderr.includes('watching'));
    await jobctl([...alice, 'start', 'test', '{"steps": 2, "step-ms": 10}', '--id', 'wa1', '--description', 'two steps']);
    const r = await watcher.exited;
    assert.equal(r.code, 0);
    assert.match(r.stderr, new RegExp(`watching ${stack.prefix}\\.evt\\.alice\\.wa1\\.\\*`));
    const lines = r.stdout.trimEnd().split('\n');
    for (const line of lines) assert.match(line, /^\d\d:\d\d:\d\d\.\d{3} alice\/wa1 JOB_[A-Z_]+ /);
    assert.equal(lines[0]!.slice(13), 'alice/wa1 JOB_STATUS_CHANGE created');
    assert.ok(lines.some((l) => l.endsWith('JOB_PROGRESS 2/2 100% two steps')), r.stdout);
    assert.ok(lines.some((l) => l.endsWith('JOB_COMPLETED ok 2/2 100%')), r.stdout);
    assert.equal(lines.at(-1)!.slice(13), 'alice/wa1 JOB_STATUS_CHANGE null');
  });

  test('watch --json in a pipe: every line is one event envelope; SIGINT ends it with 0', async () => {
    const watcher = spawnCli([...as('admin'), 'watch', '--owner', '*', '--json']);
    await watcher.until('the subscription', (o) => o.stderr.includes('watching'));
    await jobctl([...alice, 'start', 'test', '{"steps": 3, "step-ms": 5}', '--id', 'wj1']);
    await jobctl([...as('bob'), 'start', 'test', '{"steps": 1, "step-ms": 5}', '--id', 'wj2']);
    await watcher.until('both jobs gone', (o) => (o.stdout.match(/"status":"null"/g) ?? []).length >= 2);
    watcher.child.kill('SIGINT');
    const r = await watcher.exited;
    assert.equal(r.code, 0);
    const events = r.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { event: string; data: { id: string; owner: string } });
    assert.ok(events.length >= 12);
    assert.deepEqual(new Set(events.map((e) => `${e.data.owner}/${e.data.id}`)), new Set(['alice/wj1', 'bob/wj2']));
    assert.ok(events.every((e) => typeof e.event === 'string' && 'timestamp' in e));
  });

  test('transaction: an array, {actions, properties}, --grouped, and stdin', async () => {
    const file = join(CWD, 'txn.json');
    writeFileSync(file, JSON.stringify([{ type: 'test', id: 't1', params: { steps: 1, 'step-ms': 1 } }, { type: 'test', id: 't2', params: { steps: 1, 'step-ms': 1 } }]));
    assert.deepEqual(await jobctl([...alice, 'transaction', file]), { code: 0, stdout: 't1\nt2\n', stderr: '' });
    assert.equal((await jobctl([...alice, 'wait', 't2'])).code, 0);

    // Grouped: one member fails, so the other is cancelled.
    const grouped = { actions: [{ type: 'test', id: 'g1', params: { steps: 100, 'step-ms': 20 } }, { type: 'test', id: 'g2', params: { steps: 1, 'step-ms': 1, fail: 'boom' } }] };
    writeFileSync(file, JSON.stringify(grouped));
    const r = await jobctl([...alice, 'transaction', file, '--grouped', '--json']);
    assert.deepEqual(JSON.parse(r.stdout), { jobs: ['g1', 'g2'] });
    const g1 = JSON.parse((await jobctl([...alice, 'wait', 'g1'])).stdout) as JobInfo;
    assert.equal(g1.error, 'Operation canceled');
    assert.ok(g1.txn, 'grouped members share a transaction');

    const fromStdin = await jobctl([...alice, 'transaction', '-'], { input: JSON.stringify({ actions: [{ type: 'test', id: 'i1', params: { steps: 0 } }], properties: { 'completion-mode': 'individual' } }) });
    assert.equal(fromStdin.stdout, 'i1\n');

    writeFileSync(file, JSON.stringify([{ type: 'test', colour: 'red' }]));
    assert.deepEqual(await jobctl([...alice, 'transaction', file]), { code: 2, stdout: '', stderr: "jobctl: Parameter 'actions[0].colour' is unexpected\n" });
    writeFileSync(file, '{"nope": 1}');
    assert.equal((await jobctl([...alice, 'transaction', file])).code, 2);
  });

  test('call without --job sends one command and prints its return', async () => {
    const r = await jobctl([...alice, 'call', 'query-jobs', '{"type": "nope"}']);
    assert.deepEqual(r, { code: 0, stdout: '[]\n', stderr: '' });
    const bad = await jobctl([...alice, 'call', 'frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /'frobnicate' is not a command/);
  });

  test('errors: usage (2), the service refusing arguments (2, its text), no responders and no server (3)', async () => {
    const [noCommand, typo, option, missing, json, refused, type, noService, noServer, fromEnv] = await Promise.all([
      jobctl([]),
      jobctl(['qurey']),
      jobctl([...alice, 'query', '--bogus']),
      jobctl([...alice, 'pause']),
      jobctl([...alice, 'start', 'test', '{steps: 1}']),
      jobctl([...alice, 'start', 'test', '{"stepz": 1}']),
      jobctl([...alice, 'start', 'nope']),
      jobctl(['--server', stack.server.url, '--prefix', 'nobody.here', '--user', 'alice', 'query']),
      jobctl(['--server', 'nats://127.0.0.1:1', '--user', 'alice', 'query']),
      jobctl(['query'], { env: { NATS_URL: 'nats://127.0.0.1:1', JOBS_USER: 'alice' } }),
    ]);
    assert.equal(noCommand.code, 2);
    assert.match(noCommand.stderr, /^Usage: jobctl/m);
    assert.deepEqual(typo, { code: 2, stdout: '', stderr: "jobctl: unknown command 'qurey'; did you mean 'query'?\nTry 'jobctl --help'.\n" });
    assert.deepEqual(option, { code: 2, stdout: '', stderr: "jobctl: unknown option '--bogus'\nTry 'jobctl query --help'.\n" });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing arguments; usage: jobctl pause ID/);
    assert.equal(json.code, 2);
    assert.match(json.stderr, /PARAMS-JSON is not valid JSON/);

    assert.deepEqual(refused, { code: 2, stdout: '', stderr: "jobctl: Parameter 'params.stepz' is unexpected\n" });
    assert.equal(type.stderr, "jobctl: Invalid parameter 'type': unknown job type 'nope' (known: test, logger, bytes)\n");

    // jobctl types: what the deployment runs, with its params.
    const types = await jobctl([...alice, 'types']);
    assert.equal(types.code, 0, types.stderr);
    const rows = types.stdout.trimEnd().split('\n');
    assert.match(rows[0]!, /^TYPE\s+RUNS\s+PARAMS$/);
    assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2)), [['test', 'local'], ['logger', 'local'], ['bytes', 'local']]);
    assert.match(rows[1]!, /steps\?: integer, step-ms\?: integer/);
    const asJson = JSON.parse((await jobctl([...alice, 'types', '--json'])).stdout) as Array<{ type: string; params: { properties: Record<string, unknown> } }>;
    assert.deepEqual(Object.keys(asJson.find((t) => t.type === 'bytes')!.params.properties), ['mib', 'steps', 'step-ms']);

    assert.equal(noService.code, 3);
    assert.match(noService.stderr, /no jobstate service answers on prefix 'nobody\.here' at nats:\/\/127\.0\.0\.1:\d+ .*nobody\.here\.cmd\.alice\.query-jobs/);
    assert.deepEqual(noServer, {
      code: 3,
      stdout: '',
      stderr: "jobctl: cannot reach NATS at nats://127.0.0.1:1: is the service running? Start it with 'npm start' or 'jobctl serve', or set NATS_URL\n",
    });
    assert.match(fromEnv.stderr, /cannot reach NATS at nats:\/\/127\.0\.0\.1:1 \(from NATS_URL\)/);

    const badUser = await jobctl(['--server', stack.server.url, '--user', 'al.ice', 'query']);
    assert.equal(badUser.code, 2);
    assert.match(badUser.stderr, /'al\.ice' is not an account name/);
  });

  test('the settings come from the environment too, and the server from ./data/nats.url', async () => {
    const env = { NATS_URL: stack.server.url, JOBS_PREFIX: stack.prefix, JOBS_USER: 'alice' };
    await jobctl([...alice, 'start', 'test', '{"steps": 1000, "step-ms": 20}', '--id', 'e1']);
    assert.match((await jobctl(['query', '-q'], { env })).stdout, /^e1$/m);
    const { mkdirSync } = await import('node:fs');
    const cwd = join(CWD, 'svcdir');
    mkdirSync(join(cwd, 'data'), { recursive: true });
    writeFileSync(join(cwd, 'data', 'nats.url'), `${stack.server.url}\n`);
    const viaFile = await jobctl(['--prefix', stack.prefix, '--user', 'alice', 'query', '-q'], { cwd });
    assert.match(viaFile.stdout, /^e1$/m);
    await jobctl([...alice, 'cancel', 'e1']);
  });

  test('--help on every subcommand shows its usage and an example; completion bash', async () => {
    const overview = await jobctl(['--help']);
    assert.equal(overview.code, 0);
    const names = [...overview.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]!).filter((n) => !/^\d/.test(n));
    const all = ['start', 'call', 'query', 'types', 'pause', 'resume', 'cancel', 'complete', 'finalize', 'dismiss', 'set-speed', 'wait', 'logs', 'download', 'watch', 'transaction', 'selftest', 'serve', 'worker', 'completion'];
    assert.deepEqual(COMMAND_LIST.map((c) => c.name), all);
    for (const command of COMMAND_LIST) {
      assert.ok(names.includes(command.name), `${command.name} listed`);
      const help = commandHelp(command); // what `jobctl NAME --help` prints, as the spawned ones below show
      assert.match(help, new RegExp(`^Usage: jobctl ${command.name}`), command.name);
      assert.match(help, /^Examples?:\n {2}[^\n]*jobctl /m, command.name);
    }
    const [callHelp, setSpeedHelp] = await Promise.all([jobctl(['call', '--help']), jobctl(['set-speed', '-h'])]);
    assert.deepEqual(callHelp, { code: 0, stdout: commandHelp(findCliCommand('call')!), stderr: '' });
    assert.deepEqual(setSpeedHelp, { code: 0, stdout: commandHelp(findCliCommand('set-speed')!), stderr: '' });
    assert.match(overview.stdout, /Exit codes:\n {2}0 +success/);
    assert.equal((await jobctl(['help', 'wait'])).stdout, commandHelp(findCliCommand('wait')!));

    const bash = await jobctl(['completion', 'bash']);
    assert.equal(bash.code, 0);
    assert.match(bash.stdout, /complete -F _jobctl jobctl/);
    assert.match(bash.stdout, /set-speed\) opts="--owner"/);
    const { execFileSync } = await import('node:child_process');
    execFileSync('bash', ['-n'], { input: bash.stdout }); // valid bash
    assert.match((await jobctl(['completion', 'zsh'])).stdout, /^#compdef jobctl\nautoload -U \+X bashcompinit/);
    assert.equal((await jobctl(['completion', 'fish'])).code, 2);
  });
});
