/** The job types every service knows out of the box. */
import { resolve } from 'node:path';
import { backupJob } from './backup-job.js';
import { commitJob } from './commit-job.js';
import { createJob } from './create-job.js';
import { mirrorJob } from './mirror-job.js';
import { perOwner } from './owner-dir.js';
import { streamJob } from './stream-job.js';
import { testJob } from './test-job.js';
import { JobTypes } from '../registry.js';

/**
 * The built-in types; the file jobs read and write below `dataDir` (JOBS_DATA_DIR), which
 * must exist, each job only in its owner's folder `<dataDir>/<owner>/` (docs/security.md).
 */
export function builtinTypes(dataDir: string): JobTypes {
  const dir = resolve(dataDir);
  return new JobTypes()
    .register(testJob)
    .register(perOwner(dir, backupJob))
    .register(perOwner(dir, mirrorJob))
    .register(perOwner(dir, createJob))
    .register(perOwner(dir, streamJob))
    .register(perOwner(dir, commitJob));
}
