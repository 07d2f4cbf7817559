/**
 * The live jobs of one service: creates each job's actor (a job started alone is a
 * transaction of one by itself; the members of a grouped transaction are spawned by its
 * transaction actor), keeps every job by owner and id, applies verbs and reports refusals,
 * answers queries and waits. Everything the wire needs comes from the machines' emitted
 * events; nothing is re-derived here.
 */
import { createActor, waitFor } from 'xstate';
import type { Logger } from 'pino';
import { JobStatus, JobVerb, RefusalReason, statusOf, transactionMachine } from '../../machines/index.js';
import type {
  JobActorRef,
  JobEmitted,
  JobInput,
  JobSnapshot,
  TransactionActorRef,
  VerbEvent,
} from '../../machines/index.js';
import {
  BadInputError,
  ErrorCode,
  JobIdInUseError,
  JobNotFoundError,
  ProtocolError,
  VerbRefusedError,
  WaitTimeoutError,
} from '../protocol/errors.js';
import type {
  JobCancelArgs,
  JobInfo,
  JobRef,
  JobSetSpeedArgs,
  JobStartArgs,
  JobWaitArgs,
  QueryJobsArgs,
  TransactionArgs,
} from '../protocol/schemas.js';
import { JobStartArgs as JobStartSchema, QueryOrder } from '../protocol/schemas.js';
import { validate } from '../protocol/validate.js';
import type { JobTypeInfo } from '../runtime/registry.js';
import { runInfo } from '../runtime/runtime.js';
import type { JobRuntime, JobsApi } from '../runtime/runtime.js';
import type { JobStore } from '../persist/job-store.js';
import type { Retention } from '../persist/settings.js';
import type { SavedRun } from '../persist/records.js';
import { createActorHub, stopJobs } from './actor-hub.js';
import type { ActorHub } from './actor-hub.js';
import { FinishedJobs } from './finished.js';
import { RECORD_VERSION, jobKey, raiseProgress, sortRecords, txnKey } from '../persist/records.js';
import type { ToldProgress } from '../persist/event-stream.js';
import type { JobRecord, PersistedSnapshot, Rejected, StoredRecord, TxnRecord } from '../persist/records.js';
import { generateId } from './ids.js';
import type { PipeHub } from '../pipes/hub.js';
import { planPipes } from '../pipes/plan.js';
import type { PipePlan } from '../pipes/plan.js';
import { jobInfo } from './job-info.js';
import type { Listing } from './query.js';
import { UnsavableJobError, unsavedReply } from './unsaved.js';
import { OwnerCounts, checkRoom, checkStart, resolveLimits } from './limits.js';
import type { Limits } from './limits.js';

/** What a job announces, without refusals: the events the wire publishes. */
export type JobEvent = Exclude<JobEmitted, { type: 'verb.refused' }>;
type Refusal = Extract<JobEmitted, { type: 'verb.refused' }>;

export interface JobManagerOptions {
  runtime: JobRuntime;
  /** Callers who may see and act on every owner's jobs. */
  admins: ReadonlySet<string>;
  /** Called for every event of every job, in order, before any reply that follows from it. */
  publish: (event: JobEvent) => void;
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
}


/** A live job as the manager keeps it. Small: the service may hold 100,000 of them. */
interface Entry {
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

const key = (owner: string, id: string) => `${owner}\u0000${id}`;

/** For observers whose actor's error another observer answers (XState rethrows an error an observer has no handler for). */
const IGNORED = () => undefined;

/** What an applied verb returns (its `return` on the wire): always this one empty object. */
export type VerbDone = Record<string, never>;
export const VERB_DONE: VerbDone = Object.freeze({}) as VerbDone;

export class JobManager implements JobsApi {
  readonly #opts: JobManagerOptions;
  readonly #runtime: JobRuntime;
  readonly #jobLogic;
  readonly #txnLogic;
  /** The parent of the jobs started alone: they share its actor system. */
  readonly #hub: ActorHub = createActorHub();
  readonly #jobs = new Map<string, Entry>();
  /** Final JobInfo of dismissed jobs, oldest first, for job-wait after an auto-dismiss. */
  readonly #finished: FinishedJobs;
  readonly #limits: Limits;
  /** Live jobs per owner, for the limit. */
  readonly #owners = new OwnerCounts();
  /** Jobs brought back by {@link restore} whose work {@link resumeRestored} has not given back yet. */
  #restored: Entry[] = [];
  /** The pipes of each job being started, from #prepare to #launch. */
  readonly #pipePlans = new WeakMap<JobInput, PipePlan>();
  #seq = 0;

