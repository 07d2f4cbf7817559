/**
 * The wire paths themselves, without a service: deterministic, checked against QEMU's tables
 * (written out from semantics.md, not from the machines), and shaped by the profile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JobStatus } from '../../machines/index.js';
import type { JobVerb } from '../../machines/index.js';
import { generatePaths, TRANSITIONS, VERBS_ACCEPTED } from '../../src/testing/index.js';
import type { JobTypeProfile } from '../../src/testing/index.js';

const paths = generatePaths();

describe('wire paths', () => {
  test('the same options give the same paths', () => {
    assert.deepEqual(generatePaths(), paths);
  });

  test("every job's status changes follow QEMU's transition table, from created", () => {
    for (const path of paths) {
      const last = new Map(path.jobs.map((id) => [id, JobStatus.undefined as JobStatus]));
      for (const step of path.steps) {
        for (const e of step.events.filter((e) => e.event === 'JOB_STATUS_CHANGE')) {
          const from = last.get(e.id)!;
          const to = e.data.status as JobStatus;
          assert.ok(TRANSITIONS[from].includes(to), `${path.name}: ${e.id} ${from} → ${to}`);
          last.set(e.id, to);
        }
        for (const [id, status] of Object.entries(step.statuses)) assert.equal(status, last.get(id), `${path.name}: ${id}`);
      }
    }
  });

  test("a verb is accepted only where QEMU's verb table has it; refusals are 409 (400 for a negative speed the table lets through), 404 once dismissed", () => {
    for (const path of paths) {
      for (const step of path.steps.filter((s) => s.before !== undefined)) {
        const verb = step.command.replace(/^job-/, '') as JobVerb;
        const where = `${path.name}: ${step.command} in ${step.before}`;
        if (step.before === JobStatus.null) assert.deepEqual(step.reply, { ok: false, code: 404, message: 'Job not found' }, where);
        else if (step.reply.ok) assert.ok(VERBS_ACCEPTED[step.before!].includes(verb), where);
        else {
          const negative = Number(step.args.speed) < 0 && VERBS_ACCEPTED[step.before!].includes(verb);
          assert.equal(step.reply.code, negative ? 400 : 409, where);
        }
      }
    }
  });

  test('ids are unique, under the prefix asked for', () => {
    const ids = generatePaths({ idPrefix: 'x_' }).flatMap((p) => p.jobs);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id) => /^x_\d+(-\d)?$/.test(id)));
  });

  test('a type that cannot reach ready nor fail: only done and hold runs, no ready or standby', () => {
    const profile: JobTypeProfile = { type: 'count', done: { to: 1 }, hold: { to: 1_000_000 } };
    const own = generatePaths({ profile });
    assert.deepEqual([...new Set(own.flatMap((p) => p.behaviours))].sort(), ['done', 'hold']);
    const published = new Set(own.flatMap((p) => p.steps.flatMap((s) => s.events.map((e) => e.data.status))));
    assert.ok(!published.has('ready') && !published.has('standby'));
    assert.ok(own.every((p) => p.steps[0]!.command === (p.grouped ? 'transaction' : 'job-start')));
    assert.deepEqual((own[0]!.steps[0]!.args as { type?: string }).type ?? (own[0]!.steps[0]!.args as { actions: Array<{ type: string }> }).actions[0]!.type, 'count');
  });

  test('without transactions: jobs alone only', () => {
    assert.ok(generatePaths({ transactions: false }).every((p) => !p.grouped && p.jobs.length === 1));
  });
});
