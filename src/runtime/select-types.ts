/**
 * A subset of a registry's job types, as a setting names it (`JOBS_LOCAL_TYPES`,
 * `JOBS_WORKER_TYPES`): `all`, or a list of names (empty for `none`).
 */
import { JobTypes } from './registry.js';

/** The types of `all` that `names` picks; throws `Invalid setting <setting>: …` for a name it lacks. */
export function selectTypes(all: JobTypes, names: 'all' | readonly string[], setting: string): JobTypes {
  if (names === 'all') return all;
  const out = new JobTypes();
  for (const name of names) {
    const type = all.get(name);
    if (!type) throw new Error(`Invalid setting ${setting}: unknown job type '${name}' (known: ${all.names().join(', ')})`);
    out.register(type);
  }
  return out;
}
