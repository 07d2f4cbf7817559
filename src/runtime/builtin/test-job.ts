/**
 * The built-in `test` job type (TrueNAS's `core.job_test`): diagnostics that can drive a job
 * through every status. It runs `steps` steps of `step-ms` each with a pause point after
 * each; progress counts steps; `speed` limits steps per second; `ready: true` enters ready
 * after the steps and waits for job-complete; `fail` fails with that message at `fail-at`
 * (else after the last step); `result` is returned on success. It is resumable: after a
 * service restart it goes on from the step it had reached.
 */
import { z } from 'zod';
import { defineJob } from '../handler.js';

export const TestJobParams = z.strictObject({
  steps: z.number().int().nonnegative().max(1_000_000).default(10),
  'step-ms': z.number().int().nonnegative().max(3_600_000).default(100),
  ready: z.boolean().default(false),
  fail: z.string().max(1024).optional(),
  'fail-at': z.number().int().nonnegative().optional(),
  result: z.unknown().optional(),
});
export type TestJobParams = z.infer<typeof TestJobParams>;

export const testJob = defineJob('test', { params: TestJobParams, resumable: true }, async (job) => {
  const { steps, 'step-ms': stepMs, ready, fail, 'fail-at': failAt, result } = job.params;
  const failStep = fail === undefined ? Infinity : Math.min(failAt ?? steps, steps);
  const from = Math.min(job.resumed?.progress?.current ?? 0, steps);
  job.progress(from, steps);
  if (failStep === 0) throw new Error(fail);
  for (let step = from + 1; step <= steps; step++) {
    await job.throttle(1);
    await job.sleep(stepMs);
    if (step === failStep) throw new Error(fail);
    job.progress(step, steps);
  }
  if (ready) await job.ready();
  return result;
});
