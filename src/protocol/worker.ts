/**
 * The worker protocol (docs/workers.md): subjects and messages between the service, which
 * keeps every job's statechart, and the remote workers that run the jobs' handlers. Written
 * once here for both sides.
 *
 * - `P.wrk.hb.<worker>`                         worker → services: heartbeat (types, load)
 * - `P.wrk.svc.<svc>`                           service → workers: heartbeat
 * - `P.wrk.to.<worker>.run`                     service → worker: dispatch (request/reply)
 * - `P.wrk.to.<worker>.job.<svc>.<owner>.<id>`  service → worker: commands and finalize hooks
 * - `P.wrk.rpt.<svc>.<worker>.<owner>.<id>`     worker → service: reports and log lines
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { OnError } from '../../machines/index.js';
import { ACCOUNT_RE, JOB_ID_RE } from './subjects.js';

/** Worker ids and service instance ids: one subject token. */
export const NODE_ID_RE = ACCOUNT_RE;

export const workerSubjects = {
  heartbeat: (prefix: string, worker: string) => `${prefix}.wrk.hb.${worker}`,
  heartbeats: (prefix: string) => `${prefix}.wrk.hb.*`,
  serviceBeat: (prefix: string, svc: string) => `${prefix}.wrk.svc.${svc}`,
  serviceBeats: (prefix: string) => `${prefix}.wrk.svc.*`,
  /** Everything sent to one worker. */
  inbox: (prefix: string, worker: string) => `${prefix}.wrk.to.${worker}.>`,
  run: (prefix: string, worker: string) => `${prefix}.wrk.to.${worker}.run`,
  job: (prefix: string, worker: string, svc: string, owner: string, id: string) =>
    `${prefix}.wrk.to.${worker}.job.${svc}.${owner}.${id}`,
  report: (prefix: string, svc: string, worker: string, owner: string, id: string) =>
    `${prefix}.wrk.rpt.${svc}.${worker}.${owner}.${id}`,
  /** Every report to one service instance. */
  reports: (prefix: string, svc: string) => `${prefix}.wrk.rpt.${svc}.>`,
};

/** The tokens after `head` in `subject`, or undefined when it does not start with `head`. */
export function tokensAfter(head: string, subject: string, count: number): string[] | undefined {
  if (!subject.startsWith(head)) return undefined;
  const tokens = subject.slice(head.length).split('.');
  return tokens.length === count && tokens.every((t) => t.length > 0) ? tokens : undefined;
}

/** The finalize hooks a worker can run for a type. */
export const HOOK_NAMES = ['prepare', 'commit', 'abort', 'clean'] as const;
export type HookName = (typeof HOOK_NAMES)[number];

const nodeId = z.string().regex(NODE_ID_RE);
const typeName = z.string().min(1).max(64);

