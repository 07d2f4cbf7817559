/** The job types every service knows out of the box. */
import { testJob } from '../runtime/builtin/test-job.js';
import { JobTypes } from '../runtime/registry.js';

export function builtinTypes(): JobTypes {
  return new JobTypes().register(testJob);
}
