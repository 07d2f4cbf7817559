/**
 * The job runtime: the registered job types, each live job's run (its log, scratch, lock and
 * work), and the implementations of the job statechart's effects — `startWork`, `tellWork`,
 * `stopWork`, `prepare`, `commit`, `abort`, `clean` — built from the types' handlers and hooks.
 */
import type { Logger } from 'pino';
import type { AnyActorRef } from 'xstate';
import { z } from 'zod';
import { JobStatus, jobMachine, statusOf, workInput } from '../../machines/index.js';
import type { JobSnapshot, JobMachineContext as MachineContext, PrepareReport, WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import type { PipeSource } from '../pipes/api.js';
import type { FinalizeContext, JobContext, JobHooks, JobType } from './handler.js';
import { INTERRUPTED, InterruptedWork } from './interrupted-work.js';
import { JobLogBuffer, redact, secretValues } from './job-log.js';
import type { SavedLog } from './job-log.js';
import { LockManager } from './locks.js';
import type { JobTypes } from './registry.js';
import { WorkControl } from './work-control.js';

/** What a job's handler may ask of the service: other jobs (for `wrap`). */
export interface JobsApi {
  /** Start a job owned by `owner`; returns its id. Throws on bad params. */
  start(owner: string, type: string, params: Record<string, unknown>): string;
  /** Resolves with the job's final JobInfo once it concludes. */
  wait(owner: string, id: string): Promise<{ error?: string; result?: unknown }>;
  /** Force-cancel a job, if it can be. */
  cancel(owner: string, id: string): void;
  /** Follow a job's progress; returns a function that stops following. */
  onProgress(owner: string, id: string, listener: (current: number, total: number) => void): () => void;
}

/** One live job, from creation until it is forgotten. */
export interface Run {
  readonly id: string;
  readonly owner: string;
  readonly type: JobType<unknown>;
  readonly params: Record<string, unknown>;
  readonly scratch: Record<string, unknown>;
  readonly log: JobLogBuffer;
  softCancelled: boolean;
  /** The job's work, from start until it is stopped. */
  work?: Work;
  /** Releases the job's lock; called at clean (or when the work stops). */
  release?: () => void;
  /** The job's pipes, when it was started with some. */
  pipes?: PipeSource;
  /** Restored after a restart: the remote worker its work was dispatched to, as its record says. */
  restoredWorker?: string;
}

/** A job's running work, as the statechart drives it: in-process a {@link WorkControl}. */
export interface Work {
  /** Handle a command from the statechart. */
  command(command: WorkCommand): void;
  /** Run the work; resolves once it has reported its outcome (never rejects). */
  run(): Promise<void>;
  /** The id of the remote worker running it, if it runs on one. */
  readonly workerId?: string;
  /** The statechart stopped the work (the job concluded or the service stops). */
  stop(): void;
  /**
   * The service stops but keeps the job, to restore it at its next start: let the work go on
   * where it runs, if it can (a remote worker keeps it for the service to re-attach it).
   * Without it, {@link stop}.
   */
  detach?(): void;
}

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
}

const key = (owner: string, id: string) => `${owner}\u0000${id}`;

export class JobRuntime {
  readonly locks = new LockManager();
  /** Set by the service: lets handlers start and wait for other jobs. */
  jobs: JobsApi | undefined;
  /** Set by the service: runs the jobs of types that remote workers announce. */
  remote: RemoteRunner | undefined;
  readonly #runs = new Map<string, Run>();

  constructor(
    readonly types: JobTypes,
    private readonly opts: JobRuntimeOptions,
  ) {}

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

  /** Start keeping a job's run; its params must already be valid for its type. */
  open(owner: string, id: string, typeName: string, params: Record<string, unknown>): Run {
    const type = this.types.get(typeName);
    if (!type) throw new Error(`No job type '${typeName}'`);
    return this.#open(owner, id, type, params);
  }

