/** The public face of the worker SDK: run job types for a jobstate service over NATS (docs/workers.md). */
export { JobWorker } from './worker.js';
export type { JobWorkerOptions } from './worker.js';
export type { JobTypeList } from './worker-types.js';
export { JobCancelledError, defineJob } from '../runtime/handler.js';
export type { FinalizeContext, JobContext, JobHandler, JobHooks, JobLog, JobOptions, JobType, ReadyOutcome } from '../runtime/handler.js';
export { JobTypes } from '../runtime/registry.js';
