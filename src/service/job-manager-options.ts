/** What a JobManager (jobs.ts) is made with. */
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import type { JobStore } from '../persist/job-store.js';
import type { PipeHub } from '../pipes/hub.js';
import type { Limits } from '../protocol/limits.js';
import type { JobRuntime } from '../runtime/runtime.js';
import type { PublishedEvent } from './events.js';

export interface JobManagerOptions {
  runtime: JobRuntime;
  /** Callers who may see and act on every owner's jobs. */
  admins: ReadonlySet<string>;
  /** Called for every event of every job, in order, before any reply that follows from it. */
  publish: (event: PublishedEvent) => void;
  /** A job's progress is about to be shown in a reply: its progress event, if held back, goes out first. */
  shown?: (owner: string, id: string) => void;
  logger: Logger;
  /** How many dismissed jobs job-wait still remembers. @defaultValue 10000 */
  rememberFinished?: number;
  /** Limits on job starts (description, params, live jobs per owner). @defaultValue DEFAULT_LIMITS */
  limits?: Partial<Limits>;
  /** Input and output pipes (JetStream); without them, job-start refuses `pipes`. */
  pipes?: PipeHub;
  /** Where jobs are kept across restarts; none: in memory only. */
  store?: JobStore;
  /** How long a command's reply waits for what it reports to be saved, ms. @defaultValue 5000 */
  saveTimeoutMs?: number;
  /** The partitions served here: jobs start only in those. @defaultValue every partition */
  ownership?: Ownership;
}
