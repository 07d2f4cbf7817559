/** The job machine's types: what it is started with, holds, is sent, tells its work and emits. */
import type { JobEventName, JobStatus, JobVerb, OnError, RefusalReason } from './vocabulary.js';

/** What a job is started with. */
export interface JobInput {
  id: string;
  owner: string;
  type: string;
  params?: Record<string, unknown>;
  /** @defaultValue true */
  autoFinalize?: boolean;
  /** @defaultValue true */
  autoDismiss?: boolean;
  /** Rate limit; 0 = unlimited. @defaultValue 0 */
  speed?: number;
  /** @defaultValue 'report' */
  onError?: OnError;
  description?: string;
  /**
   * The transaction this job is a member of; that transaction's actor coordinates it.
   * Without one, the job is a transaction of one and coordinates itself.
   */
  txn?: string;
}

/** How the job's work ended, as reported by the work. */
export type WorkOutcome = { ok: true; result?: unknown } | { ok: false; error: string };

export interface JobMachineContext {
  /** What the job was started with, as given (see {@link settingsOf} for the defaults). Never changes. */
  readonly job: Readonly<JobInput>;
  /** Rate limit; 0 = unlimited (set at start, changed by set-speed). */
  speed: number;
  description?: string;
  /** The last progress the work reported (QEMU's ProgressMeter); absent until the first report. */
  progress?: Progress;
  /** The user's share of the pause count (at most one). */
  userPaused: boolean;
  /** Pauses in effect: the user's plus internal ones (error-stop, drain). */
  pauseCount: number;
  /** A cancel request: a soft one only ever stands in ready/standby. */
  cancel: 'none' | 'soft' | 'force';
  /** The work reported convergence (it will enter ready). */
  converged: boolean;
  outcome?: WorkOutcome;
  error?: string;
  /** When the work was started (ms since the epoch); set iff it was ever started (QEMU's job_started). */
  startedAt?: number;
  /** When the job concluded (ms since the epoch). */
  finishedAt?: number;
}

/** A job's start settings with their defaults applied. */
export interface JobSettings {
  id: string;
  owner: string;
  type: string;
  params: Record<string, unknown>;
  autoFinalize: boolean;
  autoDismiss: boolean;
  onError: OnError;
  txn?: string;
}

/** The verbs, as events sent by the service on behalf of a user. */
export type VerbEvent =
  | { type: 'cancel'; force?: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'set-speed'; speed: number }
  | { type: 'complete' }
  | { type: 'finalize' }
  | { type: 'dismiss' };

/** What the work reports. */
export type WorkReport =
  | { type: 'work.progress'; current: number; total: number }
  | { type: 'work.description'; description: string }
  | { type: 'work.ready' }
  | { type: 'work.done'; result?: unknown }
  | { type: 'work.failed'; error: string }
  | { type: 'work.error'; operation: 'read' | 'write'; action: OnError };

/** How the `prepare` action's work ended. */
export type PrepareReport = { type: 'prepare.done' } | { type: 'prepare.failed'; error: string };

/** What the transaction (or whoever creates the job) tells the job. */
export type LifecycleEvent =
  | { type: 'create' }
  | { type: 'start' }
  | { type: 'txn.pending' }
  | { type: 'txn.finalize' }
  | { type: 'txn.commit' }
  | { type: 'txn.abort' }
  | { type: 'txn.conclude' }
  | { type: 'internal.pause' }
  | { type: 'internal.resume' };

/** What a member job tells its transaction. */
export type MemberNotice = {
  type: 'member.waiting' | 'member.aborting' | 'member.stopped' | 'member.finalize' | 'member.prepared' | 'member.dismissed';
  id: string;
};

export type JobMachineEvent = VerbEvent | WorkReport | PrepareReport | LifecycleEvent;

/** What the job's work is told. */
export type WorkCommand =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'cancel'; force: boolean }
  | { type: 'complete' }
  | { type: 'set-speed'; speed: number };

/** What the work and the prepare step are started with. */
export interface WorkInput {
  id: string;
  owner: string;
  type: string;
  params: Record<string, unknown>;
  speed: number;
  onError: OnError;
  /** A pause already in effect when the work starts: park at the first pause point. */
  paused: boolean;
}

/** How far the work is, in units of its choice: `current` of `total` (`current` never goes back). */
export interface Progress {
  current: number;
  total: number;
}

/** Progress, as the wire writes it. */
export type WireProgress = { 'current-progress': number; 'total-progress': number };

/** Everything the job emits: the wire's events (data without the envelope) and refusals. */
export type JobEmitted =
  | { type: typeof JobEventName.statusChange; data: { id: string; owner: string; status: JobStatus } }
  | { type: typeof JobEventName.ready; data: { id: string; owner: string; type: string; speed: number } & WireProgress }
  | { type: typeof JobEventName.pending; data: { id: string; owner: string; type: string } }
  | {
      type: typeof JobEventName.completed;
      data: { id: string; owner: string; type: string; speed: number; error?: string } & WireProgress;
    }
  | { type: typeof JobEventName.cancelled; data: { id: string; owner: string; type: string; speed: number } & WireProgress }
  | {
      type: typeof JobEventName.error;
      data: { id: string; owner: string; operation: 'read' | 'write'; action: OnError };
    }
  | { type: typeof JobEventName.progress; data: { id: string; owner: string; description?: string } & WireProgress }
  | { type: 'verb.refused'; verb: JobVerb; status: JobStatus; reason: RefusalReason; message: string };

export interface RefuseParams {
  status: JobStatus;
  verb: JobVerb;
  reason: RefusalReason;
}
