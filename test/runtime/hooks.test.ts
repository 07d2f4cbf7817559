/**
 * Finalize hooks over a real nats-server (QEMU's prepare / commit / abort / clean): success
 * runs prepare, commit, clean before the job concludes; failure and cancel run abort, clean
 * and never commit; a failing prepare aborts the job and its grouped partners; the handler's
 * scratch reaches the hooks; a hook that throws is logged in the job's log and harms nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import type { FinalizeContext } from '../../src/runtime/handler.js';
import { sequence, sleep } from '../service/helpers.js';
import { Gates, startTypesStack } from './helpers.js';
import type { TypesStack } from './helpers.js';

const gates = new Gates();

const Params = z.strictObject({
  name: z.string(),
  /** Fail the handler with this message. */
  fail: z.string().optional(),
  /** Wait at the gate named `name` before finishing. */
  hold: z.boolean().default(false),
  /** Fail prepare with this message. */
  'prepare-fail': z.string().optional(),
  /** Make this hook throw. */
  'throw-in': z.enum(['commit', 'abort', 'clean']).optional(),
});
type Params = z.infer<typeof Params>;

/** What ran for each job name, in order: `run` (the handler) and the hooks. */
const calls = new Map<string, string[]>();
/** The scratch `temp` each hook saw, by job name. */
const seen = new Map<string, string[]>();

function record(name: string, what: string, temp?: unknown): void {
  calls.set(name, [...(calls.get(name) ?? []), what]);
  if (what !== 'run') seen.set(name, [...(seen.get(name) ?? []), `${what}:${String(temp)}`]);
}

function hook(which: 'commit' | 'abort' | 'clean') {
  return (job: FinalizeContext<Params>): void => {
    record(job.params.name, which, job.scratch.temp);
    if (which === 'clean') job.log.info(`removed ${String(job.scratch.temp)}`);
    if (job.params['throw-in'] === which) throw new Error(`${which} exploded`);
  };
}

const hooked = defineJob(
  'hooked',
  {
    params: Params,
    hooks: {
      async prepare(job) {
        record(job.params.name, 'prepare', job.scratch.temp);
        await sleep(5);
        if (job.params['prepare-fail'] !== undefined) throw new Error(job.params['prepare-fail']);
      },
      commit: hook('commit'),
      abort: hook('abort'),
      clean: hook('clean'),
    },
  },
  async (job) => {
    job.scratch.temp = `/tmp/${job.params.name}.part`;
    record(job.params.name, 'run');
    if (job.params.hold) await gates.wait(job, job.params.name);
    if (job.params.fail !== undefined) throw new Error(job.params.fail);
    return job.params.name;
  },
);

/** A locked type whose clean throws: the lock must be released all the same. */
const cleanThrows = defineJob(
  'clean-throws',
  {
    params: z.strictObject({ name: z.string() }),
    lock: 'CT',
    hooks: {
      clean() {
        throw new Error('clean exploded');
      },
    },
  },
  async (job) => job.params.name,
);

/** A locked type with hooks: a job cancelled while it waits for the lock never ran its handler. */
const lockedHooked = defineJob(
  'locked-hooked',
  {
    params: z.strictObject({ name: z.string() }),
    lock: 'LH',
    hooks: {
      abort: (job) => record(job.params.name, 'abort', job.scratch.temp),
      clean: (job) => record(job.params.name, 'clean', job.scratch.temp),
    },
  },
  async (job) => {
    job.scratch.temp = `/tmp/${job.params.name}.part`;
    record(job.params.name, 'run');
    await gates.wait(job, job.params.name);
  },
);

/** A commit written as an async function (TypeScript allows it) that rejects after a while. */
const asyncCommit = defineJob(
  'async-commit',
  {
    params: z.strictObject({}),
    hooks: {
      async commit() {
        await sleep(5);
        throw new Error('late commit failure');
      },
    },
  },
  async () => 'ok',
);

