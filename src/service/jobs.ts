/**
 * The live jobs of one service, as the endpoints and the service see them: one facade over
 * the rooms that do the work — the job table (by owner and id), start checks, the launcher,
 * verbs, waits, queries, retention, and (with a store) saving and restoring.
 */
import { transactionMachine } from '../../machines/index.js';
import type { JobVerb } from '../../machines/index.js';
import { ownsEverything } from '../cluster/ownership.js';
import type { Ownership } from '../cluster/ownership.js';
import { DEFAULT_PARTITIONS } from '../cluster/partition.js';
import { PartitionMovingError, ProtocolError } from '../protocol/errors.js';
import { resolveLimits } from '../protocol/limits.js';
import type { JobCancelArgs, JobInfo, JobRef, JobSetSpeedArgs, JobStartArgs, JobWaitArgs, QueryJobsArgs, TransactionArgs } from '../protocol/schemas.js';
import { JobStartArgs as JobStartSchema } from '../protocol/schemas.js';
import { validate } from '../protocol/validate.js';
import type { ToldProgress } from '../persist/event-stream.js';
import { JobSaving } from '../persist/job-saving.js';
import type { Retention } from '../persist/settings.js';
import type { JobTypeInfo } from '../runtime/registry.js';
import type { JobsApi } from '../runtime/run.js';
import type { JobRuntime } from '../runtime/runtime.js';
import { createActorParent } from './actor-parent.js';
import type { ActorParent } from './actor-parent.js';
import { generateId } from './ids.js';
import { jobInfo } from './job-info.js';
import { countJobs, queryJobs } from './job-query.js';
import { parseKey } from '../persist/records.js';
import type { Rejected, StoredRecord } from '../persist/records.js';
import { JobTable } from './job-table.js';
import type { LiveJob } from './job-table.js';
import { JobWaits } from './job-waits.js';
import { JobLauncher } from './launcher.js';
import type { Listing } from './query.js';
import { sweepConcluded } from './retention.js';
import { StartChecks } from './start-requests.js';
import { JobVerbs } from './verbs.js';
import type { VerbDone } from './verbs.js';
import type { JobManagerOptions } from './job-manager-options.js';

export type { JobManagerOptions } from './job-manager-options.js';
export { VERB_DONE } from './verbs.js';
export type { VerbDone } from './verbs.js';

export class JobManager implements JobsApi {
  readonly ownership: Ownership;
  readonly #opts: JobManagerOptions;
  readonly #runtime: JobRuntime;
  readonly #table: JobTable;
  readonly #checks: StartChecks;
  readonly #launcher: JobLauncher;
  readonly #verbs: JobVerbs;
  readonly #waits: JobWaits;
  /** The parent of the jobs started alone: they share its actor system. */
  readonly #parent: ActorParent = createActorParent();
  /** Jobs brought back by {@link restore} whose work {@link resumeRestored} has not given back yet. */
  #restored: LiveJob[] = [];

  constructor(opts: JobManagerOptions) {
    this.#opts = opts;
    this.ownership = opts.ownership ?? ownsEverything(DEFAULT_PARTITIONS);
    const runtime = (this.#runtime = opts.runtime);
    const table = (this.#table = new JobTable(opts.admins));
    this.#checks = new StartChecks(runtime, table, resolveLimits(opts.limits), opts.pipes);
    this.#waits = new JobWaits(table, opts.rememberFinished ?? 10_000);
    this.#verbs = new JobVerbs(table, opts.logger, opts.store, opts.saveTimeoutMs ?? 5000);
    const jobLogic = runtime.jobMachine();
    this.#launcher = new JobLauncher({
      runtime,
      table,
      waits: this.#waits,
      jobLogic,
      txnLogic: transactionMachine.provide({ actors: { job: jobLogic } }),
      parent: this.#parent,
      jobsApi: this,
      publish: opts.publish,
      logger: opts.logger,
      pipes: opts.pipes,
      saving: opts.store && new JobSaving(opts.store, (owner, id) => runtime.saveRun(owner, id), opts.publish),
    });
  }