  /**
   * Keep the run of a job restored after a restart, with what was saved of it. Its type may be
   * gone meanwhile: the run then has a type whose work fails, saying so.
   */
  restore(owner: string, id: string, typeName: string, params: Record<string, unknown>, saved: SavedRun | undefined): Run {
    // Work that ran on a worker goes on there if it can: its type is the workers' (whatever
    // this process runs now), known before any worker has announced it.
    const remote = saved?.worker !== undefined ? this.remote?.restoredType(typeName, saved.secrets ?? []) : undefined;
    const run = this.#open(owner, id, remote ?? this.types.get(typeName) ?? unavailableType(typeName), params);
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
  restoreWork(context: MachineContext, job: AnyActorRef, where: 'running' | 'resting' | 'stopping' | 'preparing' | 'finished'): void {
    const run = this.#runOf(context);
    if (run?.restoredWorker !== undefined && this.remote) {
      const settled = where === 'preparing' || where === 'finished';
      const report = (event: WorkReport) => job.send(event);
      const work = this.remote.reattach(workInput(context), run, report, run.restoredWorker, { settled, sync: () => syncCommands(job) });
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

  #open(owner: string, id: string, type: JobType<unknown>, params: Record<string, unknown>): Run {
    const logger = () => this.opts.logger.child({ job: id, owner });
    const run: Run = {
      id,
      owner,
      type,
      params,
      scratch: {},
      log: new JobLogBuffer(secretValues(params, type.secrets), logger),
      softCancelled: false,
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
    const lock = this.types.get(typeName)?.lock;
    return typeof lock === 'function' ? lock(params) : lock;
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

/** What a job store keeps of a run (see {@link JobRuntime.saveRun}). */
export interface SavedRun {
  scratch: Record<string, unknown>;
  softCancelled?: boolean;
  log?: SavedLog;
  /** The remote worker the job's work was dispatched to. */
  worker?: string;
  /** For work on a worker: the type's secret params as the workers announced them (masked from the start after a restart). */
  secrets?: string[];
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

/** What JobInfo shows of a run: its params (secrets masked) and its log excerpt. */
export type RunInfo = { params?: Record<string, unknown>; 'logs-excerpt'?: string };

export function runInfo(run: Run): RunInfo {
  const excerpt = run.log.excerpt();
  return { params: redact(run.params, run.type.secrets), ...(excerpt !== undefined && { 'logs-excerpt': excerpt }) };
}

/**
 * Run a job's commit, abort or clean hook. They must not fail; if one does — by throwing, or
 * by rejecting, since TypeScript lets an async function stand for a void one — the job's log
 * says so, and nothing else happens (an unhandled rejection would end the process).
 */
export function runHook(run: Run, name: Exclude<keyof JobHooks<unknown>, 'prepare'>): void {
  const hook = run.type.hooks?.[name];
  if (!hook) return;
  const failed = (err: unknown) => run.log.error(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  try {
    const returned: unknown = hook(finalizeContext(run));
    if (returned instanceof Promise) returned.catch(failed);
  } catch (err) {
    failed(err);
  }
}

/** What a type's finalize hooks see of a run. */
export function finalizeContext(run: Run): FinalizeContext<unknown> {
  return {
    id: run.id,
    owner: run.owner,
    type: run.type.type,
    params: run.params,
    scratch: run.scratch,
    softCancelled: run.softCancelled,
    log: run.log,
  };
}

/**
 * The commands that bring re-attached work in line with the job's statechart as it is now:
 * paused or not (paused and standby pause the work), its speed, and a cancel asked for.
 * Each is idempotent on the work's side. Nothing once the work has ended.
 */
function syncCommands(job: AnyActorRef): WorkCommand[] {
  const snapshot = job.getSnapshot() as JobSnapshot;
  const { context } = snapshot;
  if (context.outcome !== undefined) return [];
  const status = statusOf(snapshot);
  const paused = status === JobStatus.paused || status === JobStatus.standby;
  const commands: WorkCommand[] = [{ type: paused ? 'pause' : 'resume' }, { type: 'set-speed', speed: context.speed }];
  if (context.cancel !== 'none') commands.push({ type: 'cancel', force: context.cancel === 'force' });
  return commands;
}
