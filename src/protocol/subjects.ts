/**
 * Subjects of wire protocol v1, written once for the service, the SDK and the CLI.
 *
 * - commands: `P.cmd.<caller>.<command>` (request/reply), or `P.cmd.<caller>.<command>.<instance>`
 *   straight to the instance that serves the caller's jobs (as a reply's `Jobs-Instance` said)
 * - events:   `P.evt.<owner>.<id>.<EVENT>`
 * - internal (the service's own user only): `P.int.i.<instance>.<n>.<command>` (a command of
 *   partition n forwarded to the instance holding its lease), `P.int.query` (admin
 *   query-jobs, gathered)
 */
import type { JobEventName } from '../../machines/index.js';

/** The command names of protocol v1. */
export const Command = {
  jobStart: 'job-start',
  transaction: 'transaction',
  jobPause: 'job-pause',
  jobResume: 'job-resume',
  jobCancel: 'job-cancel',
  jobComplete: 'job-complete',
  jobFinalize: 'job-finalize',
  jobDismiss: 'job-dismiss',
  jobSetSpeed: 'job-set-speed',
  queryJobs: 'query-jobs',
  jobWait: 'job-wait',
  /** An extension of the contract: the job's own log. */
  jobLog: 'job-log',
  /** Extensions for HTTP (TrueNAS's core.download and core.job_download_logs): download URLs. */
  jobDownload: 'job-download',
  jobDownloadLog: 'job-download-log',
  /** An extension of the contract: the job types the deployment runs, with their params' JSON Schema. */
  queryJobTypes: 'query-job-types',
} as const;
export type Command = (typeof Command)[keyof typeof Command];
export const COMMANDS = Object.values(Command) as readonly Command[];

/** Account names (callers and owners) as they may stand in a subject token. */
export const ACCOUNT_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Job ids. */
export const JOB_ID_RE = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
/** {@link JOB_ID_RE} in words. */
export const JOB_ID_RULE = 'a job ID starts with a letter and has up to 128 letters, digits, _ and -';

/** The header a forwarded command carries its caller in; trusted on internal subjects only. */
export const CALLER_HEADER = 'Jobs-Caller';
/**
 * Set on the answer of an instance that does not serve the partition a command was forwarded
 * to (any more): nothing was done, the forwarding instance tries again.
 */
export const NOT_SERVED_HEADER = 'Jobs-Not-Served';
/**
 * On a command forwarded by an instance that is stopping: the client's reply subject. The
 * instance serving the partition acknowledges the forwarded request at once and answers the
 * client there itself (a client's job-wait handed over).
 */
export const REPLY_TO_HEADER = 'Jobs-Reply-To';

/**
 * On the replies of the instance that serves the caller's own jobs, when other instances share
 * the prefix: its id. The caller's next commands may go straight to it,
 * `P.cmd.<caller>.<command>.<instance>`, without the forwarding hop (docs/protocol.md, Direct
 * commands). Not on an admin's replies, nor when one instance serves everything.
 */
export const INSTANCE_HEADER = 'Jobs-Instance';

/** @defaultValue 'jobs' */
export const DEFAULT_PREFIX = 'jobs';

export const subjects = {
  /** The subject a caller sends a command to. */
  command: (prefix: string, caller: string, command: Command) => `${prefix}.cmd.${caller}.${command}`,
  /** The subject a caller sends a command to, straight to instance `instance` ({@link INSTANCE_HEADER}). */
  commandTo: (prefix: string, caller: string, command: Command, instance: string) => `${prefix}.cmd.${caller}.${command}.${instance}`,
  /** What instance `instance` listens on for the commands sent straight to it. */
  commandToFilter: (prefix: string, instance: string) => `${prefix}.cmd.*.*.${instance}`,
  /** The command of a subject made by {@link commandTo}, or undefined when it names none. */
  commandOfDirect: (prefix: string, subject: string): Command | undefined => {
    const command = subject.split('.').at(-2);
    return subject.startsWith(`${prefix}.cmd.`) && (COMMANDS as readonly string[]).includes(command ?? '') ? (command as Command) : undefined;
  },
  /** The subject the service listens on for one command, from every caller. */
  commandFilter: (prefix: string, command: Command) => `${prefix}.cmd.*.${command}`,
  /** The subject one event of one job is published on. */
  event: (prefix: string, owner: string, id: string, name: JobEventName) => `${prefix}.evt.${owner}.${id}.${name}`,
  /**
   * A subscription filter for events; omitted parts match anything.
   * @example subjects.events('jobs', { owner: 'alice' }) // 'jobs.evt.alice.*.*'
   */
  events: (prefix: string, f: { owner?: string; id?: string; event?: JobEventName } = {}) =>
    `${prefix}.evt.${f.owner ?? '*'}.${f.id ?? '*'}.${f.event ?? '*'}`,
  /** A command of partition `partition` forwarded to instance `instance` (which holds its lease). */
  forward: (prefix: string, instance: string, partition: number, command: Command) => `${prefix}.int.i.${instance}.${partition}.${command}`,
  /** What instance `instance` listens on for forwarded commands, of every partition. */
  forwardFilter: (prefix: string, instance: string) => `${prefix}.int.i.${instance}.>`,
  /** The partition and command of a command forwarded to `instance`, or undefined when the subject is not one. */
  forwardedOf: (prefix: string, instance: string, subject: string): { partition: number; command: Command } | undefined => {
    const head = `${prefix}.int.i.${instance}.`;
    if (!subject.startsWith(head)) return undefined;
    const [n, command, ...rest] = subject.slice(head.length).split('.');
    const partition = Number(n);
    if (rest.length > 0 || !/^\d{1,9}$/.test(n ?? '') || !(COMMANDS as readonly string[]).includes(command ?? '')) return undefined;
    return { partition, command: command as Command };
  },
  /** Admin query-jobs across instances: every instance answers for the partitions it serves. */
  query: (prefix: string) => `${prefix}.int.query`,
  /** The caller token of a command subject, or undefined when the subject is not one. */
  callerOf: (prefix: string, subject: string): string | undefined => {
    const head = `${prefix}.cmd.`;
    if (!subject.startsWith(head)) return undefined;
    const rest = subject.slice(head.length);
    const dot = rest.indexOf('.');
    return dot > 0 ? rest.slice(0, dot) : undefined;
  },
};

/**
 * The reply subjects the service answers into: a client's inbox (`_INBOX.<…>`, or
 * `_INBOX_<name>.<…>` as the SDK sets it per user) or the `_R_.<…>` subject nats-server
 * makes for a request that crossed accounts (nats-auth.conf). Tokens are plain (no wildcards,
 * no empty tokens). Anything else — the job store's `$KV.…`, an event subject — is not a
 * reply subject the service will publish into (docs/protocol.md, Replies).
 */
const INBOX_REPLY_RE = /^(?:_INBOX|_INBOX_[A-Za-z0-9_-]+|_R_)(?:\.[^.*>\s]+)+$/;

export function isInboxReply(reply: string): boolean {
  return INBOX_REPLY_RE.test(reply);
}
