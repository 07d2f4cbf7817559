/** The job types as a worker holds them: listed, each handler taking a slot, announced in heartbeats. */
import type { JobType } from '../runtime/handler.js';
import { JobTypes } from '../runtime/registry.js';
import { HOOK_NAMES } from '../protocol/worker.js';
import type { Heartbeat } from '../protocol/worker.js';
import type { Slots } from './slots.js';

/** A list of job types, each with its own params type. */
export type JobTypeList<Ps extends readonly unknown[]> = { readonly [K in keyof Ps]: JobType<Ps[K]> };

/** A registry of the listed types. */
export function listed(types: readonly JobType<unknown>[]): JobTypes {
  const registry = new JobTypes();
  for (const type of types) registry.register(type);
  return registry;
}

/** The same types, each handler first taking one of the worker's slots (cancel leaves the queue). */
export function withSlots(types: JobTypes, slots: Slots): JobTypes {
  const out = new JobTypes();
  for (const name of types.names()) {
    const type = types.get(name)!;
    out.register({
      ...type,
      handler: async (job) => {
        const release = await slots.acquire(job.signal);
        try {
          await job.pausePoint();
          return await type.handler(job);
        } finally {
          release();
        }
      },
    });
  }
  return out;
}

/** What a heartbeat announces of each type: its secrets, its finalize hooks and its params' JSON Schema (from `schemas`). */
export function announcedTypes(types: JobTypes, schemas: ReadonlyMap<string, Record<string, unknown>>): Heartbeat['types'] {
  return types.names().map((name) => {
    const type = types.get(name)!;
    const hooks = HOOK_NAMES.filter((hook) => type.hooks?.[hook] !== undefined);
    return { type: name, secrets: [...(type.secrets ?? [])], hooks, params: schemas.get(name) };
  });
}
