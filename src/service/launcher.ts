/**
 * Launching jobs: a job alone is a transaction of one by itself (its parent is the jobs'
 * actor parent); the members of a grouped transaction are spawned by its transaction actor.
 * Each job is kept in the table with its run opened, and followed: its events are published,
 * its conclusion answers its waiters, and a failure of its actors drops it.
 */
import { createActor } from 'xstate';
import type { Logger } from 'pino';
import { JobStatus, statusOf } from '../../machines/index.js';
import type { JobActorRef, JobEmitted, JobInput, TransactionActorRef, jobMachine, transactionMachine } from '../../machines/index.js';
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import type { JobInfo } from '../protocol/schemas.js';
import type { JobSaving } from '../persist/job-saving.js';
import type { PipeHub } from '../pipes/hub.js';
import type { PipePlan } from '../pipes/plan.js';
import { runInfo } from '../runtime/run.js';
import type { JobsApi } from '../runtime/run.js';
import type { Rejected, SavedRun, StoredRecord } from '../persist/records.js';
import type { ToldProgress } from '../persist/event-stream.js';
import { restoreJobs } from '../persist/restore.js';
import type { JobRuntime } from '../runtime/runtime.js';
import { stopJobs } from './actor-parent.js';
import type { ActorParent } from './actor-parent.js';
import type { PublishedEvent } from './events.js';
import { jobInfo } from './job-info.js';
import { jobKey, txnKey } from '../persist/records.js';
import { logJob } from './job-table.js';
import type { JobTable, LiveJob } from './job-table.js';
import type { JobWaits } from './job-waits.js';
import type { StartRequest } from './start-requests.js';

export interface LauncherParts {
  readonly runtime: JobRuntime;
  readonly table: JobTable;
  readonly waits: JobWaits;
  readonly jobLogic: typeof jobMachine;
  readonly txnLogic: typeof transactionMachine;
  /** The parent of the jobs started alone: they share its actor system. */
  readonly parent: ActorParent;
  /** What handlers may ask of the service (wrap), given to every run. */
  readonly jobsApi: JobsApi;
  /** Called for every event of every job, in order, before any reply that follows from it. */
  readonly publish: (event: PublishedEvent) => void;
  readonly logger: Logger;
  readonly pipes?: PipeHub | undefined;
  readonly saving?: JobSaving | undefined;
}

export class JobLauncher {
  constructor(private readonly parts: LauncherParts) {}

  /** Create a job alone (a transaction of one), register and watch it, then create and start it. */
  alone(req: StartRequest): void {
    const { input } = req;
    const job = createActor(this.parts.jobLogic, { input, parent: this.parts.parent });
    job.subscribe({ error: (err) => this.lost(input.id, [input], err) });
    job.start();
    this.register(input, job, undefined, this.parts.table.nextSeq(), req.pipes);
    job.send({ type: 'create' });
    job.send({ type: 'start' });
  }

  /** Create a grouped transaction, register and watch its members, then create and start them. */
  grouped(txnId: string, reqs: readonly StartRequest[]): void {
    const inputs = reqs.map((r) => r.input);
    const txn = createActor(this.parts.txnLogic, { input: { id: txnId, jobs: inputs } });
    txn.subscribe({ error: (err) => this.lost(txnId, inputs, err) });
    txn.start();
    const { table } = this.parts;
    const seq = table.nextSeq();
    this.parts.saving?.watchTxn(txn, inputs[0]!.owner, txnId, seq);
    const members = txn.getSnapshot().context.members;
    for (const [i, job] of members.entries()) this.register(inputs[i]!, job, txn, table.nextSeq(), reqs[i]!.pipes);
    txn.send({ type: 'create' });
    txn.send({ type: 'start' });
  }