  /**
   * job-start: the job exists and runs when this returns; its created and running events are
   * out. A type with `lockQueueSize` answers with the caller's last queued job once the
   * caller already has that many waiting for the same lock.
   */
  startJob(caller: string, args: JobStartArgs): { id: string } {
    const req = this.#checks.check(caller, args, new Set(), undefined, false);
    this.#mustServe(req.input.owner);
    // A start answered with an already queued job adds no job, so the limit does not apply.
    // A start with pipes carries its own data: it is never answered with another job.
    const queued = args.pipes ? undefined : this.#checks.queuedInstead(req.input);
    if (queued !== undefined) return { id: queued };
    this.#checks.room(caller, 0);
    this.#launcher.alone(req);
    return { id: req.input.id };
  }

  /**
   * Resolves once the state of `owner`'s jobs `ids` (and of their transactions) is saved, so
   * that a reply reports only what survives a restart. Without a store, at once.
   */
  saved(owner: string, ids: readonly string[]): Promise<void> {
    return this.#verbs.saved(owner, ids);
  }

  /** For handlers (wrap): start a job owned by `owner`. */
  start(owner: string, type: string, params: Record<string, unknown>): string {
    return this.startJob(owner, { type, params }).id;
  }

  /** For handlers (wrap): the job's final JobInfo. */
  wait(owner: string, id: string): Promise<JobInfo> {
    return this.waitJob(owner, { id });
  }

  /** For handlers (wrap): force-cancel a job if it can be. */
  cancel(owner: string, id: string): void {
    this.#table.get(owner, id)?.job.send({ type: 'cancel', force: true });
  }

  /** For handlers (wrap): follow a job's progress. */
  onProgress(owner: string, id: string, listener: (current: number, total: number) => void): () => void {
    const entry = this.#table.get(owner, id);
    if (entry) (entry.progress ??= new Set()).add(listener);
    return () => entry?.progress?.delete(listener);
  }

  /** query-job-types: the types this deployment runs, in-process and on live workers. */
  jobTypes(): JobTypeInfo[] {
    return this.#runtime.types.describe();
  }

  /** job-log: the job's own log, as kept in memory (the file under the log directory has it all). */
  log(caller: string, args: JobRef): { lines: string[]; count: number } {
    const entry = this.#table.find(caller, args.id, args.owner);
    const run = this.#runtime.run(entry.owner, entry.id);
    return { lines: run?.log.lines() ?? [], count: run?.log.count ?? 0 };
  }

  /** transaction: every action is checked before any starts; grouped members share one transaction. */
  transaction(caller: string, args: TransactionArgs): { jobs: string[] } {
    this.#mustServe(caller);
    const grouped = args.properties?.['completion-mode'] === 'grouped';
    const txn = grouped ? generateId('txn') : undefined;
    const ids = new Set<string>();
    const reqs = args.actions.map((action, i) => {
      const where = `actions[${i}]`;
      try {
        const parsed = validate(JobStartSchema, action, where);
        const req = this.#checks.check(caller, parsed, ids, where);
        ids.add(req.input.id);
        return txn ? { ...req, input: { ...req.input, txn } } : req;
      } catch (err) {
        // Name the offending action, keeping the error's code.
        if (!(err instanceof ProtocolError) || err.message.includes(where)) throw err;
        throw new ProtocolError(`${where}: ${err.message}`, err.code);
      }
    });
    if (txn) this.#launcher.grouped(txn, reqs);
    else for (const req of reqs) this.#launcher.alone(req);
    return { jobs: reqs.map((req) => req.input.id) };
  }

  /**
   * Apply a verb: once the transition it causes has happened and its events are out, and
   * (with a store) once what it changed is saved — synchronously when there is nothing to wait
   * for. A refused verb throws.
   */
  verb(caller: string, verb: JobVerb, args: JobRef | JobCancelArgs | JobSetSpeedArgs): VerbDone | Promise<VerbDone> {
    return this.#verbs.apply(caller, verb, args);
  }

