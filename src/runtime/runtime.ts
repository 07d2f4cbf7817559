/**
 * The job runtime: the registered job types, each live job's run (its log, scratch, lock and
 * work), and the implementations the job statechart needs — the `work` and `prepare` actors
 * and the `commit`, `abort`, `clean` actions — built from the types' handlers and hooks.
 */
import type { Logger } from 'pino';
import { fromPromise } from 'xstate';
import { jobMachine } from '../../machines/index.js';
import type { JobContext as MachineContext, WorkCommand, WorkInput, WorkReport } from '../../machines/index.js';
import type { PipeSource } from '../pipes/api.js';
import type { FinalizeContext, JobHooks, JobType } from './handler.js';
import { JobLogBuffer, redact, secretValues } from './job-log.js';
import { LockManager } from './locks.js';
import type { JobTypes } from './registry.js';
import { workActor } from './work-actor.js';
import type { WorkControl } from './work-control.js';

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
  control?: WorkControl;
  /** Releases the job's lock; called at clean (or when the work stops). */
  release?: () => void;
  /** The job's pipes, when it was started with some. */
  pipes?: PipeSource;
}

/** A job's running work, as the `work` actor drives it: in-process a {@link WorkControl}. */
export interface Work {
  /** Handle a command from the statechart. */
  command(command: WorkCommand): void;
  /** Run the work; resolves once it has reported its outcome (never rejects). */
  run(): Promise<void>;
  /** The statechart stopped the work (the job concluded or the service stops). */
  stop(): void;
}

/**
 * Runs a job's work elsewhere (on a remote worker); returns undefined for a job whose type
 * runs in this process.
 */
export type RemoteWork = (input: WorkInput, run: Run, report: (event: WorkReport) => void) => Work | undefined;

export interface JobRuntimeOptions {
  logger: Logger;
}

const key = (owner: string, id: string) => `${owner}\u0000${id}`;

export class JobRuntime {
  readonly locks = new LockManager();
  /** Set by the service: lets handlers start and wait for other jobs. */
  jobs: JobsApi | undefined;
  /** Set by the service: runs the jobs of types that remote workers announce. */
  remote: RemoteWork | undefined;
  readonly #runs = new Map<string, Run>();

  constructor(
    readonly types: JobTypes,
    private readonly opts: JobRuntimeOptions,
  ) {}

  /** The job statechart with this runtime's work, prepare and hooks. */
  jobMachine() {
    return jobMachine.provide({
      actors: {
        work: workActor(this),
        prepare: fromPromise<void, WorkInput>(async ({ input }) => {
          const run = this.run(input.owner, input.id);
          if (run?.type.hooks?.prepare) await run.type.hooks.prepare(finalizeContext(run));
        }),
      },
      actions: {
        commit: ({ context }) => this.#hook(context, 'commit'),
        abort: ({ context }) => this.#hook(context, 'abort'),
        clean: ({ context }) => {
          this.#hook(context, 'clean');
          const run = this.run(context.owner, context.id);
          run?.release?.();
        },
      },
    });
  }

  /** Start keeping a job's run; its params must already be valid for its type. */
  open(owner: string, id: string, typeName: string, params: Record<string, unknown>): Run {
    const type = this.types.get(typeName);
    if (!type) throw new Error(`No job type '${typeName}'`);
    const logger = this.opts.logger.child({ job: id, owner });
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

  /** Drop a job's run, its log with it. */
  forget(owner: string, id: string): void {
    this.#runs.delete(key(owner, id));
  }

  /** The lock a job of `type` with `params` takes, if its type has one. */
  lockName(typeName: string, params: Record<string, unknown>): string | undefined {
    const lock = this.types.get(typeName)?.lock;
    return typeof lock === 'function' ? lock(params) : lock;
  }

  /** What JobInfo shows of a job beyond its statechart: params (secrets masked) and the log excerpt. */
  info(owner: string, id: string): { params?: Record<string, unknown>; 'logs-excerpt'?: string } {
    const run = this.run(owner, id);
    if (!run) return {};
    const excerpt = run.log.excerpt();
    return { params: redact(run.params, run.type.secrets), ...(excerpt !== undefined && { 'logs-excerpt': excerpt }) };
  }

  #hook(context: MachineContext, name: Exclude<keyof JobHooks<unknown>, 'prepare'>): void {
    const run = this.run(context.owner, context.id);
    if (run) runHook(run, name);
  }
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