  constructor(opts: JobManagerOptions) {
    this.#opts = opts;
    this.#runtime = opts.runtime;
    this.#limits = resolveLimits(opts.limits);
    this.#finished = new FinishedJobs(opts.rememberFinished ?? 10_000);
    this.#jobLogic = opts.runtime.jobMachine();
    this.#txnLogic = transactionMachine.provide({ actors: { job: this.#jobLogic } });
    opts.runtime.jobs = this;
  }

  /**
   * job-start: the job exists and runs when this returns; its created and running events are
   * out. A type with `lockQueueSize` answers with the caller's last queued job once the
   * caller already has that many waiting for the same lock.
   */
  startJob(caller: string, args: JobStartArgs): { id: string } {
    const input = this.#prepare(caller, args, new Set(), undefined, false);
    // A start answered with an already queued job adds no job, so the limit does not apply.
    // A start with pipes carries its own data: it is never answered with another job.
    const queued = args.pipes ? undefined : this.#queuedInstead(input);
    if (queued !== undefined) return { id: queued };
    checkRoom(this.#limits, this.#owners, caller, 0);
    this.#launchAlone(input);
    return { id: input.id };
  }

  /**
   * Resolves once the state of `owner`'s jobs `ids` (and of their transactions) is saved, so
   * that a reply reports only what survives a restart. Without a store, at once.
   */
  async saved(owner: string, ids: readonly string[]): Promise<void> {
    if (!this.#opts.store || ids.length === 0) return;
    await this.#savedKeys(ids[0]!, new Set(ids.flatMap((id) => this.#storeKeys(owner, id))), undefined);
  }

  /** The store keys of a job's state: its own and, while the job is kept, its grouped transaction's. */
  #storeKeys(owner: string, id: string): string[] {
    const txn = this.#jobs.get(key(owner, id))?.job.getSnapshot().context.job.txn;
    return txn === undefined ? [jobKey(owner, id)] : [jobKey(owner, id), txnKey(owner, txn)];
  }

  /**
   * Resolves to `value` once the store keys `keys` of job `id` are saved (see {@link saved});
   * rejects with a 503 saying that the change is not saved (yet), never an internal error.
   */
  #savedKeys<T>(id: string, keys: Iterable<string>, value: T): Promise<T> {
    const timeoutMs = this.#opts.saveTimeoutMs ?? 5000;
    return this.#opts.store!.saved(keys, timeoutMs).then(
      () => value,
      (err: unknown) => {
        throw unsavedReply(id, err);
      },
    );
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
    this.#jobs.get(key(owner, id))?.job.send({ type: 'cancel', force: true });
  }

  /** For handlers (wrap): follow a job's progress. */
  onProgress(owner: string, id: string, listener: (current: number, total: number) => void): () => void {
    const entry = this.#jobs.get(key(owner, id));
    if (entry) (entry.progress ??= new Set()).add(listener);
    return () => entry?.progress?.delete(listener);
  }

  /** query-job-types: the types this deployment runs, in-process and on live workers. */
  jobTypes(): JobTypeInfo[] {
    return this.#runtime.types.describe();
  }

  /** job-log: the job's own log, as kept in memory (the file under the log directory has it all). */
  log(caller: string, args: JobRef): { lines: string[]; count: number } {
    const entry = this.#find(caller, args.id, args.owner);
    const run = this.#runtime.run(entry.owner, entry.id);
    return { lines: run?.log.lines() ?? [], count: run?.log.count ?? 0 };
  }