/** A worker's heartbeat. Objects are not strict: a newer peer may add fields. */
export const Heartbeat = z.object({
  worker: nodeId,
  types: z
    .array(
      z.object({
        type: typeName,
        /** Params whose values are masked in JobInfo and logs. */
        secrets: z.array(z.string().max(256)).max(256).default([]),
        /** The finalize hooks the type has. */
        hooks: z.array(z.enum(HOOK_NAMES)).default([]),
        /** The JSON Schema of its params, for query-job-types. */
        params: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(4096),
  /** How many jobs it runs at once. */
  capacity: z.number().int().positive(),
  /** How many jobs it has that have not finished their work (running or waiting for a slot). */
  load: z.number().int().nonnegative(),
  'interval-ms': z.number().int().positive().max(600_000),
  /** The worker is shutting down: send it nothing new. */
  closing: z.boolean().default(false),
});
export type Heartbeat = z.input<typeof Heartbeat>;
export type HeartbeatInfo = z.infer<typeof Heartbeat>;

/** The longest re-attach window a service may announce: one day. */
export const MAX_REATTACH_MS = 86_400_000;
/** The re-attach window of a service that keeps its jobs, unless set otherwise (JOBS_WORKER_REATTACH_MS). */
export const DEFAULT_REATTACH_MS = 30_000;
/**
 * How long a worker keeps a silent service's jobs beyond its timeout, waiting for the service
 * to come back and re-attach them (a service that keeps its jobs across restarts); absent or 0:
 * they are cancelled at the timeout.
 */
const reattachMs = z.number().int().nonnegative().max(MAX_REATTACH_MS).optional();

/** A service instance's heartbeat. */
export const ServiceBeat = z.object({ svc: nodeId, 'interval-ms': z.number().int().positive().max(600_000), 'reattach-ms': reattachMs });
export type ServiceBeat = z.infer<typeof ServiceBeat>;

/** Dispatch: run this job (the work input of the statechart, and who asks). */
export const RunRequest = z.object({
  svc: nodeId,
  id: z.string().regex(JOB_ID_RE),
  owner: z.string().regex(ACCOUNT_RE),
  type: typeName,
  params: z.record(z.string(), z.unknown()),
  speed: z.number().nonnegative(),
  'on-error': z.enum([OnError.report, OnError.stop, OnError.ignore]),
  paused: z.boolean(),
  'reattach-ms': reattachMs,
});
export type RunRequest = z.infer<typeof RunRequest>;

/** What the service sends about one job: the statechart's commands, then its finalize hooks. */
export const JobMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pause') }),
  z.object({ type: z.literal('resume') }),
  z.object({ type: z.literal('complete') }),
  z.object({ type: z.literal('cancel'), force: z.boolean() }),
  z.object({ type: z.literal('set-speed'), speed: z.number().nonnegative() }),
  /** A request: the reply says whether prepare succeeded. */
  z.object({ type: z.literal('prepare') }),
  z.object({ type: z.literal('commit') }),
  z.object({ type: z.literal('abort') }),
  z.object({ type: z.literal('clean') }),
  /** The job is gone from the service: stop its work and forget it. */
  z.object({ type: z.literal('stop') }),
  /**
   * A request from a service that restarted: does this worker still have the job? The reply
   * ({@link AttachReply}) says what the service may have missed while it was away.
   */
  z.object({ type: z.literal('attach') }),
]);
export type JobMessage = z.infer<typeof JobMessage>;

export const LOG_LEVELS = ['info', 'warn', 'error'] as const;

/** What a worker reports about one job: the statechart's `work.*` events, and log lines. */
export const Report = z.discriminatedUnion('type', [
  z.object({ type: z.literal('work.progress'), current: z.number(), total: z.number() }),
  z.object({ type: z.literal('work.description'), description: z.string() }),
  z.object({ type: z.literal('work.ready') }),
  z.object({ type: z.literal('work.done'), result: z.unknown().optional() }),
  z.object({ type: z.literal('work.failed'), error: z.string() }),
  z.object({
    type: z.literal('work.error'),
    operation: z.enum(['read', 'write']),
    action: z.enum([OnError.report, OnError.stop, OnError.ignore]),
  }),
  z.object({
    type: z.literal('log'),
    level: z.enum(LOG_LEVELS),
    message: z.string(),
    fields: z.record(z.string(), z.unknown()).optional(),
  }),
]);
export type Report = z.infer<typeof Report>;

/**
 * The successful reply to `attach`: the job's state on the worker as the reports that rebuild
 * it (the last progress and description, `work.ready` once reported, a `work.error` the job is
 * stopped on, the outcome once the work ended), and the worker's heartbeat.
 */
export const AttachReply = z.object({
  return: z.object({
    reports: z.array(Report).max(16),
    worker: Heartbeat,
  }),
});
export type AttachReply = z.input<typeof AttachReply>;

/** Replies (dispatch, prepare, attach) in the protocol's own shape. */
export type Reply = { return: Record<string, unknown> } | { error: { class: 'GenericError'; desc: string } };
export const OK: Reply = { return: {} };
export const failure = (desc: string): Reply => ({ error: { class: 'GenericError', desc } });
const ReplySchema = z.union([
  z.object({ return: z.unknown() }),
  z.object({ error: z.object({ desc: z.string() }) }),
]);

/** The error text of a reply, undefined for a success; an unreadable reply is an error. */
export function replyError(msg: Msg): string | undefined {
  const reply = decode(ReplySchema, msg.data);
  if (!reply) return 'Invalid reply from the worker';
  return 'error' in reply ? reply.error.desc : undefined;
}

/** Publish unless the connection is closing or closed (late reports and replies have nowhere to go). */
export function send(nc: NatsConnection, subject: string, data: string): void {
  if (!nc.isClosed() && !nc.isDraining()) nc.publish(subject, data);
}

/** Answer a request, unless the connection is closing or closed. */
export function respond(nc: NatsConnection, msg: Msg, reply: Reply): void {
  if (msg.reply) send(nc, msg.reply, JSON.stringify(reply));
}

/** A subscription callback that hands every message to `handle` (errors end the subscription). */
export function onMessage(handle: (msg: Msg) => void): (err: Error | null, msg: Msg) => void {
  return (err, msg) => {
    if (err === null) handle(msg);
  };
}

/** Parse and check a message; undefined when it is not JSON or not of the schema. */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array): z.infer<S> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
