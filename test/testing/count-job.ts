/** The `count` job type of docs/jobs.md ("A first job type"), as written there: the custom type of the model-testing examples. */
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';

export const countJob = defineJob(
  'count',
  {
    params: z.strictObject({ to: z.number().int().min(1).default(10) }),
    description: (p) => `Count to ${p.to}`,
  },
  async (job) => {
    job.progress(0, job.params.to);
    for (let n = 1; n <= job.params.to; n++) {
      await job.throttle(1); // speed = numbers per second; also a pause point
      await job.sleep(100); // cut short by a cancel
      job.progress(n, job.params.to);
    }
    return { counted: job.params.to }; // the job's `result`
  },
);
