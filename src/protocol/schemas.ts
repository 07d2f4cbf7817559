/**
 * The zod schemas of protocol v1: every command's arguments, every reply and every event.
 * The service validates with them, the SDK types its calls with them, and
 * `src/docs/schemas.ts` publishes them as JSON Schema.
 */
import { z } from 'zod';
import { JOB_EVENT_NAMES, JOB_STATUSES, OnError } from '../../machines/index.js';
import type { JobEventName } from '../../machines/index.js';
import { ACCOUNT_RE, Command, JOB_ID_RE } from './subjects.js';

const jobId = z.string().regex(JOB_ID_RE, { error: (iss) => `Invalid job ID '${clip(String(iss.input))}'` });
/** Echo at most 128 characters of a caller's input in an error text. */
function clip(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}…` : text;
}

/** An owner named in arguments; any string, since a bad one simply owns no job. */
const owner = z.string().max(64);
const speed = z
  .number()
  .int()
  .nonnegative({ error: "Parameter 'speed' expects a non-negative value" })
  .max(Number.MAX_SAFE_INTEGER);
const status = z.enum(JOB_STATUSES as [string, ...string[]]);

/**
 * job-start's `pipes`: the input files the caller will upload, in order, and how the output
 * is read (an extension of the contract; docs/protocol.md, Pipes).
 */
export const PipesArg = z.strictObject({
  inputs: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(255).optional().describe('Shown in errors and logs'),
        size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional().describe('Announced size in bytes, checked at the end'),
      }),
    )
    .optional()
    .describe('At most JOBS_PIPE_MAX_INPUTS entries (default 16)'),
  output: z.enum(['stream', 'buffer']).optional().describe("'stream': the job waits for its reader; 'buffer' (default): it never does"),
});
export type PipesArg = z.infer<typeof PipesArg>;

/** job-start's arguments (also each action of a transaction). */
export const JobStartArgs = z.strictObject({
  type: z.string().min(1).max(64),
  id: jobId.optional(),
  params: z.record(z.string(), z.unknown()).optional().describe('At most JOBS_MAX_PARAMS_BYTES bytes as JSON (default 65536)'),
  'auto-finalize': z.boolean().optional(),
  'auto-dismiss': z.boolean().optional(),
  speed: speed.optional(),
  'on-error': z.enum([OnError.report, OnError.stop, OnError.ignore]).optional(),
  description: z.string().optional().describe('At most JOBS_MAX_DESCRIPTION characters (default 1024)'),
  pipes: PipesArg.optional(),
});
export type JobStartArgs = z.infer<typeof JobStartArgs>;

export const TransactionArgs = z.strictObject({
  actions: z.array(z.unknown()).min(1).max(256),
  properties: z.strictObject({ 'completion-mode': z.enum(['individual', 'grouped']).optional() }).optional(),
});
export type TransactionArgs = z.infer<typeof TransactionArgs>;

/** The arguments of the verbs that take only a job. */
export const JobRef = z.strictObject({ id: z.string(), owner: owner.optional() });
export type JobRef = z.infer<typeof JobRef>;

export const JobCancelArgs = z.strictObject({ id: z.string(), owner: owner.optional(), force: z.boolean().optional() });
export type JobCancelArgs = z.infer<typeof JobCancelArgs>;

/** set-speed takes any integer: a negative one is refused by the job, after the verb table. */
export const JobSetSpeedArgs = z.strictObject({
  id: z.string(),
  owner: owner.optional(),
  speed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
});
export type JobSetSpeedArgs = z.infer<typeof JobSetSpeedArgs>;

/** How query-jobs orders its list: by creation, newest first (the default) or oldest first. */
export const QueryOrder = { newest: 'newest', oldest: 'oldest' } as const;
export type QueryOrder = (typeof QueryOrder)[keyof typeof QueryOrder];

/** A page's bounds: whole numbers up to 2^31 - 1. */
const pageBound = z.number().int().nonnegative().max(2_147_483_647);

/**
 * query-jobs' arguments: the filters, the order, and paging (TrueNAS's `order_by`, `limit`,
 * `offset`, `count`). With `limit` or `offset` the reply is a page ({@link QueryPage}); without
 * them it is the whole list, as in v1.
 */
export const QueryJobsArgs = z.strictObject({
  owner: owner.optional(),
  status: status.optional(),
  type: z.string().max(64).optional(),
  'order-by': z.enum([QueryOrder.newest, QueryOrder.oldest]).optional().describe("By creation: 'newest' first (default) or 'oldest' first"),
  limit: pageBound.optional().describe('At most this many jobs in the page (fewer if more would not fit in max_payload); 0: only the count'),
  offset: pageBound.optional().describe('Skip this many matching jobs (default 0)'),
});
export type QueryJobsArgs = z.infer<typeof QueryJobsArgs>;

export const JobWaitArgs = z.strictObject({
  id: z.string(),
  owner: owner.optional(),
  'timeout-ms': z.number().int().nonnegative().max(2_147_483_647).optional(),
});
export type JobWaitArgs = z.infer<typeof JobWaitArgs>;

/** A file name a download is saved under: one path component, printable, no quotes. */
const filename = z
  .string()
  .min(1)
  .max(255)
  .refine((f) => !/[/\\"\u0000-\u001f\u007f]/.test(f) && f !== '.' && f !== '..', {
    error: (iss) => `Parameter 'filename' is invalid: '${clip(String(iss.input))}' is not a plain file name (no '/', '\\', quotes or control characters)`,
  });

/** job-download: job-start's arguments, the name the output is saved under, and whether to serve it only once the job succeeded. */
export const JobDownloadArgs = JobStartArgs.extend({
  pipes: PipesArg.omit({ output: true }).optional().describe("The job's inputs, if any; its output is read through the URL"),
  filename: filename.describe('The name the download is saved under (Content-Disposition)'),
  buffered: z.boolean().optional().describe('false (default): the bytes stream while the job runs; true: served once the job succeeded'),
});
export type JobDownloadArgs = z.infer<typeof JobDownloadArgs>;

/** job-download-log: a URL for the job's log. */
export const JobDownloadLogArgs = z.strictObject({
  id: z.string(),
  owner: owner.optional(),
  filename: filename.optional().describe("@defaultValue '<id>.log'"),
});
export type JobDownloadLogArgs = z.infer<typeof JobDownloadLogArgs>;

/** The arguments schema of every command. */
export const commandArgs = {
  [Command.jobStart]: JobStartArgs,
  [Command.transaction]: TransactionArgs,
  [Command.jobPause]: JobRef,
  [Command.jobResume]: JobRef,
  [Command.jobCancel]: JobCancelArgs,
  [Command.jobComplete]: JobRef,
  [Command.jobFinalize]: JobRef,
  [Command.jobDismiss]: JobRef,
  [Command.jobSetSpeed]: JobSetSpeedArgs,
  [Command.queryJobs]: QueryJobsArgs,
  [Command.jobWait]: JobWaitArgs,
  [Command.jobLog]: JobRef,
  [Command.jobDownload]: JobDownloadArgs,
  [Command.jobDownloadLog]: JobDownloadLogArgs,
  [Command.queryJobTypes]: z.strictObject({}),
} as const satisfies Record<Command, z.ZodType>;

/** A job as query-jobs and job-wait report it: QEMU's JobInfo, then the extensions. */
export const JobInfo = z.object({
  id: z.string(),
  type: z.string(),
  status,
  'current-progress': z.number(),
  'total-progress': z.number(),
  error: z.string().optional(),
  owner: z.string().regex(ACCOUNT_RE),
  'auto-finalize': z.boolean(),
  'auto-dismiss': z.boolean(),
  speed: z.number(),
  txn: z.string().optional(),
  description: z.string().optional(),
  result: z.unknown().optional(),
  'time-started': z.string().optional(),
  'time-finished': z.string().optional(),
  params: z.record(z.string(), z.unknown()).optional().describe("The job's params, secret ones masked"),
  'logs-excerpt': z.string().optional().describe("The first and last lines of the job's own log"),
});
export type JobInfo = z.infer<typeof JobInfo>;

/** A page of query-jobs (asked with `limit` or `offset`). */
export const QueryPage = z.object({
  jobs: z.array(JobInfo),
  count: z.number().int().describe('How many jobs match the filters in all'),
  'next-offset': z.number().int().optional().describe("The next page's offset; absent on the last page"),
});
export type QueryPage = z.infer<typeof QueryPage>;

const Empty = z.strictObject({});
/** The `return` value of every command. */
export const commandReturns = {
  [Command.jobStart]: z.object({ id: z.string() }),
  [Command.transaction]: z.object({ jobs: z.array(z.string()) }),
  [Command.jobPause]: Empty,
  [Command.jobResume]: Empty,
  [Command.jobCancel]: Empty,
  [Command.jobComplete]: Empty,
  [Command.jobFinalize]: Empty,
  [Command.jobDismiss]: Empty,
  [Command.jobSetSpeed]: Empty,
  [Command.queryJobs]: z.union([z.array(JobInfo), QueryPage]).describe('The list without limit and offset; a page with either'),
  [Command.jobWait]: JobInfo,
  [Command.jobLog]: z.object({
    lines: z.array(z.string()).describe('The lines kept in memory: all of them unless the log grew very long'),
    count: z.number().int().describe('How many lines the job wrote'),
  }),
  [Command.jobDownload]: z.object({
    id: z.string(),
    url: z.string().describe('/_download/<token>?filename=<filename>: single-use, on the HTTP server (docs/http.md)'),
  }),
  [Command.jobDownloadLog]: z.object({ url: z.string() }),
  [Command.queryJobTypes]: z.array(
    z.object({
      type: z.string(),
      runs: z.enum(['local', 'remote']).describe("'local': in the service's process; 'remote': on remote workers only"),
      params: z.record(z.string(), z.unknown()).describe("The JSON Schema of the type's params (a remote type's: as its workers announce it)"),
    }),
  ),
} as const satisfies Record<Command, z.ZodType>;

export const ErrorReply = z.object({
  error: z.object({ class: z.literal('GenericError'), desc: z.string() }),
});

const Timestamp = z.object({ seconds: z.number().int(), microseconds: z.number().int().min(0).max(999_999) });
const JobKey = { id: z.string(), owner: z.string() };
const Progress = { 'current-progress': z.number(), 'total-progress': z.number() };
const Summary = { ...JobKey, type: z.string(), ...Progress, speed: z.number() };

/** The `data` of every event. */
export const eventData = {
  JOB_STATUS_CHANGE: z.object({ ...JobKey, status }),
  JOB_READY: z.object(Summary),
  JOB_PENDING: z.object({ ...JobKey, type: z.string() }),
  JOB_COMPLETED: z.object({ ...Summary, error: z.string().optional() }),
  JOB_CANCELLED: z.object(Summary),
  JOB_ERROR: z.object({
    ...JobKey,
    operation: z.enum(['read', 'write']),
    action: z.enum([OnError.report, OnError.stop, OnError.ignore]),
  }),
  JOB_PROGRESS: z.object({ ...JobKey, ...Progress, description: z.string().optional() }),
} as const satisfies Record<JobEventName, z.ZodType>;

/** The QMP envelope of one event, as published on `P.evt.<owner>.<id>.<EVENT>`. */
export function eventEnvelope<N extends JobEventName>(name: N) {
  return z.object({ event: z.literal(name), data: eventData[name], timestamp: Timestamp });
}

/** Any event's envelope. */
export const EventEnvelope = z.object({
  event: z.enum(JOB_EVENT_NAMES as [JobEventName, ...JobEventName[]]),
  data: z.looseObject(JobKey),
  timestamp: Timestamp,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
