/**
 * The job runtime: the registered job types, each live job's run (its log, scratch, lock and
 * work), and the implementations of the job statechart's effects — `startWork`, `tellWork`,
 * `stopWork`, `prepare`, `commit`, `abort`, `clean` — built from the types' handlers and hooks.
 */
import type { Logger } from 'pino';
import type { AnyActorRef } from 'xstate';
import { z } from 'zod';
import { OnError, jobMachine, restoredWork, workInput, workSyncCommands } from '../../machines/index.js';
import type { JobActorRef, JobInput, JobSnapshot, JobMachineContext as MachineContext, PrepareReport, RestoredWork, WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import type { JobContext, JobHooks, JobType } from './handler.js';
import { INTERRUPTED, InterruptedWork } from './interrupted-work.js';
import { JobLogBuffer, secretValues } from './job-log.js';
import { LockManager } from './locks.js';
import type { JobTypes } from './registry.js';
import { finalizeContext, lockOf, runHook, runInfo } from './run.js';
import type { Run, RunInfo, RunLinks, Work } from './run.js';
import type { SavedRun } from '../persist/records.js';
import { WorkControl } from './work-control.js';
import type { WorkPlace } from './work-control.js';
import { ownedKey as key } from '../protocol/owned-key.js';

/** Runs jobs' work elsewhere: on remote workers (src/service/remote/). */
export interface RemoteRunner {
  /** The work of a job whose type only workers have; undefined for a type this process runs. */
  work(input: WorkInput, run: Run, report: (event: WorkReport) => void): Work | undefined;
  /** The type of a restored job whose work ran on a worker (its secrets as its record kept them). */
  restoredType(name: string, secrets: readonly string[]): JobType<unknown>;
  /**
   * The work of a restored job, taken up again on the worker its record names: `settled` when
   * the work had already ended (only the finalize hooks are left); `sync` gives the commands
   * that bring the worker in line with the statechart.
   */
  reattach(input: WorkInput, run: Run, report: (event: WorkReport) => void, worker: string, how: { settled: boolean; sync: () => WorkCommand[] }): Work;
}

export interface JobRuntimeOptions {
  logger: Logger;
  /** Runs the jobs of types that remote workers announce. */
  remote?: RemoteRunner | undefined;
}

export class JobRuntime implements WorkPlace {
  readonly locks = new LockManager();
  /** Runs the jobs of types that remote workers announce. */
  readonly remote: RemoteRunner | undefined;
  readonly #runs = new Map<string, Run>();

  constructor(
    readonly types: JobTypes,
    private readonly opts: JobRuntimeOptions,
  ) {
    this.remote = opts.remote;
  }

  /** The job statechart with this runtime's work, prepare and hooks. */
  jobMachine() {
    return jobMachine.provide({
      actions: {
        startWork: ({ self }, input: WorkInput) => this.#startWork(input, self),
        tellWork: ({ context }, command: WorkCommand) => this.#runOf(context)?.work?.command(command),
        stopWork: ({ context }) => this.stopWork(context.job.owner, context.job.id),
        prepare: ({ context, self }) => this.#prepare(context, self),
        commit: ({ context }) => this.#hook(context, 'commit'),
        abort: ({ context }) => this.#hook(context, 'abort'),
        clean: ({ context }) => {
          this.#hook(context, 'clean');
          this.#runOf(context)?.release?.();
        },
      },
    });
  }

  /**
   * Start keeping a job's run, with all it reaches beyond itself (pipes, other jobs); its
   * params must already be valid for its type.
   */
  open(input: JobInput, links: RunLinks): Run {
    const type = this.types.get(input.type);
    if (!type) throw new Error(`No job type '${input.type}'`);
    return this.#open(input, type, links);
  }

  /**
   * Keep the run of a job restored after a restart, with what was saved of it. Its type may be
   * gone meanwhile: the run then has a type whose work fails, saying so.
   */
  restore(input: JobInput, links: RunLinks, saved: SavedRun | undefined): Run {
    // Work that ran on a worker goes on there if it can: its type is the workers' (whatever
    // this process runs now), known before any worker has announced it.
    const typeName = input.type;
    const remote = saved?.worker !== undefined ? this.remote?.restoredType(typeName, saved.secrets ?? []) : undefined;
    const run = this.#open(input, remote ?? this.types.get(typeName) ?? unavailableType(typeName), links);
    if (remote) run.restoredWorker = saved!.worker;
    if (saved) {
      Object.assign(run.scratch, saved.scratch);
      run.softCancelled = saved.softCancelled ?? false;
      if (saved.log) run.log.restore(saved.log);
    }
    return run;
  }

  /** What a job store keeps of a run beside the job's statechart. */
  saveRun(owner: string, id: string): SavedRun | undefined {
    const run = this.run(owner, id);
    if (!run) return undefined;
    const worker = run.work?.workerId;
    const secrets = worker !== undefined ? run.type.secrets : undefined;
    return {
      scratch: run.scratch,
      ...(run.softCancelled && { softCancelled: true }),
      log: run.log.saved(),
      ...(worker !== undefined && { worker }),
      ...(secrets?.length && { secrets: [...secrets] }),
    };
  }

  /**
   * Give a job restored after a restart the work its status needs. Work that ran on a remote
   * worker is re-attached there (it goes on, or fails with `Interrupted by service restart` if
   * the worker is gone or no longer has it), whatever the status — also for a job whose work
   * had ended (`finished`), whose finalize hooks run on that worker. Otherwise: its type's
   * handler again if the type is resumable (parked at its first pause point if the job is
   * paused), else work that fails with `Interrupted by service restart` — at once for a
   * `running` job, when it must go on for a `resting` one (paused, ready, standby). A job
   * that was `stopping` its work gets the work's end; one that was `preparing` prepares again.
   */
  restoreWork(context: MachineContext, job: AnyActorRef, where: RestoredWork): void {
    const run = this.#runOf(context);
    if (run?.restoredWorker !== undefined && this.remote) {
      const settled = where === 'preparing' || where === 'finished';
      const report = (event: WorkReport) => job.send(event);
      const work = this.remote.reattach(workInput(context), run, report, run.restoredWorker, { settled, sync: () => workSyncCommands(job.getSnapshot() as JobSnapshot) });
      run.work = work;
      void work.run();
      if (where === 'preparing') this.#prepare(context, job);
      return;
    }
    if (where === 'finished') return;
    if (where === 'preparing') return this.#prepare(context, job);
    if (where === 'stopping' || !run) return job.send({ type: 'work.failed', error: INTERRUPTED });
    if (run.type.resumable) {
      return this.#startWork(workInput(context), job, context.progress ? { progress: context.progress } : {});
    }
    const work = new InterruptedWork((event) => job.send(event), where === 'running');
    run.work = work;
    void work.run();
  }

  /** Give a job restored after a restart the work its status needs now, if any (see {@link restoreWork}). */
  resume(job: JobActorRef): void {
    const snapshot = job.getSnapshot();
    const where = restoredWork(snapshot);
    if (where !== undefined) this.restoreWork(snapshot.context, job, where);
  }

  #open(input: JobInput, type: JobType<unknown>, links: RunLinks): Run {
    const { id, owner } = input;
    const params = input.params ?? {};
    const logger = () => this.opts.logger.child({ job: id, owner });
    const run: Run = {
      id,
      owner,
      type,
      params,
      onError: input.onError ?? OnError.report,
      scratch: {},
      log: new JobLogBuffer(secretValues(params, type.secrets), logger, links.logLines),
      softCancelled: false,
      // Always set, if only to undefined: every run has the same shape.
      pipes: links.pipes,
      jobs: links.jobs,
    };
    this.#runs.set(key(owner, id), run);
    return run;
  }

  run(owner: string, id: string): Run | undefined {
    return this.#runs.get(key(owner, id));
  }

  /**
   * Stop a job's work, if it still has any (the job concluded, was dropped, or the service
   * stops). `keep`: the service stops and keeps the job for its next start — work that can go
   * on without it (on a remote worker) is left running.
   */
  stopWork(owner: string, id: string, keep = false): void {
    const run = this.run(owner, id);
    if (!run?.work) return;
    const work = run.work;
    run.work = undefined;
    if (keep && work.detach) work.detach();
    else work.stop();
  }

  /** Drop a job's run, its log with it (and its work, if any is left). */
  forget(owner: string, id: string): void {
    this.stopWork(owner, id);
    this.#runs.delete(key(owner, id));
  }

  /** The lock a job of `type` with `params` takes, if its type has one. */
  lockName(typeName: string, params: Record<string, unknown>): string | undefined {
    return lockOf(this.types.get(typeName), params);
  }

  /** What JobInfo shows of a job beyond its statechart: params (secrets masked) and the log excerpt. */
  info(owner: string, id: string): RunInfo {
    const run = this.run(owner, id);
    return run ? runInfo(run) : {};
  }

  #runOf(context: MachineContext): Run | undefined {
    return this.run(context.job.owner, context.job.id);
  }

  /** Run the job's handler here (a {@link WorkControl}), or on a remote worker if only workers have its type. */
  #startWork(input: WorkInput, job: AnyActorRef, resumed?: JobContext['resumed']): void {
    const report = (event: WorkReport) => job.send(event);
    const run = this.run(input.owner, input.id);
    if (!run) {
      report({ type: 'work.failed', error: `No handler for job type '${input.type}'` });
      return;
    }
    const remote = this.remote?.work(input, run, report);
    const work =
      remote ??
      new WorkControl(input, run, this, (event) => {
        // Work in this process that has ended is let go at once (a job may rest in pending
        // or concluded for long); the lock, if any, is released at clean.
        if ((event.type === 'work.done' || event.type === 'work.failed') && run.work === work) run.work = undefined;
        report(event);
      }, resumed);
    run.work = work;
    void work.run();
  }

  /** The type's prepare hook, if any; its outcome goes back to the job. */
  #prepare(context: MachineContext, job: AnyActorRef): void {
    const done = (event: PrepareReport) => job.send(event);
    const run = this.#runOf(context);
    const prepare = run?.type.hooks?.prepare;
    if (!run || !prepare) return done({ type: 'prepare.done' });
    (async () => prepare(finalizeContext(run)))().then(
      () => done({ type: 'prepare.done' }),
      (err: unknown) => done({ type: 'prepare.failed', error: err instanceof Error ? err.message : String(err) }),
    );
  }

  #hook(context: MachineContext, name: Exclude<keyof JobHooks<unknown>, 'prepare'>): void {
    const run = this.#runOf(context);
    if (run) runHook(run, name);
  }
}

/** A job type that is no longer there (a job restored after a restart): its work fails, saying so. */
function unavailableType(type: string): JobType<unknown> {
  return {
    type,
    params: z.unknown(),
    handler: async () => {
      throw new Error(`Job type '${type}' is not available`);
    },
  };
}

// Where other rooms found these before run.ts held them.
export type { JobsApi, Run, RunInfo, Work } from './run.js';