  /**
   * Keep and watch a job, its run opened with all it needs: its events are published and
   * (with a store) its changes saved. `restored`: a job brought back from the store, with
   * what was saved of its run (null: nothing).
   */
  register(input: JobInput, job: JobActorRef, txn: TransactionActorRef | undefined, seq: number, pipes?: PipePlan, restored?: SavedRun | null): LiveJob {
    const { runtime, table, pipes: hub } = this.parts;
    const links = {
      jobs: this.parts.jobsApi,
      pipes: pipes && hub?.open(input.owner, input.id, pipes),
      logLines: hub?.logLines(input.owner, input.id),
    };
    if (restored === undefined) runtime.open(input, links);
    else runtime.restore(input, links, restored ?? undefined);
    const entry: LiveJob = {
      id: input.id,
      owner: input.owner,
      seq,
      type: input.type,
      status: statusOf(job.getSnapshot()),
      storeKey: jobKey(input.owner, input.id),
      job,
      ...(txn && { txn }),
    };
    table.add(entry);
    if (restored !== undefined && statusOf(job.getSnapshot()) === JobStatus.concluded) entry.final = this.#finalInfo(entry);
    job.on('*', (event) => this.#onEvent(entry, event));
    this.parts.saving?.watchJob(entry, restored === undefined);
    const fields = { type: input.type, ...(input.txn && { txn: input.txn }) };
    if (restored === undefined) logJob(this.parts.logger, entry, 'info', fields, 'job started');
    else logJob(this.parts.logger, entry, 'debug', { ...fields, status: statusOf(job.getSnapshot()) }, 'job restored');
    return entry;
  }

  /** Bring back stored jobs (persist/restore.ts), each kept and watched by {@link register}. */
  restore(entries: Iterable<StoredRecord>, told: ReadonlyMap<string, ToldProgress>): { restored: number; kept: LiveJob[]; rejected: Rejected[] } {
    const { saving, table } = this.parts;
    if (!saving) return { restored: 0, kept: [], rejected: [] };
    return restoreJobs(entries, told, {
      saving,
      logger: this.parts.logger,
      jobLogic: this.parts.jobLogic,
      txnLogic: this.parts.txnLogic,
      parent: this.parts.parent,
      register: (input, job, txn, seq, run) => this.register(input, job, txn, seq, undefined, run),
      unregister: (input) => this.unregister(input),
      lost: (actorId, inputs, err) => this.lost(actorId, inputs, err),
      seqAtLeast: (seq) => table.seqAtLeast(seq),
    });
  }

  /** Undo what {@link register} did for a restored job that could not be brought back after all. */
  unregister(input: JobInput): void {
    const entry = this.parts.table.get(input.owner, input.id);
    if (entry && this.parts.table.delete(entry)) this.parts.runtime.forget(entry.owner, entry.id);
  }

  /**
   * A job's or a transaction's actors failed (a bug): its jobs are stopped. Say so in the log, answer
   * their waiters with an error, and drop them, so that later commands get `Job not found`
   * instead of a success from an actor that no longer runs — also from the store, so that the
   * next start does not bring back a job its owner was told had failed.
   */
  lost(actorId: string, inputs: JobInput[], err: unknown): void {
    const { table, saving, pipes, waits, logger } = this.parts;
    const txn = inputs[0]?.txn;
    if (txn !== undefined) saving?.store.removed(txnKey(inputs[0]!.owner, txn));
    for (const input of inputs) {
      logger.error({ err, job: input.id, owner: input.owner, actor: actorId }, 'job actor failed; the job is dropped');
      const entry = table.get(input.owner, input.id);
      if (!entry) continue;
      const lost = new ProtocolError(`Job '${input.id}' failed inside the service`, ErrorCode.internal);
      pipes?.concluded(input.owner, input.id, lost.message);
      saving?.removed(entry.storeKey);
      waits.answer(entry, lost);
      this.#remove(entry);
    }
  }

  /**
   * Stop the actors and the work of `entries` (no further events); `keep`: the jobs come back
   * elsewhere or later, so work on remote workers goes on there, to be re-attached.
   */
  stop(entries: Iterable<LiveJob>, keep: boolean): void {
    const txns = new Set<TransactionActorRef>();
    const alone: JobActorRef[] = [];
    for (const entry of entries) {
      if (entry.txn) txns.add(entry.txn);
      else alone.push(entry.job);
      this.parts.runtime.stopWork(entry.owner, entry.id, keep);
    }
    for (const txn of txns) txn.stop();
    stopJobs(this.parts.parent, alone);
  }

  /**
   * Let `entries` go without a word to the store or their pipes (their partition is served
   * elsewhere now): stopped, their store keys and pipes forgotten, their waiters answered with
   * `err`, their runs dropped.
   */
  drop(entries: readonly LiveJob[], err: Error): void {
    const { table, runtime, saving, waits, pipes } = this.parts;
    this.stop(entries, true);
    for (const entry of entries) {
      pipes?.dropped(entry.owner, entry.id);
      saving?.store.forget(entry.storeKey);
      saving?.dropped(entry.storeKey); // its unpublished events are the next owner's to publish
      const txn = entry.job.getSnapshot().context.job.txn;
      if (txn !== undefined) saving?.store.forget(txnKey(entry.owner, txn));
      waits.answer(entry, err);
      runtime.run(entry.owner, entry.id)?.release?.();
      if (table.delete(entry)) runtime.forget(entry.owner, entry.id);
    }
  }

  /**
   * Forget the store keys matching `filter` that still have changes to write (jobs removed and
   * no longer in the table): nothing of them is written or published, and the commands waiting
   * for those changes are answered with `err(key)`.
   */
  dropUnsaved(filter: (key: string) => boolean, err: (key: string) => Error): void {
    const { saving } = this.parts;
    for (const key of saving?.store.unsaved(filter) ?? []) {
      saving!.store.forget(key, err(key));
      saving!.dropped(key);
    }
  }

  #onEvent(entry: LiveJob, event: JobEmitted): void {
    if (event.type === 'verb.refused') {
      entry.refusal = event;
      return;
    }
    // With a store, the event waits in the job's outbox until the state it reports is saved.
    if (this.parts.saving) this.parts.saving.event(entry, event);
    else this.parts.publish(event);
    if (event.type === 'JOB_PROGRESS') {
      for (const follow of entry.progress ?? []) follow(event.data['current-progress'], event.data['total-progress']);
    }
    if (event.type !== 'JOB_STATUS_CHANGE') return;
    const { status } = event.data;
    entry.status = status;
    logJob(this.parts.logger, entry, 'debug', { status }, 'status changed');
    if (status === JobStatus.concluded) this.#conclude(entry);
    if (status === JobStatus.null) this.#remove(entry);
  }

  #conclude(entry: LiveJob): void {
    // Emitted events arrive after the job's whole macrostep: an auto-dismissed job is already
    // null here, but what waiters get is the job as it concluded.
    const final = this.#finalInfo(entry);
    entry.final = final;
    const { error } = entry.job.getSnapshot().context;
    this.parts.pipes?.concluded(entry.owner, entry.id, error);
    logJob(this.parts.logger, entry, 'info', { error }, error === undefined ? 'job concluded' : 'job concluded with an error');
    if (entry.waiters) this.parts.waits.answer(entry, final());
  }

  /** The JobInfo a job concluded with, built on first use from its snapshot as it is now. */
  #finalInfo(entry: LiveJob): () => JobInfo {
    const snapshot = entry.job.getSnapshot();
    const run = this.parts.runtime.run(entry.owner, entry.id);
    let info: JobInfo | undefined;
    return () => (info ??= { ...jobInfo(snapshot), ...(run && runInfo(run)), status: JobStatus.concluded });
  }

  #remove(entry: LiveJob): void {
    if (this.parts.table.delete(entry)) this.parts.runtime.forget(entry.owner, entry.id);
    this.parts.waits.remember(entry);
  }
}
