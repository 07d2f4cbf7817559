/**
 * WorkControl's pause points: every pause point parked while the job is paused wakes on
 * resume (a handler may wait at several at once, e.g. parallel copies each calling
 * `job.throttle()`), and a parked pause point leaves nothing behind on the job's signal.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import type { WorkInput, WorkReport } from '../../machines/index.js';
import { pino } from 'pino';
import { z } from 'zod';
import { WorkControl } from '../../src/runtime/work-control.js';
import { defineJob } from '../../src/runtime/handler.js';
import type { JobContext } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { JobRuntime } from '../../src/runtime/runtime.js';

const INPUT: WorkInput = { id: 'w', owner: 'o', type: 't', params: {}, speed: 0, onError: 'report', paused: false };

/** Run `body` as the handler of a fresh WorkControl; the reports it made. Rethrows what `body` throws. */
async function handle(body: (job: JobContext, control: WorkControl) => Promise<unknown>): Promise<WorkReport[]> {
  const reports: WorkReport[] = [];
  let failure: { error: unknown } | undefined;
  let control: WorkControl | undefined;
  const type = defineJob('t', { params: z.strictObject({}) }, async (job) => {
    try {
      return await body(job, control!);
    } catch (error) {
      failure = { error };
      throw error;
    }
  });
  const runtime = new JobRuntime(new JobTypes().register(type), { logger: pino({ level: 'silent' }) });
  const run = runtime.open({ id: INPUT.id, owner: INPUT.owner, type: 't', params: {} }, {});
  control = new WorkControl(INPUT, run, runtime, (e) => void reports.push(e));
  await control.run();
  if (failure) throw failure.error;
  return reports;
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('WorkControl pause points', () => {
  test('every pause point parked while paused wakes on resume', async () => {
    const reports = await handle(async (job, control) => {
      control.command({ type: 'pause' });
      const woke: string[] = [];
      const parked = ['a', 'b', 'c'].map((name) => job.pausePoint().then(() => void woke.push(name)));
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.deepEqual(woke, [], 'nothing passes a pause point while paused');
      control.command({ type: 'resume' });
      await within(Promise.all(parked), 500, 'the parked pause points waking');
      assert.deepEqual(woke.sort(), ['a', 'b', 'c']);
    });
    assert.deepEqual(reports, [{ type: 'work.done', result: undefined }]);
  });

  test('every parked pause point throws once cancelled', async () => {
    const reports = await handle(async (job, control) => {
      control.command({ type: 'pause' });
      const parked = [job.pausePoint(), job.pausePoint()];
      control.command({ type: 'cancel', force: true });
      const outcomes = await within(Promise.allSettled(parked), 500, 'the parked pause points ending');
      assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
    });
    assert.deepEqual(reports, [{ type: 'work.done', result: undefined }]);
  });

  test('pausing and resuming leaves no listener on the job signal', async () => {
    await handle(async (job, control) => {
      const before = getEventListeners(job.signal, 'abort').length;
      for (let i = 0; i < 20; i++) {
        control.command({ type: 'pause' });
        const parked = job.pausePoint();
        control.command({ type: 'resume' });
        await parked;
      }
      assert.equal(getEventListeners(job.signal, 'abort').length, before);
    });
  });
});
