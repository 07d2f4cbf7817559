/**
 * Where a service keeps its jobs in JetStream, by subject prefix: one KV bucket for the job
 * records and one stream for the events. Dots of the prefix become `_` (names are one token).
 *
 * @example storeNames('jobs') // { bucket: 'jobstate_jobs', stream: 'jobstate_jobs_events' }
 */
export function storeNames(prefix: string): { bucket: string; stream: string } {
  const token = prefix.replace(/\./g, '_');
  return { bucket: `jobstate_${token}`, stream: `jobstate_${token}_events` };
}
