/**
 * Where a service keeps its jobs in JetStream, by subject prefix: one KV bucket for the job
 * records and one stream for the events (beside the pipes' `<prefix>_pipes_<owner>` streams).
 * Dots of the prefix become `_` (names are one token).
 *
 * @example storeNames('jobs') // { bucket: 'jobs_store', stream: 'jobs_events' }
 */
export function storeNames(prefix: string): { bucket: string; stream: string } {
  const token = prefix.replace(/\./g, '_');
  return { bucket: `${token}_store`, stream: `${token}_events` };
}
