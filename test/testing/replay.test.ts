/**
 * `jobstate/testing` against the live service: every generated wire path (jobs alone and
 * grouped transactions, the built-in `test` type) replayed over NATS matches, with the
 * coverage the paths promise; and the path generator's own promises, checked on the paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JOB_STATUSES, JOB_VERBS } from '../../machines/index.js';
import { coverageOf, formatCoverage, generatePaths, replayPaths } from '../../src/testing/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

describe('wire paths replayed against the service', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  test('the paths reach every status a client can see and try every verb where a job can rest', () => {
    const paths = generatePaths({ idPrefix: 'gen-' });
    const steps = paths.flatMap((p) => p.steps);
    const published = new Set(steps.flatMap((s) => s.events.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => e.data.status)));
    assert.deepEqual(JOB_STATUSES.filter((s) => !published.has(s)), ['undefined']);
    const tried = new Set(steps.filter((s) => s.before).map((s) => `${s.before}>${s.command.replace('job-', '')}`));
    const resting = ['running', 'paused', 'ready', 'standby', 'waiting', 'pending', 'concluded', 'null'];
    const untried = resting.flatMap((s) => JOB_VERBS.map((v) => `${s}>${v}`)).filter((p) => !tried.has(p));
    assert.deepEqual(untried, []);
    assert.ok(paths.some((p) => p.grouped), 'transactions are included');
    assert.ok(new Set(paths.flatMap((p) => p.jobs)).size === paths.reduce((n, p) => n + p.jobs.length, 0), 'ids are unique');
  });

  test('every path matches, and every job is gone afterwards', async () => {
    const client = await stack.client('replayer');
    const results = await replayPaths(client, generatePaths({ idPrefix: 'rp-' }), { concurrency: 8 });
    const coverage = coverageOf(results);
    console.log(formatCoverage(coverage));
    const failures = results.flatMap((r) => (r.mismatch ? [r.mismatch.message] : []));
    assert.deepEqual(failures.slice(0, 10), []);
    assert.equal(coverage.statuses.reached.length, 10);
    assert.equal(stack.service.jobs.size, 0, 'every job was cleaned up');
  });
});
