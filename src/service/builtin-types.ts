/** The job types every service knows out of the box. */
import { resolve } from 'node:path';
import { backupJob } from '../runtime/builtin/backup-job.js';
import { commitJob } from '../runtime/builtin/commit-job.js';
import { createJob } from '../runtime/builtin/create-job.js';
import { mirrorJob } from '../runtime/builtin/mirror-job.js';
import { streamJob } from '../runtime/builtin/stream-job.js';
import { testJob } from '../runtime/builtin/test-job.js';
import { JobTypes } from '../runtime/registry.js';

/** The built-in types; the file jobs read and write below `dataDir` (JOBS_DATA_DIR), which must exist. */
export function builtinTypes(dataDir: string): JobTypes {
  const dir = resolve(dataDir);
  return new JobTypes()
    .register(testJob)
    .register(backupJob(dir))
    .register(mirrorJob(dir))
    .register(createJob(dir))
    .register(streamJob(dir))
    .register(commitJob(dir));
}
