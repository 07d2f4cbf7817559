/**
 * The built-in `create` job type: a new sparse file of `size` bytes at `target`, made aside
 * and put in place at finalize. An existing target is refused (the job fails with
 * `Target '<target>' already exists`), at the start and again in prepare, just before the
 * rename. Progress is in bytes: 0, then `size` once the file has its size (nothing is written).
 */
import { z } from 'zod';
import { defineJob } from '../handler.js';
import { asideHooks, openAside } from './aside.js';
import { retrying } from './io-retry.js';
import { DataPath } from './paths.js';

export const CreateParams = z.strictObject({
  target: DataPath,
  size: z.number().int().nonnegative(),
});
export type CreateParams = z.infer<typeof CreateParams>;

export function createJob(dataDir: string) {
  return defineJob(
    'create',
    {
      params: CreateParams,
      description: (p) => `create '${p.target}' (${p.size} bytes)`,
      hooks: asideHooks<CreateParams>(dataDir, (p) => p.target, { refuseExisting: true }),
    },
    async (job) => {
      const { target, size } = job.params;
      job.progress(0, size);
      const out = await openAside(job, dataDir, target, { refuseExisting: true });
      try {
        await retrying(job, 'write', 'resize', target, () => out.file.truncate(size));
      } finally {
        await out.file.close();
      }
      job.progress(size, size);
    },
  );
}