  /** transaction: every action is checked before any starts; grouped members share one transaction. */
  transaction(caller: string, args: TransactionArgs): { jobs: string[] } {
    const grouped = args.properties?.['completion-mode'] === 'grouped';
    const txn = grouped ? generateId('txn') : undefined;
    const ids = new Set<string>();
    const inputs = args.actions.map((action, i) => {
      const where = `actions[${i}]`;
      try {
        const parsed = validate(JobStartSchema, action, where);
        const input = this.#prepare(caller, parsed, ids, where);
        ids.add(input.id);
        return txn ? { ...input, txn } : input;
      } catch (err) {
        // Name the offending action, keeping the error's code.
        if (!(err instanceof ProtocolError) || err.message.includes(where)) throw err;
        throw new ProtocolError(`${where}: ${err.message}`, err.code);
      }
    });
    if (txn) this.#launchGrouped(txn, inputs);
    else for (const input of inputs) this.#launchAlone(input);
    return { jobs: inputs.map((input) => input.id) };
  }

  /**
   * Apply a verb: once the transition it causes has happened and its events are out, and
   * (with a store) once what it changed is saved — synchronously when there is nothing to wait
   * for. A refused verb throws.
   */
  verb(caller: string, verb: JobVerb, args: JobRef | JobCancelArgs | JobSetSpeedArgs): VerbDone | Promise<VerbDone> {
    const entry = this.#find(caller, args.id, args.owner);
    const store = this.#opts.store;
    if (store && this.#storeKeys(entry.owner, entry.id).some((k) => store.conflict(k))) throw new UnsavableJobError(entry.id);
    const event = verbEvent(verb, args);
    entry.refusal = undefined;
    entry.job.send(event);
    const refusal = entry.refusal as Refusal | undefined;
    entry.refusal = undefined;
    if (refusal) {
      this.#log(entry, 'debug', { verb, reason: refusal.reason }, 'verb refused');
      throw refusal.reason === RefusalReason.negativeSpeed
        ? new BadInputError(refusal.message)
        : new VerbRefusedError(refusal.message);
    }
    this.#log(entry, 'debug', { verb }, 'verb applied');
    if (verb === JobVerb.finalize) return this.#finalized(entry);
    if (!store) return VERB_DONE;
    return this.#savedKeys(entry.id, this.#storeKeys(entry.owner, entry.id), VERB_DONE);
  }

  /** After a finalize: once the job (or its transaction) has moved on, and is saved. */
  async #finalized(entry: Entry): Promise<VerbDone> {
    if (entry.txn) await waitFor(entry.txn, (s) => s.matches('committed') || s.matches('aborted') || s.status === 'done');
    else await waitFor(entry.job, (s) => statusOf(s) !== JobStatus.pending);
    await this.saved(entry.owner, [entry.id]);
    return VERB_DONE;
  }

  /**
   * query-jobs: the jobs the caller may see that match the filters, in the order asked
   * (newest first by default). Filtering reads only the entries (their type and last status,
   * not their snapshots: 100,000 of those are slow to reach); JobInfo is made only for the
   * jobs a reply reads.
   */
  query(caller: string, args: QueryJobsArgs): Listing {
    const admin = this.#opts.admins.has(caller);
    const owner = admin ? args.owner : caller;
    if (!admin && args.owner !== undefined && args.owner !== caller) return { count: 0, at: () => undefined };
    const matched: Entry[] = [];
    for (const entry of this.#jobs.values()) {
      if (owner !== undefined && entry.owner !== owner) continue;
      if (args.status !== undefined && entry.status !== args.status) continue;
      if (args.type !== undefined && entry.type !== args.type) continue;
      matched.push(entry);
    }
    const oldest = args['order-by'] === QueryOrder.oldest;
    const count = matched.length;
    return {
      count,
      at: (i) => {
        const entry = i < 0 || i >= count ? undefined : matched[oldest ? i : count - 1 - i];
        return entry && this.#info(entry);
      },
    };
  }

  /** How many jobs there are of each status and type (the metrics' jobs gauge). */
  counts(): Array<{ status: string; type: string; count: number }> {
    const counts = new Map<string, { status: string; type: string; count: number }>();
    for (const entry of this.#jobs.values()) {
      const { status, type } = jobInfo(entry.job.getSnapshot());
      const k = `${status}\u0000${type}`;
      const c = counts.get(k);
      if (c) c.count++;
      else counts.set(k, { status, type, count: 1 });
    }
    return [...counts.values()];
  }