  /** query-jobs: the jobs the caller may see that match the filters, in the order asked. */
  query(caller: string, args: QueryJobsArgs): Listing {
    return queryJobs(this.#table, caller, args, (entry) => this.#info(entry));
  }

  /** How many jobs there are of each status and type (the metrics' jobs gauge). */
  counts(): Array<{ status: string; type: string; count: number }> {
    return countJobs(this.#table);
  }

  /** job-wait: the job's final JobInfo once concluded (also after an auto-dismiss), after its events (they wait for the save). */
  async waitJob(caller: string, args: JobWaitArgs): Promise<JobInfo> {
    const info = await this.#waits.wait(caller, args);
    await this.saved(args.owner ?? caller, [args.id]).catch(() => undefined);
    return info;
  }

  /**
   * Bring back the jobs the store kept (at start, before any command): each in its status,
   * with its id; what happens to them from here is published as usual. Their work is given
   * back afterwards, by {@link resumeRestored}. Returns how many jobs came back, and the
   * records that could not be restored, to be set aside (each logged with its key and why).
   */
  restore(entries: Iterable<StoredRecord>, told: ReadonlyMap<string, ToldProgress> = new Map()): { restored: number; rejected: Rejected[] } {
    const { restored, kept, rejected } = this.#launcher.restore(entries, told);
    // Not push(...kept): a store may bring back 100,000 jobs, too many arguments for one call.
    this.#restored = this.#restored.length === 0 ? kept : this.#restored.concat(kept);
    return { restored, rejected };
  }

  /**
   * Give the restored jobs the work their status needs now (see JobRuntime.restoreWork), a
   * thousand per turn of the event loop, so that the service answers commands meanwhile. A job
   * a command reached first goes on from where that left it.
   */
  async resumeRestored(): Promise<void> {
    const restored = this.#restored;
    this.#restored = [];
    for (let i = 0; i < restored.length; i++) {
      const entry = restored[i]!;
      if (this.#table.get(entry.owner, entry.id) === entry) this.#runtime.resume(entry.job);
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Retention: dismiss the concluded jobs kept too long, or beyond how many are kept. */
  sweep(retention: Retention, now = Date.now()): number {
    return sweepConcluded(this.#table, retention, this.#opts.logger, now);
  }

  /** How many jobs are live (not yet dismissed). */
  get size(): number {
    return this.#table.size;
  }

  /** Answer every pending job-wait with `err` (the service is going away). */
  rejectWaiters(err: Error): void {
    this.#waits.rejectAll(err);
  }

  /**
   * Stop every job actor and its work (the service is going away). With a store the jobs come
   * back at the next start, so work on remote workers is left running there, to be re-attached.
   */
  stopAll(): void {
    this.#launcher.stop(this.#table.values(), this.#opts.store !== undefined);
    this.#table.clear();
  }

  /**
   * Drop the jobs of `partitions` at once, writing nothing (another instance serves them now,
   * from what was saved): their pending job-waits, and the commands waiting for a change of
   * theirs never sent to the store (removals too), are answered 503. How many were dropped.
   */
  dropPartitions(partitions: readonly number[]): number {
    const entries = this.#ofPartitions(partitions);
    for (const p of partitions) this.#launcher.drop(entries.filter((e) => this.ownership.partitionOf(e.owner) === p), new PartitionMovingError(p));
    this.#launcher.dropUnsaved((key) => partitions.includes(this.#partitionOfKey(key)), (key) => new PartitionMovingError(this.#partitionOfKey(key)));
    return entries.length;
  }

  /** Resolves once every change of `partitions` so far is saved, removals too (a graceful handover follows), `timeoutMs` at most. */
  async flushPartitions(partitions: readonly number[], timeoutMs: number): Promise<void> {
    const store = this.#opts.store;
    await store?.saved(store.unsaved((key) => partitions.includes(this.#partitionOfKey(key))), timeoutMs).catch(() => undefined);
  }

  /** The partition of a job or transaction key (-1: none). */
  #partitionOfKey(key: string): number {
    const owner = parseKey(key)?.owner;
    return owner === undefined ? -1 : this.ownership.partitionOf(owner);
  }

  #ofPartitions(partitions: readonly number[]): LiveJob[] {
    return this.#table.ofOwners((owner) => partitions.includes(this.ownership.partitionOf(owner)));
  }

  /** A job of `owner` may start here only while its partition is served here (else the caller is told to retry). */
  #mustServe(owner: string): void {
    const p = this.ownership.partitionOf(owner);
    if (!this.ownership.serves(p)) throw new PartitionMovingError(p);
  }

  /** A job's JobInfo: its statechart's, plus its params (secrets masked) and log excerpt. */
  #info(entry: LiveJob): JobInfo {
    this.#opts.shown?.(entry.owner, entry.id);
    return { ...jobInfo(entry.job.getSnapshot()), ...this.#runtime.info(entry.owner, entry.id) };
  }
}
