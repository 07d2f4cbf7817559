/**
 * The work of a layer job (stream, commit): find both layer directories inside the data
 * directory, refuse layers that overlap, plan what moves (layer-plan.ts) and stage it
 * (layer-stage.ts). The moves themselves happen at commit.
 */
import { stat } from 'node:fs/promises';
import type { JobContext } from '../handler.js';
import { retrying } from './io-retry.js';
import { planLayer } from './layer-plan.js';
import type { LayerRule } from './layer-plan.js';
import { stage } from './layer-stage.js';
import { isInside, resolveExisting } from './paths.js';

/** Move layer `from` into layer `into` (names relative to the data directory) by `rule`. */
export async function runLayerJob(job: JobContext<unknown>, dataDir: string, from: string, into: string, rule: LayerRule): Promise<void> {
  const fromReal = await layerDir(job, dataDir, from);
  const intoReal = await layerDir(job, dataDir, into);
  if (isInside(fromReal, intoReal) || isInside(intoReal, fromReal)) {
    throw new Error(`Layers '${from}' and '${into}' overlap`);
  }
  const plan = await retrying(job, 'read', 'list', from, () => planLayer(job, fromReal, intoReal, rule));
  job.log.info(`${plan.files.length} files (${plan.bytes} bytes) to move from '${from}' into '${into}'`);
  await stage(job, dataDir, { from: { real: fromReal, name: from }, into: { real: intoReal, name: into } }, plan, rule);
}

async function layerDir(job: JobContext<unknown>, dataDir: string, name: string): Promise<string> {
  const real = await retrying(job, 'read', 'open', name, () => resolveExisting(dataDir, name));
  const stats = await retrying(job, 'read', 'stat', name, () => stat(real));
  if (!stats.isDirectory()) throw new Error(`Layer '${name}' is not a directory`);
  return real;
}
