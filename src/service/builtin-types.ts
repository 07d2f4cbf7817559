/** The job types every service knows out of the box. */
import { resolve } from 'node:path';
import { backupJob } from '../runtime/builtin/backup-job.js';
import { commitJob } from '../runtime/builtin/commit-job.js';
import { createJob } from '../runtime/builtin/create-job.js';
import { mirrorJob } from '../runtime/builtin/mirror-job.js';
import { perOwner } from '../runtime/builtin/owner-dir.js';
import { streamJob } from '../runtime/builtin/stream-job.js';
import { testJob } from '../runtime/builtin/test-job.js';
import { JobTypes } from '../runtime/registry.js';

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
