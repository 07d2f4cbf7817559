/**
 * The live jobs of one service, by owner and id: what the commands find a job by, how many
 * live jobs each owner has (for the limit), and the order jobs were created in.
 */
import type { Logger } from 'pino';
import type { JobActorRef, JobEmitted, JobStatus, TransactionActorRef } from '../../machines/index.js';
import { JobNotFoundError } from '../protocol/errors.js';
import { ownedKey } from '../protocol/owned-key.js';
import type { JobInfo } from '../protocol/schemas.js';

export type Refusal = Extract<JobEmitted, { type: 'verb.refused' }>;

/** A live job as the service keeps it. Small: the service may hold 100,000 of them. */
export interface LiveJob {
  readonly id: string;
  readonly owner: string;
  readonly seq: number;
  /** Its type, and its status as of its last JOB_STATUS_CHANGE: what query-jobs filters on without reading the snapshot. */
  readonly type: string;
  status: JobStatus;
  /** Its key in the job store. */
  readonly storeKey: string;
  readonly job: JobActorRef;
  /** The grouped transaction the job is a member of; none for a job alone. */
  readonly txn?: TransactionActorRef;
  /** The refusal of the verb being applied, if any. */
  refusal?: Refusal;
  /** The JobInfo at conclusion (built on first use), once concluded. */
  final?: () => JobInfo;
  /** Pending job-waits (made at the first): called with the final JobInfo, or with an error if the service stops. */
  waiters?: Set<(outcome: JobInfo | Error) => void>;
  /** Followers of the job's progress, jobs that wrap it (made at the first). */
  progress?: Set<(current: number, total: number) => void>;
}

export class JobTable {
  readonly #jobs = new Map<string, LiveJob>();
  /** Live jobs per owner: the limit counts them; a partition's jobs are found by their owners. */
  readonly #owners = new Map<string, Set<LiveJob>>();
  #seq = 0;

  /** `admins`: callers who may see and act on every owner's jobs. */
  constructor(readonly admins: ReadonlySet<string>) {}

  get(owner: string, id: string): LiveJob | undefined {
    return this.#jobs.get(ownedKey(owner, id));
  }

  add(job: LiveJob): void {
    const k = ownedKey(job.owner, job.id);
    const replaced = this.#jobs.get(k);
    if (replaced) this.#owners.get(job.owner)?.delete(replaced);
    this.#jobs.set(k, job);
    let mine = this.#owners.get(job.owner);
    if (!mine) this.#owners.set(job.owner, (mine = new Set()));
    mine.add(job);
  }

  /** Drop `job` if it is the one kept under its id; whether it was. */
  delete(job: LiveJob): boolean {
    const k = ownedKey(job.owner, job.id);
    if (this.#jobs.get(k) !== job) return false;
    this.#jobs.delete(k);
    const mine = this.#owners.get(job.owner);
    mine?.delete(job);
    if (mine?.size === 0) this.#owners.delete(job.owner);
    return true;
  }

  values(): IterableIterator<LiveJob> {
    return this.#jobs.values();
  }

  get size(): number {
    return this.#jobs.size;
  }

  /** How many live jobs `owner` has. */
  live(owner: string): number {
    return this.#owners.get(owner)?.size ?? 0;
  }

  /** The live jobs of the owners `which` picks (a partition's owners). */
  ofOwners(which: (owner: string) => boolean): LiveJob[] {
    const out: LiveJob[] = [];
    for (const [owner, jobs] of this.#owners) if (which(owner)) out.push(...jobs);
    return out;
  }

  clear(): void {
    this.#jobs.clear();
    this.#owners.clear();
  }

  /** The creation number of the next job (or transaction). */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** Jobs brought back from the store were created up to `seq`: later ones come after. */
  seqAtLeast(seq: number): void {
    this.#seq = Math.max(this.#seq, seq);
  }

  /** The owner whose job a caller addresses: non-admins only ever address their own. */
  ownerFor(caller: string, owner: string | undefined): string {
    if (owner === undefined || owner === caller) return caller;
    if (this.admins.has(caller)) return owner;
    throw new JobNotFoundError();
  }

  /** The job `caller` addresses, or `Job not found`. */
  find(caller: string, id: string, owner?: string): LiveJob {
    const job = this.get(this.ownerFor(caller, owner), id);
    if (!job) throw new JobNotFoundError();
    return job;
  }
}

/** A log line about a job: its id and owner are on it (no child logger per job: there may be 100,000). */
export function logJob(logger: Logger, job: LiveJob, level: 'debug' | 'info', fields: Record<string, unknown>, message: string): void {
  if (logger.isLevelEnabled(level)) logger[level]({ job: job.id, owner: job.owner, ...fields }, message);
}
