/**
 * What a job's handler is given: its {@link JobContext}, a view of the job's run (what the
 * job is) and of its running work (what it is doing). A class, not an object literal of closures: a service holds
 * one per running job (100,000 of them cost 0.2 GB as literals, whose getter and dozen
 * closures put each in dictionary mode), and this one is a few fields with its methods shared.
 */
import { OnError } from '../../machines/index.js';
import { NO_PIPES } from '../pipes/api.js';
import type { JobPipes } from '../pipes/api.js';
import type { JobContext, JobLog, ReadyOutcome, WrappedJob } from './handler.js';
import type { Run } from './run.js';

/** The side of a job's running work a handler acts on (a WorkControl): what JobContext passes on. */
export type HandlerWork = Pick<JobContext, 'speed' | 'signal' | 'progress' | 'setDescription' | 'pausePoint' | 'throttle' | 'sleep' | 'ready' | 'ioError'> & {
  wrap(type: string, params: Record<string, unknown>): Promise<WrappedJob>;
};

export class HandlerContext implements JobContext<Record<string, unknown>> {
  // TypeScript-private, not #private: a handler may derive a context with Object.create (the
  // copy's lanes do), and #private members are not found through a prototype.
  private pipesBound: JobPipes | undefined;

  constructor(
    private readonly work: HandlerWork,
    private readonly run: Run,
    readonly resumed: JobContext['resumed'],
  ) {}

  get id(): string {
    return this.run.id;
  }

  get owner(): string {
    return this.run.owner;
  }

  get type(): string {
    return this.run.type.type;
  }

  get params(): Record<string, unknown> {
    return this.run.params;
  }

  get onError(): OnError {
    return this.run.onError;
  }

  get speed(): number {
    return this.work.speed;
  }

  get signal(): AbortSignal {
    return this.work.signal;
  }

  get log(): JobLog {
    return this.run.log;
  }

  get scratch(): Record<string, unknown> {
    return this.run.scratch;
  }

  /** Bound to the job's cancellation when the handler first looks at them. */
  get pipes(): JobPipes {
    return (this.pipesBound ??= this.run.pipes?.forJob(this.work.signal) ?? NO_PIPES);
  }

  progress(current: number, total: number): void {
    this.work.progress(current, total);
  }

  setDescription(description: string): void {
    this.work.setDescription(description);
  }

  pausePoint(): Promise<void> {
    return this.work.pausePoint();
  }

  throttle(units: number): Promise<void> {
    return this.work.throttle(units);
  }

  sleep(ms: number): Promise<void> {
    return this.work.sleep(ms);
  }

  ready(): Promise<ReadyOutcome> {
    return this.work.ready();
  }

  ioError(operation: 'read' | 'write', error: unknown): Promise<void> {
    return this.work.ioError(operation, error);
  }

  wrap(type: string, params?: Record<string, unknown>): Promise<WrappedJob> {
    return this.work.wrap(type, params ?? {});
  }
}
