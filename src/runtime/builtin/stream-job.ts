/**
 * The built-in `stream` job type: layers are directories; copies into `top` every file of
 * `base` that `top` lacks, so that `top` stands alone (QEMU's block-stream, on files).
 * The copies are staged during the work (progress and speed in bytes) and renamed into
 * `top` at finalize; what `top` gained meanwhile is kept as it is.
 */
import { z } from 'zod';
import { defineJob } from '../handler.js';
import { runLayerJob } from './layer-job.js';
import { layerHooks } from './layer-stage.js';
import { DataPath } from './paths.js';

export const StreamParams = z.strictObject({ base: DataPath, top: DataPath });
export type StreamParams = z.infer<typeof StreamParams>;

export function streamJob(dataDir: string) {
  return defineJob(
    'stream',
    {
      params: StreamParams,
      description: (p) => `stream of '${p.base}' into '${p.top}'`,
      hooks: layerHooks<StreamParams>(),
    },
    (job) => runLayerJob(job, dataDir, job.params.base, job.params.top, 'fill'),
  );
}