describe('finalize hooks', () => {
  let t: TypesStack;

  before(async () => {
    t = await startTypesStack((types) => types.register(hooked).register(cleanThrows).register(asyncCommit).register(lockedHooked));
  });
  after(() => t.close());

  /** The calls of `name` as they were when `id`'s `concluded` arrived over NATS. */
  function callsAtConcluded(id: string, name: string): Promise<string[]> {
    return new Promise((resolve) => {
      const sub = t.alice.nc.subscribe(`${t.stack.prefix}.evt.alice.${id}.JOB_STATUS_CHANGE`, {
        callback: (err, msg) => {
          if (err || msg.json<{ data: { status: string } }>().data.status !== 'concluded') return;
          resolve([...(calls.get(name) ?? [])]);
          sub.unsubscribe();
        },
      });
    });
  }

  test('success: prepare, commit, clean, in that order, before the job concludes; scratch reaches them', async () => {
    const { alice, events } = t;
    const atConcluded = callsAtConcluded('h-ok', 'ok');
    await t.alice.nc.flush();
    await alice.start('hooked', { id: 'h-ok', params: { name: 'ok' }, 'auto-dismiss': false });
    const final = await alice.wait('h-ok', { timeoutMs: 5000 });
    assert.equal(final.result, 'ok');
    assert.deepEqual(calls.get('ok'), ['run', 'prepare', 'commit', 'clean']);
    assert.deepEqual(await atConcluded, ['run', 'prepare', 'commit', 'clean'], 'commit and clean ran before concluded');
    assert.deepEqual(seen.get('ok'), ['prepare:/tmp/ok.part', 'commit:/tmp/ok.part', 'clean:/tmp/ok.part']);
    // A hook may write to the job's log.
    assert.match((await alice.log('h-ok')).lines.join('\n'), /INFO removed \/tmp\/ok\.part$/);
    assert.deepEqual(sequence(events.events, 'h-ok'), ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded']);
    await alice.dismiss('h-ok');
  });

  test('with auto-finalize false the hooks run at job-finalize, done by its reply', async () => {
    const { alice, events } = t;
    await alice.start('hooked', { id: 'h-fin', params: { name: 'fin' }, 'auto-finalize': false });
    await events.event('h-fin', 'JOB_PENDING');
    await sleep(20);
    assert.deepEqual(calls.get('fin'), ['run']);
    assert.deepEqual(await alice.finalize('h-fin'), {});
    assert.deepEqual(calls.get('fin'), ['run', 'prepare', 'commit', 'clean']);
  });

  test('failure: abort, clean, never commit', async () => {
    const { alice, events } = t;
    const atConcluded = callsAtConcluded('h-bad', 'bad');
    await t.alice.nc.flush();
    await alice.start('hooked', { id: 'h-bad', params: { name: 'bad', fail: 'handler broke' } });
    assert.equal((await alice.wait('h-bad', { timeoutMs: 5000 })).error, 'handler broke');
    assert.deepEqual(calls.get('bad'), ['run', 'abort', 'clean']);
    assert.deepEqual(await atConcluded, ['run', 'abort', 'clean']);
    assert.deepEqual(seen.get('bad'), ['abort:/tmp/bad.part', 'clean:/tmp/bad.part']);
    await events.status('h-bad', 'null');
    assert.deepEqual(sequence(events.events, 'h-bad'), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('cancel: abort, clean, never commit', async () => {
    const { alice, events } = t;
    await alice.start('hooked', { id: 'h-cx', params: { name: 'cx', hold: true } });
    await events.status('h-cx', 'running');
    await sleep(10);
    await alice.cancel('h-cx');
    assert.equal((await alice.wait('h-cx', { timeoutMs: 5000 })).error, 'Operation canceled');
    assert.deepEqual(calls.get('cx'), ['run', 'abort', 'clean']);
    assert.deepEqual(seen.get('cx'), ['abort:/tmp/cx.part', 'clean:/tmp/cx.part']);
    await events.status('h-cx', 'null');
    assert.deepEqual(sequence(events.events, 'h-cx'), ['created', 'running', 'aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
  });

  test('a job cancelled while it waits for its lock gets abort and clean with an empty scratch', async () => {
    const { alice } = t;
    const holder = await alice.start('locked-hooked', { params: { name: 'lh-hold' } });
    const queued = await alice.start('locked-hooked', { params: { name: 'lh-queued' } });
    await alice.cancel(queued);
    assert.equal((await alice.wait(queued, { timeoutMs: 5000 })).error, 'Operation canceled');
    assert.deepEqual(calls.get('lh-queued'), ['abort', 'clean']);
    assert.deepEqual(seen.get('lh-queued'), ['abort:undefined', 'clean:undefined']);
    gates.open('lh-hold');
    await alice.wait(holder, { timeoutMs: 5000 });
  });

  test("a prepare that throws aborts the job: JOB_COMPLETED with the prepare's error", async () => {
    const { alice, events } = t;
    await alice.start('hooked', { id: 'h-pf', params: { name: 'pf', 'prepare-fail': 'prepare broke' } });
    assert.equal((await alice.wait('h-pf', { timeoutMs: 5000 })).error, 'prepare broke');
    assert.deepEqual(calls.get('pf'), ['run', 'prepare', 'abort', 'clean']);
    await events.status('h-pf', 'null');
    assert.deepEqual(sequence(events.events, 'h-pf'), [
      'created',
      'running',
      'waiting',
      'pending',
      'aborting',
      '[JOB_COMPLETED]',
      'concluded',
      'null',
    ]);
    assert.equal((await events.event('h-pf', 'JOB_COMPLETED')).data.error, 'prepare broke');
  });

  test('a prepare that throws aborts its grouped transaction partner, which never commits', async () => {
    const { alice, events } = t;
    const jobs = await alice.transaction(
      [
        { type: 'hooked', id: 'g-a', params: { name: 'ga', 'prepare-fail': 'prepare broke' } },
        { type: 'hooked', id: 'g-b', params: { name: 'gb' } },
      ],
      'grouped',
    );
    assert.deepEqual(jobs, ['g-a', 'g-b']);
    const [a, b] = await Promise.all([alice.wait('g-a', { timeoutMs: 5000 }), alice.wait('g-b', { timeoutMs: 5000 })]);
    assert.equal(a.error, 'prepare broke');
    assert.equal(b.error, 'Operation canceled');
    assert.deepEqual(calls.get('ga'), ['run', 'prepare', 'abort', 'clean']);
    assert.ok(!calls.get('gb')?.includes('commit'), `gb: ${calls.get('gb')?.join(',')}`);
    assert.deepEqual(calls.get('gb')?.slice(-2), ['abort', 'clean']);
    await events.status('g-b', 'null');
    assert.equal((await events.event('g-a', 'JOB_COMPLETED')).data.error, 'prepare broke');
    assert.deepEqual(sequence(events.events, 'g-b').slice(-4), ['aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
  });

  test('a commit that throws is logged in the job log; clean still runs and the job succeeds', async () => {
    const { alice } = t;
    await alice.start('hooked', { id: 'h-tc', params: { name: 'tc', 'throw-in': 'commit' }, 'auto-dismiss': false });
    const final = await alice.wait('h-tc', { timeoutMs: 5000 });
    assert.equal(final.error, undefined);
    assert.equal(final.result, 'tc');
    assert.deepEqual(calls.get('tc'), ['run', 'prepare', 'commit', 'clean']);
    assert.match(final['logs-excerpt'] ?? '', /ERROR commit failed: commit exploded\n.* INFO removed \/tmp\/tc\.part$/);
    await alice.dismiss('h-tc');
  });

  test('an abort that throws is logged; clean still runs and the job keeps its own error', async () => {
    const { alice } = t;
    await alice.start('hooked', { id: 'h-ta', params: { name: 'ta', fail: 'handler broke', 'throw-in': 'abort' } });
    const final = await alice.wait('h-ta', { timeoutMs: 5000 });
    assert.equal(final.error, 'handler broke');
    assert.deepEqual(calls.get('ta'), ['run', 'abort', 'clean']);
    assert.match(final['logs-excerpt'] ?? '', /ERROR abort failed: abort exploded\n.* INFO removed \/tmp\/ta\.part$/);
  });

  test('an async commit that rejects is logged, and is no unhandled rejection', async () => {
    const { alice } = t;
    const id = await alice.start('async-commit', { 'auto-dismiss': false });
    assert.equal((await alice.wait(id, { timeoutMs: 5000 })).result, 'ok');
    const deadline = Date.now() + 2000;
    let lines: string[] = [];
    while (!lines.some((line) => line.endsWith('ERROR commit failed: late commit failure')) && Date.now() < deadline) {
      await sleep(10);
      lines = (await alice.log(id)).lines;
    }
    assert.match(lines.join('\n'), /ERROR commit failed: late commit failure$/);
    await alice.dismiss(id);
  });

  test('a clean that throws is logged, and the lock is released all the same', async () => {
    const { alice, admin } = t;
    const first = await alice.start('clean-throws', { params: { name: 'one' } });
    const second = await alice.start('clean-throws', { params: { name: 'two' } });
    const [one, two] = await Promise.all([alice.wait(first, { timeoutMs: 5000 }), alice.wait(second, { timeoutMs: 5000 })]);
    assert.equal(one.result, 'one');
    assert.equal(two.result, 'two');
    assert.match(one['logs-excerpt'] ?? '', /ERROR clean failed: clean exploded$/);
    // The service is still answering.
    assert.ok(Array.isArray(await admin.query()));
  });
});
