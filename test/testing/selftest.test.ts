/**
 * `jobctl selftest` against the service: on a plain server (text and --json), and under
 * nats-auth.conf as the normal user alice; its usage errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { startStack } from '../support/stack.js';
import { countJob } from './count-job.js';
import type { Stack } from '../support/stack.js';
import { startAuthServer } from '../security/auth-server.js';
import type { AuthServer } from '../security/auth-server.js';
import { jobctl } from '../cli/helpers.js';

const SUMMARY = /^(\d+) passed, 0 failed \(\1 paths, \d+ steps, [\d.]+ s\)$/m;

describe('jobctl selftest on a plain server', () => {
  let stack: Stack;
  let base: string[];
  before(async () => {
    stack = await startStack({ types: (dir) => builtinTypes(dir).register(countJob) });
    base = ['--server', stack.server.url, '--prefix', stack.prefix, '--user', 'carol'];
  });
  after(() => stack.close());

  test('every path passes: coverage and the summary line, exit 0, nothing left behind', async () => {
    const r = await jobctl([...base, 'selftest']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^statuses reached: 10\/11 \(not: undefined\)$/m);
    assert.match(r.stdout, /^verb × status pairs tried: 56\/77 /m);
    assert.match(r.stdout, /^QEMU transitions taken: 17\/20 /m);
    assert.match(r.stdout, SUMMARY);
    assert.equal(stack.service.jobs.size, 0);
  });

  test('--json, --no-transactions and an id prefix of its own', async () => {
    const r = await jobctl([...base, 'selftest', '--json', '--no-transactions', '--id-prefix', 'mine-']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; idPrefix: string; coverage: { paths: { failed: number; passed: number } }; mismatches: unknown[] };
    assert.equal(report.ok, true);
    assert.equal(report.idPrefix, 'mine-');
    assert.equal(report.coverage.paths.failed, 0);
    assert.ok(report.coverage.paths.passed > 0);
    assert.deepEqual(report.mismatches, []);
  });

  test('a type of your own, by --type and --params: its paths pass', async () => {
    const r = await jobctl([...base, 'selftest', '--type', 'count', '--params', '{"done": {"to": 1}, "hold": {"to": 1000000}}']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^statuses reached: 8\/11 \(not: undefined, ready, standby\)$/m);
    assert.match(r.stdout, SUMMARY);
    assert.equal(stack.service.jobs.size, 0);
  });

  test('usage errors name what is wrong', async () => {
    const cases: Array<[string[], string]> = [
      [['--type', 'copy'], `jobctl: --type copy needs --params '{"done": {...}, "hold": {...}}' (see docs/model-testing.md)\n`],
      [['--type', 'copy', '--params', '{"done": {}, "hodl": {}}'], "jobctl: --params: unknown key 'hodl' (expected done, hold, ready, fail, fail-error)\n"],
      [['--params', '{"done": {}}'], "jobctl: --params: 'hold' must be the job-start params (a JSON object) of a hold run\n"],
      [['--id-prefix', '9x'], "jobctl: --id-prefix must start with a letter, then letters, digits, - or _; not '9x'\n"],
    ];
    for (const [args, stderr] of cases) assert.deepEqual(await jobctl([...base, 'selftest', ...args]), { code: 2, stdout: '', stderr });
  });

  test('a run the service will not start is named once, with its reason', async () => {
    const params = JSON.stringify({ done: { steps: 1 }, hold: { stpes: 1 } });
    const r = await jobctl([...base, 'selftest', '--params', params, '--id-prefix', 'bad-']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^jobctl: the hold run of 'test' was not started: error 400 'Parameter 'params\.stpes' is unexpected' \(job-start \{"type":"test","id":"bad-\d+","params":\{"stpes":1\},"auto-finalize":false,"auto-dismiss":false\}\)\n$/,
    );
    assert.equal(r.stdout, '');
    assert.equal(stack.service.jobs.size, 0);
  });
});

describe('jobctl selftest under nats-auth.conf, as a normal user', () => {
  let auth: AuthServer;
  let stack: Stack;
  before(async () => {
    auth = await startAuthServer();
    stack = await startStack({ server: auth.server, prefix: auth.prefix, connection: { user: 'jobstate', pass: auth.passwords.jobstate } });
  });
  after(async () => {
    await stack.close();
    await auth.stop();
  });

  test('alice: every path passes within her own permissions', async () => {
    const r = await jobctl(['--server', auth.server.url, '--prefix', auth.prefix, '--user', 'alice', 'selftest'], {
      env: { JOBS_PASSWORD: auth.passwords.alice },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, SUMMARY);
    assert.equal(stack.service.jobs.size, 0);
  });
});
