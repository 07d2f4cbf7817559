/**
 * The order of events on the wire (semantics.md's canonical sequences), the QMP envelope and
 * subject of each event, wildcard subscriptions, and JOB_PROGRESS's rate limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder, sequence, sleep } from './helpers.js';
import type { Recorded } from './helpers.js';

const LONG = { steps: 1000, 'step-ms': 20 };
const READY = { steps: 2, 'step-ms': 1, ready: true };
const SUCCESS_TAIL = ['waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null'];
const SUCCESS_STATUSES = ['created', 'running', 'waiting', 'pending', 'concluded', 'null'];

describe('events over a real nats-server', () => {
  let stack: Stack;
  let alice: JobsClient;
  let bob: JobsClient;
  let events: Recorder;

  before(async () => {
    stack = await startStack();
    [alice, bob] = await Promise.all([stack.client('alice'), stack.client('bob')]);
    events = new Recorder(alice.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
  });
  after(async () => {
    events.close();
    await stack.close();
  });

  const done = (id: string) => events.status(id, 'null');
  const dataOf = (id: string, event: string): Recorded['data'] | undefined => events.of(id).find((e) => e.event === event)?.data;

  describe('canonical sequences', () => {
    test('success: created, running, waiting, pending, [JOB_COMPLETED], concluded, null', async () => {
      await alice.start('test', { id: 'ok1', params: { steps: 3, 'step-ms': 2 } });
      await done('ok1');
      assert.deepEqual(sequence(events.events, 'ok1'), ['created', 'running', ...SUCCESS_TAIL]);
      assert.deepEqual(dataOf('ok1', 'JOB_COMPLETED'), {
        id: 'ok1',
        owner: 'alice',
        type: 'test',
        speed: 0,
        'current-progress': 3,
        'total-progress': 3,
      });
    });

    test('failure: …, aborting, [JOB_COMPLETED with error], concluded, null', async () => {
      await alice.start('test', { id: 'fail1', params: { steps: 3, 'step-ms': 2, fail: 'it broke', 'fail-at': 2 } });
      await done('fail1');
      assert.deepEqual(sequence(events.events, 'fail1'), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
      assert.deepEqual(dataOf('fail1', 'JOB_COMPLETED'), {
        id: 'fail1',
        owner: 'alice',
        type: 'test',
        speed: 0,
        'current-progress': 1,
        'total-progress': 3,
        error: 'it broke',
      });
      assert.equal((await alice.wait('fail1', { timeoutMs: 1000 })).error, 'it broke');
    });

    test('cancel while running: …, aborting, [JOB_CANCELLED], concluded, null', async () => {
      await alice.start('test', { id: 'can1', params: LONG, speed: 100 });
      await alice.cancel('can1');
      await done('can1');
      assert.deepEqual(sequence(events.events, 'can1'), ['created', 'running', 'aborting', '[JOB_CANCELLED]', 'concluded', 'null']);
      const cancelled = dataOf('can1', 'JOB_CANCELLED');
      assert.deepEqual(Object.keys(cancelled ?? {}).sort(), ['current-progress', 'id', 'owner', 'speed', 'total-progress', 'type']);
      assert.equal(cancelled?.speed, 100);
      assert.equal(cancelled?.['total-progress'], 1000);
      const info = await alice.wait('can1', { timeoutMs: 1000 });
      assert.equal(info.error, 'Operation canceled');
      assert.equal(info.status, 'concluded');
    });

    test('pause/resume while running: …, paused, running, …', async () => {
      await alice.start('test', { id: 'pr1', params: { steps: 5, 'step-ms': 20 } });
      await alice.pause('pr1');
      await sleep(150); // longer than the whole job: it is really held
      assert.deepEqual(sequence(events.events, 'pr1'), ['created', 'running', 'paused']);
      await alice.resume('pr1');
      await done('pr1');
      assert.deepEqual(sequence(events.events, 'pr1'), ['created', 'running', 'paused', 'running', ...SUCCESS_TAIL]);
    });

    test('cancel of a paused job: it runs again first, then aborts', async () => {
      await alice.start('test', { id: 'pc1', params: LONG });
      await alice.pause('pc1');
      await alice.cancel('pc1');
      await done('pc1');
      assert.deepEqual(sequence(events.events, 'pc1'), [
        'created',
        'running',
        'paused',
        'running',
        'aborting',
        '[JOB_CANCELLED]',
        'concluded',
        'null',
      ]);
    });

    test('ready: created, running, ready, [JOB_READY], (job-complete) waiting, pending, [JOB_COMPLETED], concluded, null', async () => {
      await alice.start('test', { id: 'rd1', params: READY, speed: 9 });
      await events.event('rd1', 'JOB_READY');
      await sleep(50);
      assert.deepEqual(sequence(events.events, 'rd1'), ['created', 'running', 'ready', '[JOB_READY]'], 'stays in ready');
      assert.deepEqual(dataOf('rd1', 'JOB_READY'), {
        id: 'rd1',
        owner: 'alice',
        type: 'test',
        speed: 9,
        'current-progress': 2,
        'total-progress': 2,
      });
      await alice.complete('rd1');
      await done('rd1');
      assert.deepEqual(sequence(events.events, 'rd1'), ['created', 'running', 'ready', '[JOB_READY]', ...SUCCESS_TAIL]);
    });

    test('pause in ready → standby → resume → ready (no second JOB_READY)', async () => {
      await alice.start('test', { id: 'sb1', params: READY });
      await events.event('sb1', 'JOB_READY');
      await alice.pause('sb1');
      await alice.resume('sb1');
      await alice.complete('sb1');
      await done('sb1');
      assert.deepEqual(sequence(events.events, 'sb1'), [
        'created',
        'running',
        'ready',
        '[JOB_READY]',
        'standby',
        'ready',
        ...SUCCESS_TAIL,
      ]);
    });

    test('complete in standby: takes effect once resumed', async () => {
      await alice.start('test', { id: 'sb2', params: READY });
      await events.event('sb2', 'JOB_READY');
      await alice.pause('sb2');
      assert.deepEqual(await alice.complete('sb2'), {});
      await sleep(50);
      assert.deepEqual(sequence(events.events, 'sb2').slice(-1), ['standby'], 'held in standby');
      await alice.resume('sb2');
      await done('sb2');
      assert.deepEqual(sequence(events.events, 'sb2'), ['created', 'running', 'ready', '[JOB_READY]', 'standby', 'ready', ...SUCCESS_TAIL]);
    });

    test('forced cancel in standby: back to ready, then aborting, [JOB_CANCELLED]', async () => {
      await alice.start('test', { id: 'sb3', params: READY });
      await events.event('sb3', 'JOB_READY');
      await alice.pause('sb3');
      await alice.cancel('sb3');
      await done('sb3');
      assert.deepEqual(sequence(events.events, 'sb3'), [
        'created',
        'running',
        'ready',
        '[JOB_READY]',
        'standby',
        'ready',
        'aborting',
        '[JOB_CANCELLED]',
        'concluded',
        'null',
      ]);
    });

    test('manual finalize: [JOB_PENDING] after pending; job-finalize replies after the job concluded', async () => {
      await alice.start('test', { id: 'mf1', params: { steps: 2, 'step-ms': 1 }, 'auto-finalize': false });
      await events.event('mf1', 'JOB_PENDING');
      await sleep(50);
      assert.deepEqual(sequence(events.events, 'mf1'), ['created', 'running', 'waiting', 'pending', '[JOB_PENDING]'], 'stays in pending');
      assert.deepEqual(dataOf('mf1', 'JOB_PENDING'), { id: 'mf1', owner: 'alice', type: 'test' });
      await alice.finalize('mf1');
      // Taken at the reply: everything up to null is already out.
      assert.deepEqual(sequence(events.events, 'mf1'), [
        'created',
        'running',
        'waiting',
        'pending',
        '[JOB_PENDING]',
        '[JOB_COMPLETED]',
        'concluded',
        'null',
      ]);
    });

    test('manual dismiss: stays concluded; job-dismiss → null', async () => {
      await alice.start('test', { id: 'md1', params: { steps: 2, 'step-ms': 1 }, 'auto-dismiss': false });
      await events.status('md1', 'concluded');
      await sleep(50);
      assert.deepEqual(sequence(events.events, 'md1'), ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded']);
      assert.equal((await alice.query()).find((j) => j.id === 'md1')?.status, 'concluded');
      await alice.dismiss('md1');
      assert.deepEqual(sequence(events.events, 'md1'), ['created', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
    });

    test('manual finalize and dismiss of a failed job: no pending, no JOB_PENDING', async () => {
      await alice.start('test', {
        id: 'mf2',
        params: { steps: 2, 'step-ms': 1, fail: 'bad' },
        'auto-finalize': false,
        'auto-dismiss': false,
      });
      await events.status('mf2', 'concluded');
      await alice.dismiss('mf2');
      assert.deepEqual(sequence(events.events, 'mf2'), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
      assert.equal(dataOf('mf2', 'JOB_COMPLETED')?.error, 'bad');
    });

    test('a grouped transaction where one member fails: the ready one is force-cancelled', async () => {
      await alice.transaction(
        [
          { type: 'test', id: 'gx-ready', params: { steps: 1, 'step-ms': 1, ready: true } },
          { type: 'test', id: 'gx-fail', params: { steps: 30, 'step-ms': 10, fail: 'member failed' } },
        ],
        'grouped',
      );
      await Promise.all([done('gx-ready'), done('gx-fail')]);
      assert.deepEqual(sequence(events.events, 'gx-ready'), [
        'created',
        'running',
        'ready',
        '[JOB_READY]',
        'aborting',
        '[JOB_CANCELLED]',
        'concluded',
        'null',
      ]);
      assert.deepEqual(sequence(events.events, 'gx-fail'), ['created', 'running', 'aborting', '[JOB_COMPLETED]', 'concluded', 'null']);
      assert.equal(dataOf('gx-fail', 'JOB_COMPLETED')?.error, 'member failed');
      assert.equal(dataOf('gx-ready', 'JOB_CANCELLED')?.error, undefined);
      const [ready, failed] = await Promise.all([alice.wait('gx-ready', { timeoutMs: 1000 }), alice.wait('gx-fail', { timeoutMs: 1000 })]);
      assert.deepEqual([ready.status, ready.error], ['concluded', 'Operation canceled']);
      assert.deepEqual([failed.status, failed.error], ['concluded', 'member failed']);
      assert.equal(ready.txn, failed.txn);
    });
  });

  describe('the envelope', () => {
    test('every event is {event, data{id, owner, …}, timestamp{seconds, microseconds}} on P.evt.<owner>.<id>.<EVENT>', async () => {
      const before = Date.now();
      await alice.start('test', { id: 'env1', params: { steps: 3, 'step-ms': 2, ready: true }, 'auto-finalize': false });
      await events.event('env1', 'JOB_READY');
      await alice.complete('env1');
      await events.event('env1', 'JOB_PENDING');
      await alice.finalize('env1');
      const after = Date.now();
      const all = events.of('env1');
      assert.deepEqual(
        [...new Set(all.map((e) => e.event))].sort(),
        ['JOB_COMPLETED', 'JOB_PENDING', 'JOB_PROGRESS', 'JOB_READY', 'JOB_STATUS_CHANGE'],
      );
      let last = 0;
      for (const e of all) {
        assert.equal(e.subject, `${stack.prefix}.evt.alice.env1.${e.event}`);
        assert.deepEqual(Object.keys(e.raw as object).sort(), ['data', 'event', 'timestamp']);
        assert.equal(e.data.id, 'env1');
        assert.equal(e.data.owner, 'alice');
        assert.deepEqual(Object.keys(e.timestamp).sort(), ['microseconds', 'seconds']);
        assert.ok(Number.isInteger(e.timestamp.seconds) && Number.isInteger(e.timestamp.microseconds));
        assert.ok(e.timestamp.microseconds >= 0 && e.timestamp.microseconds < 1e6);
        const ms = e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000;
        assert.ok(ms >= before - 50 && ms <= after + 50, `timestamp ${ms} within [${before}, ${after}]`);
        assert.ok(ms >= last, 'timestamps never go back');
        last = ms;
      }
      const status = all.filter((e) => e.event === 'JOB_STATUS_CHANGE');
      for (const e of status) assert.deepEqual(Object.keys(e.data).sort(), ['id', 'owner', 'status']);
      const progress = all.filter((e) => e.event === 'JOB_PROGRESS');
      for (const e of progress) assert.deepEqual(Object.keys(e.data).sort(), ['current-progress', 'id', 'owner', 'total-progress']);
    });

    test('JOB_PROGRESS carries the description when the job has one', async () => {
      await alice.start('test', { id: 'desc1', params: { steps: 2, 'step-ms': 1 }, description: 'counting' });
      await done('desc1');
      const progress = events.of('desc1').filter((e) => e.event === 'JOB_PROGRESS');
      assert.ok(progress.length > 0);
      for (const e of progress) assert.equal(e.data.description, 'counting');
    });

    test('wildcards: P.evt.alice.> gets only alice\'s events; P.evt.*.<id>.JOB_STATUS_CHANGE only that event', async () => {
      const watcher = await stack.client('watcher');
      const aliceOnly = new Recorder(watcher.nc, `${stack.prefix}.evt.alice.>`);
      const statusOnly = new Recorder(watcher.nc, `${stack.prefix}.evt.*.wild1.JOB_STATUS_CHANGE`);
      await Promise.all([aliceOnly.ready, statusOnly.ready]);
      await bob.start('test', { id: 'wild1', params: { steps: 2, 'step-ms': 1 } });
      await alice.start('test', { id: 'wild1', params: { steps: 2, 'step-ms': 1 } });
      await Promise.all([done('wild1'), statusOnly.until((e) => e.data.owner === 'bob' && e.data.status === 'null')]);
      await aliceOnly.status('wild1', 'null');
      assert.ok(aliceOnly.events.length > 0);
      assert.deepEqual([...new Set(aliceOnly.events.map((e) => e.data.owner))], ['alice']);
      assert.ok(aliceOnly.events.every((e) => e.subject.startsWith(`${stack.prefix}.evt.alice.`)));
      assert.deepEqual([...new Set(statusOnly.events.map((e) => e.event))], ['JOB_STATUS_CHANGE']);
      assert.deepEqual(sequence(statusOnly.events.filter((e) => e.data.owner === 'bob'), 'wild1'), SUCCESS_STATUSES);
      assert.deepEqual(sequence(statusOnly.events.filter((e) => e.data.owner === 'alice'), 'wild1'), SUCCESS_STATUSES);
      aliceOnly.close();
      statusOnly.close();
    });

    test('the SDK event stream gets the same events', async () => {
      const stream = alice.events({ id: 'sdk1', event: 'JOB_STATUS_CHANGE' });
      await stream.ready;
      await alice.start('test', { id: 'sdk1', params: { steps: 1, 'step-ms': 1 } });
      const statuses: string[] = [];
      for await (const e of stream) {
        statuses.push(String(e.data.status));
        if (e.data.status === 'null') break;
      }
      assert.deepEqual(statuses, SUCCESS_STATUSES);
    });
  });

  describe('JOB_PROGRESS', () => {
    test('at most about 10 per second per job, and the last one before concluded is the total', async () => {
      const steps = 50;
      await alice.start('test', { id: 'prog1', params: { steps, 'step-ms': 2 } });
      await done('prog1');
      const all = events.of('prog1');
      const progress = all.filter((e) => e.event === 'JOB_PROGRESS');
      const at = (e: Recorded | undefined) => (e ? e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000 : NaN);
      const started = at(all.find((e) => e.data.status === 'running'));
      const concluded = at(all.find((e) => e.data.status === 'concluded'));
      const duration = concluded - started;
      assert.ok(duration >= 100, `50 steps of 2 ms take at least 100 ms (${duration})`);
      assert.ok(
        progress.length <= Math.floor(duration / 100) + 2,
        `${progress.length} progress events in ${duration.toFixed(1)} ms`,
      );
      assert.ok(progress.length >= 2, 'some progress is reported');
      const concludedAt = all.findIndex((e) => e.data.status === 'concluded');
      const lastProgress = all.slice(0, concludedAt).filter((e) => e.event === 'JOB_PROGRESS').at(-1);
      assert.deepEqual(
        [lastProgress?.data['current-progress'], lastProgress?.data['total-progress']],
        [steps, steps],
      );
      // The last progress comes before the job leaves running.
      assert.ok(all.indexOf(lastProgress!) < all.findIndex((e) => e.data.status === 'waiting'));
      // Progress never goes back.
      const values = progress.map((e) => Number(e.data['current-progress']));
      assert.deepEqual(values, [...values].sort((a, b) => a - b));
    });

    test('the limit is per job: two jobs at once each get their own', async () => {
      await Promise.all([
        alice.start('test', { id: 'prog2', params: { steps: 30, 'step-ms': 2 } }),
        alice.start('test', { id: 'prog3', params: { steps: 30, 'step-ms': 2 } }),
      ]);
      await Promise.all([done('prog2'), done('prog3')]);
      for (const id of ['prog2', 'prog3']) {
        const progress = events.of(id).filter((e) => e.event === 'JOB_PROGRESS');
        assert.ok(progress.length >= 2, `${id} has its own progress events`);
        assert.equal(progress.at(-1)?.data['current-progress'], 30);
      }
    });
  });
});
