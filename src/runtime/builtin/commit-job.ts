/**
 * The built-in `commit` job type: merges the files of layer `top` into layer `base`
 * (overwriting) and empties `top` (QEMU's block-commit, on directories). Copies are staged
 * during the work (progress and speed in bytes); at finalize they are renamed over `base`'s
 * and `top`'s merged entries are removed. `top` is assumed not to change during the job.
 */
import { z } from 'zod';
import { defineJob } from '../handler.js';
import { runLayerJob } from './layer-job.js';
import { layerHooks } from './layer-stage.js';
import { DataPath } from './paths.js';

export const CommitParams = z.strictObject({ base: DataPath, top: DataPath });
export type CommitParams = z.infer<typeof CommitParams>;

export function commitJob(dataDir: string) {
  return defineJob(
    'commit',
    {
      params: CommitParams,
      description: (p) => `commit of '${p.top}' into '${p.base}'`,
      hooks: layerHooks<CommitParams>(),
    },
    (job) => runLayerJob(job, dataDir, job.params.top, job.params.base, 'overwrite'),
  );
}