  /** job-wait: the job's final JobInfo once it is concluded (also after an auto-dismiss). */
  async waitJob(caller: string, args: JobWaitArgs): Promise<JobInfo> {
    const owner = this.#ownerFor(caller, args.owner);
    const entry = this.#jobs.get(key(owner, args.id));
    if (!entry) {
      const finished = this.#finished.get(key(owner, args.id));
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

  /**
   * Bring back the jobs the store kept (at start, before any command): each in its status,
   * with its id; what happens to them from here is published as usual. Their work is given
   * back afterwards, by {@link resumeRestored}. Returns how many jobs came back, and the
   * records that could not be restored, to be set aside (each logged with its key and why).
   */
  restore(entries: Iterable<StoredRecord>, told: ReadonlyMap<string, ToldProgress> = new Map()): { restored: number; rejected: Rejected[] } {
    const store = this.#opts.store;
    if (!store) return { restored: 0, rejected: [] };
    const { jobs, txns, rejected, otherVersions } = sortRecords(entries);
    for (const { record } of jobs.values()) raiseProgress(record, told);
    for (const { key: k, version } of otherVersions) {
      this.#opts.logger.error({ key: k, version }, 'job store: a record of another version of the service; left as it is');
    }
    const reject = (k: string, revision: number, reason: string) => {
      rejected.push({ key: k, revision, reason });
    };
    let restored = 0;
    const byCreation = [...jobs].sort(([, a], [, b]) => a.record.seq - b.record.seq);
    for (const [k, { revision, record }] of byCreation) {
      const input = record.snapshot.context.job as JobInput;
      if (input.txn !== undefined) continue; // restored with its transaction
      let job: JobActorRef | undefined;
      try {
        job = createActor(this.#jobLogic, { snapshot: record.snapshot as never, input: undefined as never, parent: this.#hub });
        this.#watchErrors(job, input);
        job.start();
        store.adopt(k, revision);
        this.#restored.push(this.#register(input, job, undefined, record.seq, record.run ?? null));
      } catch (err) {
        job?.stop();
        store.forget(k);
        this.#forgetRestored(input);
        reject(k, revision, `its job cannot be brought back: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      this.#seq = Math.max(this.#seq, record.seq);
      restored++;
    }
    for (const t of txns) {
      const members = t.record.members.map((id) => ({ id, ...jobs.get(jobKey(t.owner, id)) }));
      const missing = members.filter((m) => !m.record).map((m) => m.id);
      if (missing.length > 0) {
        this.#opts.logger.error({ owner: t.owner, txn: t.id, missing }, 'job store: a grouped transaction without all its members; not restored');
        continue;
      }
      const inputs = members.map((m) => m.record!.snapshot.context.job as JobInput);
      let txn: TransactionActorRef | undefined;
      const entries: Entry[] = [];
      try {
        const children = Object.fromEntries(members.map((m) => [m.id, { snapshot: m.record!.snapshot, src: 'job' }]));
        txn = createActor(this.#txnLogic, { snapshot: { ...t.record.snapshot, children } as never, input: undefined as never });
        txn.subscribe({ error: (err) => this.#lost(t.id, inputs, err) });
        txn.start();
        store.adopt(t.key, t.revision);
        for (const m of members) store.adopt(jobKey(t.owner, m.id), m.revision!);
        for (const [i, ref] of txn.getSnapshot().context.members.entries()) {
          if (statusOf(ref.getSnapshot()) === JobStatus.null) continue; // dismissed, kept for its transaction
          entries.push(this.#register(inputs[i]!, ref, txn, members[i]!.record!.seq, members[i]!.record!.run ?? null));
        }
      } catch (err) {
        txn?.stop();
        store.forget(t.key);
        for (const m of members) store.forget(jobKey(t.owner, m.id));
        for (const input of inputs) this.#forgetRestored(input);
        reject(t.key, t.revision, `its transaction cannot be brought back: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      this.#seq = Math.max(this.#seq, t.record.seq, ...members.map((m) => m.record!.seq));
      this.#persistTxn(txn, t.owner, t.id, t.record.seq);
      this.#restored.push(...entries);
      restored += entries.length;
    }
    for (const r of rejected) {
      this.#opts.logger.error({ key: r.key, revision: r.revision, reason: r.reason }, 'job store: a record that cannot be restored; set aside');
    }
    return { restored, rejected };
  }

  /** Undo what restoring a job registered before it failed. */
  #forgetRestored(input: JobInput): void {
    const k = key(input.owner, input.id);
    const entry = this.#jobs.get(k);
    if (!entry) return;
    this.#jobs.delete(k);
    this.#owners.remove(entry.owner);
    this.#runtime.forget(entry.owner, entry.id);
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
      if (this.#jobs.get(key(entry.owner, entry.id)) === entry) this.#resume(entry);
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** What a restored job needs to go on from its status. */
  #resume(entry: Entry): void {
    const snapshot = entry.job.getSnapshot();
    const status = statusOf(snapshot);
    const { context } = snapshot;
    if (status === JobStatus.concluded) return;
    const working = context.startedAt !== undefined && context.outcome === undefined;
    if (status === JobStatus.running && working) this.#runtime.restoreWork(context, entry.job, 'running');
    else if ((status === JobStatus.paused || status === JobStatus.ready || status === JobStatus.standby) && working) {
      this.#runtime.restoreWork(context, entry.job, 'resting');
    } else if (snapshot.matches({ aborting: 'stopping' })) this.#runtime.restoreWork(context, entry.job, 'stopping');
    else if (snapshot.matches({ pending: 'preparing' })) this.#runtime.restoreWork(context, entry.job, 'preparing');
    else if (context.startedAt !== undefined && (status === JobStatus.waiting || status === JobStatus.pending || status === JobStatus.aborting)) {
      // The work ended, the job is not finalized yet: its hooks may still need the work's worker.
      this.#runtime.restoreWork(context, entry.job, 'finished');
    }
  }

  /**
   * Dismiss concluded jobs kept longer than `keepConcludedMs`, and the oldest beyond
   * `keepConcluded` (their `null` events are published as for any dismissal).
   */
  sweep(retention: Retention, now = Date.now()): number {
    const concluded = [...this.#jobs.values()].filter((e) => statusOf(e.job.getSnapshot()) === JobStatus.concluded);
    const excess = concluded.length - retention.keepConcluded;
    let dismissed = 0;
    concluded.forEach((entry, i) => {
      const finishedAt = entry.job.getSnapshot().context.finishedAt ?? now;
      if (i >= excess && now - finishedAt < retention.keepConcludedMs) return;
      this.#log(entry, 'info', { finishedAt: new Date(finishedAt).toISOString() }, 'concluded job dismissed by retention');
      entry.job.send({ type: 'dismiss' });
      dismissed++;
    });
    return dismissed;
  }

  /** How many jobs are live (not yet dismissed). */
  get size(): number {
    return this.#jobs.size;
  }

  /** Answer every pending job-wait with `err` (the service is going away). */
  rejectWaiters(err: Error): void {
    for (const entry of this.#jobs.values()) {
      for (const waiter of entry.waiters ?? []) waiter(err);
      entry.waiters = undefined;
    }
  }

  /**
   * Stop every job actor and its work (the service is going away). With a store the jobs come
   * back at the next start, so work on remote workers is left running there, to be re-attached.
   */
  stopAll(): void {
    const txns = new Set<TransactionActorRef>();
    const alone: JobActorRef[] = [];
    const keep = this.#opts.store !== undefined;
    for (const entry of this.#jobs.values()) {
      if (entry.txn) txns.add(entry.txn);
      else alone.push(entry.job);
      this.#runtime.stopWork(entry.owner, entry.id, keep);
    }
    for (const txn of txns) txn.stop();
    stopJobs(this.#hub, alone);
    this.#jobs.clear();
    this.#owners.clear();
  }

  /** Check one job-start request and turn it into the job's input. */
  #prepare(caller: string, args: JobStartArgs, taken: ReadonlySet<string>, where?: string, room = true): JobInput {
    const params = this.#runtime.types.parseParams(args.type, args.params, where ? `${where}.params` : 'params');
    const id = args.id ?? generateId('job');
    if (this.#jobs.has(key(caller, id)) || taken.has(id)) throw new JobIdInUseError(id);
    checkStart(this.#limits, { description: args.description, params: args.params, where });
    if (room) checkRoom(this.#limits, this.#owners, caller, taken.size);
    const description = args.description ?? this.#runtime.types.get(args.type)?.description?.(params);
    const pipes = this.#planPipes(args, params, where);
    const input: JobInput = {
      id,
      owner: caller,
      type: args.type,
      params,
      ...(args['auto-finalize'] !== undefined && { autoFinalize: args['auto-finalize'] }),
      ...(args['auto-dismiss'] !== undefined && { autoDismiss: args['auto-dismiss'] }),
      ...(args.speed !== undefined && { speed: args.speed }),
      ...(args['on-error'] !== undefined && { onError: args['on-error'] }),
      ...(description !== undefined && { description }),
    };
    if (pipes) this.#pipePlans.set(input, pipes);
    return input;
  }

  /** The job's pipes: its `pipes` argument checked against its type. */
  #planPipes(args: JobStartArgs, params: Record<string, unknown>, where?: string): PipePlan | undefined {
    const declared = this.#runtime.types.get(args.type)?.pipes;
    const hub = this.#opts.pipes;
    const plan = planPipes(args.type, declared, params, args.pipes, hub?.settings.maxInputs ?? Number.MAX_SAFE_INTEGER, where);
    if (plan && !hub) throw new BadInputError(`Parameter '${where ? `${where}.` : ''}pipes' is unexpected: this service has no pipes`);
    return plan;
  }

  /** The caller's last job queued for the same lock, when the type's lockQueueSize is reached. */
  #queuedInstead(input: JobInput): string | undefined {
    const size = this.#runtime.types.get(input.type)?.lockQueueSize;
    const lock = this.#runtime.lockName(input.type, input.params ?? {});
    if (size === undefined || lock === undefined) return undefined;
    const waiting = this.#runtime.locks.waiting(lock, input.owner);
    return waiting.length >= size ? waiting.at(-1) : undefined;
  }

  /** A job's JobInfo: its statechart's, plus its params (secrets masked) and log excerpt. */
  #info(entry: Entry): JobInfo {
    this.#opts.shown?.(entry.owner, entry.id);
    return { ...jobInfo(entry.job.getSnapshot()), ...this.#runtime.info(entry.owner, entry.id) };
  }

  /** Create a job alone (a transaction of one), register and watch it, then create and start it. */
  #launchAlone(input: JobInput): void {
    const job = createActor(this.#jobLogic, { input, parent: this.#hub });
    this.#watchErrors(job, input);
    job.start();
    this.#register(input, job, undefined, ++this.#seq);
    job.send({ type: 'create' });
    job.send({ type: 'start' });
  }

  /**
   * An actor error nobody observes is rethrown by XState and would end the process: a bug in
   * one job's actor must stay that job's problem.
   */
  #watchErrors(job: JobActorRef, input: JobInput): void {
    job.subscribe({ error: (err) => this.#lost(input.id, [input], err) });
  }

  /** Create a grouped transaction, register and watch its members, then create and start them. */
  #launchGrouped(txnId: string, inputs: JobInput[]): void {
    const txn = createActor(this.#txnLogic, { input: { id: txnId, jobs: inputs } });
    txn.subscribe({ error: (err) => this.#lost(txnId, inputs, err) });
    txn.start();
    const seq = ++this.#seq;
    this.#persistTxn(txn, inputs[0]!.owner, txnId, seq);
    const members = txn.getSnapshot().context.members;
    for (const [i, job] of members.entries()) this.#register(inputs[i]!, job, txn, ++this.#seq);
    txn.send({ type: 'create' });
    txn.send({ type: 'start' });
  }

  /** Keep and watch a job: its events are published and (with a store) its changes saved. */
  #register(input: JobInput, job: JobActorRef, txn: TransactionActorRef | undefined, seq: number, restored?: SavedRun | null): Entry {
    const run =
      restored === undefined
        ? this.#runtime.open(input.owner, input.id, input.type, input.params ?? {})
        : this.#runtime.restore(input.owner, input.id, input.type, input.params ?? {}, restored ?? undefined);
    const pipes = this.#pipePlans.get(input);
    if (pipes) run.pipes = this.#opts.pipes?.open(input.owner, input.id, pipes);
    this.#opts.pipes?.attachLog(input.owner, input.id, run.log);
    const entry: Entry = {
      id: input.id,
      owner: input.owner,
      seq,
      type: input.type,
      status: statusOf(job.getSnapshot()),
      storeKey: jobKey(input.owner, input.id),
      job,
      ...(txn && { txn }),
    };
    this.#jobs.set(key(entry.owner, entry.id), entry);
    this.#owners.add(entry.owner);
    if (restored !== undefined && statusOf(job.getSnapshot()) === JobStatus.concluded) entry.final = this.#finalInfo(entry);
    job.on('*', (event) => this.#onEvent(entry, event));
    const store = this.#opts.store;
    if (store) {
      const record = () => this.#jobRecord(entry);
      let previous = job.getSnapshot();
      job.subscribe({
        next: (snapshot) => {
          store.changed(entry.storeKey, record, progressOnly(previous, snapshot));
          previous = snapshot;
        },
        error: IGNORED, // answered by the job's (or its transaction's) error observer
      });
      if (restored === undefined) store.changed(entry.storeKey, record);
    }
    const fields = { type: input.type, ...(input.txn && { txn: input.txn }) };
    if (restored === undefined) this.#log(entry, 'info', fields, 'job started');
    else this.#log(entry, 'debug', { ...fields, status: statusOf(job.getSnapshot()) }, 'job restored');
    return entry;
  }

  /** What the store keeps of a job; nothing once a job alone is dismissed (a member stays until its transaction is done). */
  #jobRecord(entry: Entry): JobRecord | undefined {
    if (!entry.txn && statusOf(entry.job.getSnapshot()) === JobStatus.null) return undefined;
    const run = this.#runtime.saveRun(entry.owner, entry.id);
    return {
      v: RECORD_VERSION,
      seq: entry.seq,
      snapshot: entry.job.getPersistedSnapshot() as unknown as PersistedSnapshot,
      ...(run && { run }),
    };
  }

  /** Save a grouped transaction's own state as it changes; once it is done, remove it and its members. */
  #persistTxn(txn: TransactionActorRef, owner: string, id: string, seq: number): void {
    const store = this.#opts.store;
    if (!store) return;
    const k = txnKey(owner, id);
    const record = (): TxnRecord | undefined => {
      const snapshot = txn.getSnapshot();
      if (snapshot.status === 'done') return undefined;
      const { children: _children, ...own } = txn.getPersistedSnapshot() as unknown as PersistedSnapshot;
      return { v: RECORD_VERSION, seq, members: snapshot.context.members.map((m) => m.id), snapshot: own };
    };
    const ids = txn.getSnapshot().context.members.map((m) => m.id);
    txn.subscribe({
      next: (snapshot) => {
        store.changed(k, record);
        if (snapshot.status === 'done') for (const member of ids) store.removed(jobKey(owner, member));
      },
      error: IGNORED, // answered by the transaction's error observer
    });
    store.changed(k, record);
  }

  #onEvent(entry: Entry, event: JobEmitted): void {
    if (event.type === 'verb.refused') {
      entry.refusal = event;
      return;
    }
    this.#opts.publish(event);
    if (event.type === 'JOB_PROGRESS') {
      for (const follow of entry.progress ?? []) follow(event.data['current-progress'], event.data['total-progress']);
    }
    if (event.type !== 'JOB_STATUS_CHANGE') return;
    const { status } = event.data;
    entry.status = status;
    this.#log(entry, 'debug', { status }, 'status changed');
    if (status === JobStatus.concluded) this.#conclude(entry);
    if (status === JobStatus.null) this.#remove(entry);
  }

  #conclude(entry: Entry): void {
    // Emitted events arrive after the job's whole macrostep: an auto-dismissed job is already
    // null here, but what waiters get is the job as it concluded.
    const final = this.#finalInfo(entry);
    entry.final = final;
    const { error } = entry.job.getSnapshot().context;
    this.#opts.pipes?.concluded(entry.owner, entry.id, error);
    this.#log(entry, 'info', { error }, error === undefined ? 'job concluded' : 'job concluded with an error');
    if (!entry.waiters) return;
    for (const waiter of entry.waiters) waiter(final());
    entry.waiters = undefined;
  }

  /** A log line about a job: its id and owner are on it (no child logger per job: there may be 100,000). */
  #log(entry: Entry, level: 'debug' | 'info', fields: Record<string, unknown>, message: string): void {
    const logger = this.#opts.logger;
    if (logger.isLevelEnabled(level)) logger[level]({ job: entry.id, owner: entry.owner, ...fields }, message);
  }

  /** The JobInfo a job concluded with, built on first use from its snapshot as it is now. */
  #finalInfo(entry: Entry): () => JobInfo {
    const snapshot = entry.job.getSnapshot();
    const run = this.#runtime.run(entry.owner, entry.id);
    let info: JobInfo | undefined;
    return () => (info ??= { ...jobInfo(snapshot), ...(run && runInfo(run)), status: JobStatus.concluded });
  }

  /**
   * A job's or a transaction's actors failed (a bug): its jobs are stopped. Say so in the log, answer
   * their waiters with an error, and drop them, so that later commands get `Job not found`
   * instead of a success from an actor that no longer runs — also from the store, so that the
   * next start does not bring back a job its owner was told had failed.
   */
  #lost(actorId: string, inputs: JobInput[], err: unknown): void {
    const txn = inputs[0]?.txn;
    if (txn !== undefined) this.#opts.store?.removed(txnKey(inputs[0]!.owner, txn));
    for (const input of inputs) {
      this.#opts.logger.error({ err, job: input.id, owner: input.owner, actor: actorId }, 'job actor failed; the job is dropped');
      const entry = this.#jobs.get(key(input.owner, input.id));
      if (!entry) continue;
      const lost = new ProtocolError(`Job '${input.id}' failed inside the service`, ErrorCode.internal);
      this.#opts.pipes?.concluded(input.owner, input.id, lost.message);
      this.#opts.store?.removed(entry.storeKey);
      for (const waiter of entry.waiters ?? []) waiter(lost);
      entry.waiters = undefined;
      this.#remove(entry);
    }
  }

  #remove(entry: Entry): void {
    const k = key(entry.owner, entry.id);
    if (this.#jobs.get(k) === entry) {
      this.#jobs.delete(k);
      this.#owners.remove(entry.owner);
      this.#runtime.forget(entry.owner, entry.id);
    }
    if (entry.final) this.#finished.set(k, entry.final);
  }

  /** The owner whose job a caller addresses: non-admins only ever address their own. */
  #ownerFor(caller: string, owner: string | undefined): string {
    if (owner === undefined || owner === caller) return caller;
    if (this.#opts.admins.has(caller)) return owner;
    throw new JobNotFoundError();
  }

  #find(caller: string, id: string, owner?: string): Entry {
    const entry = this.#jobs.get(key(this.#ownerFor(caller, owner), id));
    if (!entry) throw new JobNotFoundError();
    return entry;
  }
}

function verbEvent(verb: JobVerb, args: JobRef | JobCancelArgs | JobSetSpeedArgs): VerbEvent {
  switch (verb) {
    case JobVerb.cancel:
      return { type: 'cancel', force: (args as JobCancelArgs).force ?? true };
    case JobVerb.setSpeed:
      return { type: 'set-speed', speed: (args as JobSetSpeedArgs).speed };
    default:
      return { type: verb };
  }
}

/** Whether a job's snapshot changed in its progress or description only (saved at a slower pace). */
function progressOnly(before: JobSnapshot, after: JobSnapshot): boolean {
  if (before.value !== after.value && JSON.stringify(before.value) !== JSON.stringify(after.value)) return false;
  const a = before.context as unknown as Record<string, unknown>;
  const b = after.context as unknown as Record<string, unknown>;
  for (const k in b) if (k !== 'progress' && k !== 'description' && a[k] !== b[k]) return false;
  for (const k in a) if (!(k in b)) return false;
  return true;
}
