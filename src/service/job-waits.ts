/**
 * job-wait: a job's final JobInfo once it concludes — also after it was dismissed, from the
 * memory of finished jobs — or an error if it is lost or the service stops.
 */
import { JobNotFoundError, WaitTimeoutError } from '../protocol/errors.js';
import { ownedKey } from '../protocol/owned-key.js';
import type { JobInfo, JobWaitArgs } from '../protocol/schemas.js';
import { FinishedJobs } from './finished.js';
import type { JobTable, LiveJob } from './job-table.js';

export class JobWaits {
  /** Final JobInfo of dismissed jobs, oldest first, for job-wait after an auto-dismiss. */
  readonly #finished: FinishedJobs;

  /** `remember`: how many dismissed jobs are remembered. */
  constructor(
    private readonly table: JobTable,
    remember: number,
  ) {
    this.#finished = new FinishedJobs(remember);
  }

  /** job-wait: the job's final JobInfo once it is concluded (also after an auto-dismiss). */
  async wait(caller: string, args: JobWaitArgs): Promise<JobInfo> {
    const owner = this.table.ownerFor(caller, args.owner);
    const entry = this.table.get(owner, args.id);
    if (!entry) {
      const finished = this.#finished.get(ownedKey(owner, args.id));
      if (finished) return finished;
      throw new JobNotFoundError();
    }
    if (entry.final) return entry.final();
    return new Promise<JobInfo>((resolve, reject) => {
      const timeout = args['timeout-ms'];
      const timer =
        timeout === undefined
          ? undefined
          : setTimeout(() => {
              entry.waiters?.delete(done);
              reject(new WaitTimeoutError(args.id));
            }, timeout);
      const done = (outcome: JobInfo | Error) => {
        clearTimeout(timer);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      (entry.waiters ??= new Set()).add(done);
    });
  }

  /** Answer the job's waiters: with its final JobInfo, or with an error (it is lost). */
  answer(entry: LiveJob, outcome: JobInfo | Error): void {
    if (!entry.waiters) return;
    for (const waiter of entry.waiters) waiter(outcome);
    entry.waiters = undefined;
  }

  /** Answer every pending job-wait with `err` (the service is going away). */
  rejectAll(err: Error): void {
    for (const entry of this.table.values()) this.answer(entry, err);
  }

  /** A job leaves the table: remember how it concluded, if it did. */
  remember(entry: LiveJob): void {
    if (entry.final) this.#finished.set(ownedKey(entry.owner, entry.id), entry.final);
  }
}
