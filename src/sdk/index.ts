/** The public face of the SDK. */
export { JobsClient } from './client.js';
export { EventStream } from './event-stream.js';
export { JobsError } from './jobs-error.js';
export type { CommandArgs, CommandReturn, ConnectOptions, JobAddress, JobsClientOptions, PageArgs, QueryFilters, StartOptions } from './client.js';
export { Command, subjects } from '../protocol/subjects.js';
export type { EventEnvelope, JobInfo, QueryPage } from '../protocol/schemas.js';
export { PipeError } from '../pipes/wire.js';
export type { DownloadOptions, Sink, Transferred, TransferOptions, UploadOptions } from './pipes.js';
