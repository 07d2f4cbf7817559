/**
 * The statecharts of jobstate: every job runs on {@link jobMachine}, every group of jobs on
 * {@link transactionMachine}. They import only xstate and do no I/O; provide the work with
 * `machine.provide()`. Exported so that users can generate test paths from them.
 */
export { jobMachine, statusOf } from './job.js';
export type { JobActorRef, JobSnapshot } from './job.js';
export { settingsOf, wireProgress, workInput } from './job-context.js';
export type {
  JobMachineContext,
  JobEmitted,
  JobMachineEvent,
  JobInput,
  JobSettings,
  LifecycleEvent,
  MemberNotice,
  PrepareReport,
  Progress,
  VerbEvent,
  WorkCommand,
  WorkInput,
  WorkOutcome,
  WorkReport,
} from './job-types.js';
export { transactionMachine } from './transaction.js';
export type {
  TransactionActorRef,
  TransactionContext,
  TransactionEvent,
  TransactionInput,
  TransactionSnapshot,
} from './transaction.js';
export { finalizeSettled, restoredWork, softCancelled, transactionSettled, workSyncCommands } from './implies.js';
export type { RestoredWork } from './implies.js';
export { JobTag, TransactionTag } from './tags.js';
export * from './vocabulary.js';
