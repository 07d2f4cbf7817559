/**
 * The rooms JobManager delegates to, on their own: the job table (by owner and id, with the
 * live count per owner) and the start checks (a start request carries its pipe plan).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import type { JobActorRef } from '../../machines/index.js';
import { BadInputError, JobIdInUseError, JobNotFoundError, TooManyJobsError } from '../../src/protocol/errors.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import type { PipeHub } from '../../src/pipes/hub.js';
import { defineJob } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { JobRuntime } from '../../src/runtime/runtime.js';
import { JobTable } from '../../src/service/job-table.js';
import type { LiveJob } from '../../src/service/job-table.js';
import { StartChecks } from '../../src/service/start-requests.js';

const live = (owner: string, id: string): LiveJob => ({
  id,
  owner,
  seq: 0,
  type: 't',
  status: 'running',
  storeKey: `job.${owner}.${id}`,
  job: {} as JobActorRef,
});

describe('the job table', () => {
  test('keeps jobs by owner and id, and counts each owner’s live jobs', () => {
    const table = new JobTable(new Set(['admin']));
    const a1 = live('alice', 'j1');
    table.add(a1);
    table.add(live('alice', 'j2'));
    table.add(live('bob', 'j1'));
    assert.equal(table.size, 3);
    assert.equal(table.live('alice'), 2);
    assert.equal(table.get('alice', 'j1'), a1);
    assert.equal(table.get('bob', 'j2'), undefined);

    // A job of the same id kept since is not dropped by its predecessor's removal.
    const again = live('alice', 'j1');
    assert.equal(table.delete(a1), true);
    table.add(again);
    assert.equal(table.delete(a1), false);
    assert.equal(table.get('alice', 'j1'), again);
    assert.equal(table.live('alice'), 2);
    table.clear();
    assert.equal(table.live('alice'), 0);
  });

  test('non-admins only ever address their own jobs', () => {
    const table = new JobTable(new Set(['admin']));
    table.add(live('alice', 'j1'));
    assert.equal(table.find('admin', 'j1', 'alice').owner, 'alice');
    assert.equal(table.find('alice', 'j1').owner, 'alice');
    assert.throws(() => table.find('bob', 'j1', 'alice'), JobNotFoundError);
    assert.throws(() => table.find('bob', 'j1'), JobNotFoundError);
  });

  test('creation numbers go on after the restored ones', () => {
    const table = new JobTable(new Set());
    assert.equal(table.nextSeq(), 1);
    table.seqAtLeast(41);
    table.seqAtLeast(7);
    assert.equal(table.nextSeq(), 42);
  });
});

describe('start checks', () => {
  const types = new JobTypes()
    .register(defineJob('plain', { params: z.strictObject({}) }, async () => undefined))
    .register(defineJob('writer', { params: z.strictObject({}), pipes: { output: true } }, async () => undefined));
  const runtime = new JobRuntime(types, { logger: pino({ level: 'silent' }) });
  const hub = { settings: { maxInputs: 4 } } as PipeHub;

  test('a start request carries the job’s input and its pipe plan', () => {
    const checks = new StartChecks(runtime, new JobTable(new Set()), resolveLimits(), hub);
    const req = checks.check('alice', { type: 'writer', id: 'w1', pipes: { output: 'stream' }, 'on-error': 'stop' }, new Set());
    assert.deepEqual(req.input, { id: 'w1', owner: 'alice', type: 'writer', params: {}, onError: 'stop' });
    assert.deepEqual(req.pipes, { inputs: [], output: 'stream' });
    assert.equal(checks.check('alice', { type: 'plain' }, new Set()).pipes, undefined);
  });

  test('pipes are refused without a pipe hub, ids in use and owners past their limit too', () => {
    const table = new JobTable(new Set());
    assert.throws(
      () => new StartChecks(runtime, table, resolveLimits(), undefined).check('alice', { type: 'writer', pipes: {} }, new Set()),
      (err: BadInputError) => err instanceof BadInputError && err.message.includes('this service has no pipes'),
    );
    const checks = new StartChecks(runtime, table, resolveLimits({ maxJobsPerOwner: 2 }), hub);
    table.add(live('alice', 'j1'));
    assert.throws(() => checks.check('alice', { type: 'plain', id: 'j1' }, new Set()), JobIdInUseError);
    assert.throws(() => checks.check('alice', { type: 'plain', id: 'j2' }, new Set(['j2'])), JobIdInUseError);
    checks.check('alice', { type: 'plain' }, new Set());
    assert.throws(() => checks.check('alice', { type: 'plain' }, new Set(['x'])), TooManyJobsError);
    assert.throws(() => checks.room('alice', 1), TooManyJobsError);
    checks.room('bob', 1);
  });
});
