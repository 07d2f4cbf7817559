/**
 * The jobstate client SDK: typed commands, errors and events over NATS.
 *
 * @example
 * const client = await JobsClient.connect({ servers: 'nats://127.0.0.1:4322', user: 'alice' });
 * const { events } = await client.startAndFollow('test', { params: { steps: 5 } });
 * for await (const event of events) console.log(event.event, event.data);
 * await client.close();
 */
import { connect, errors } from '@nats-io/transport-node';
import type { ConnectionOptions, Msg, NatsConnection } from '@nats-io/transport-node';
import type { z } from 'zod';
import type { JobEventName } from '../../machines/index.js';
import type { EventEnvelope, JobInfo, JobStartArgs, QueryPage, commandArgs, commandReturns } from '../protocol/schemas.js';
import { EMBEDDED_URL } from '../nats/embedded.js';
import { Command, DEFAULT_PREFIX, INSTANCE_HEADER, NOT_SERVED_HEADER, subjects } from '../protocol/subjects.js';
import { generateId } from '../service/ids.js';
import { EventStream } from './event-stream.js';
import { decodeReply } from './jobs-error.js';
import { downloadLog, downloadOutput, uploadInput } from './pipes.js';
import type { DownloadOptions, Sink, Transferred, UploadOptions } from './pipes.js';

export type CommandArgs<C extends Command> = z.input<(typeof commandArgs)[C]>;
export type CommandReturn<C extends Command> = z.infer<(typeof commandReturns)[C]>;

export interface JobsClientOptions {
  /** The account the requests are made as: the `<caller>` of command subjects. */
  user: string;
  /** @defaultValue 'jobs' */
  prefix?: string;
  /** How long a command may take. @defaultValue 10000 */
  timeoutMs?: number;
}

export interface ConnectOptions extends JobsClientOptions {
  /** The NATS server(s). @defaultValue 'nats://127.0.0.1:4322' (the embedded default of `npm start`) */
  servers?: string | string[];
  /** Password for `user`, when the server requires authentication. */
  pass?: string;
  /** More nats.js connection options (credentials, TLS…). */
  connection?: ConnectionOptions;
}

export type StartOptions = Omit<JobStartArgs, 'type'>;
/** query-jobs' filters and order (`owner`, `status`, `type`, `order-by`). */
export type QueryFilters = Omit<CommandArgs<typeof Command.queryJobs>, 'limit' | 'offset'>;
/** A page's bounds: `limit` (0: only the count) and `offset`. */
export interface PageArgs {
  limit?: number;
  offset?: number;
}
export interface JobAddress {
  /** An admin addresses another owner's job. */
  owner?: string;
}

export class JobsClient implements AsyncDisposable {
  readonly prefix: string;
  readonly user: string;
  readonly #timeout: number;
  readonly #owned: boolean;
  /** The instance that serves this user's jobs, as the last reply said: commands go straight to it. */
  #holder: string | undefined;

  /** Wrap a connection you manage; {@link close} leaves it open. */
  constructor(
    readonly nc: NatsConnection,
    opts: JobsClientOptions,
    owned = false,
  ) {
    this.user = opts.user;
    this.prefix = opts.prefix ?? DEFAULT_PREFIX;
    this.#timeout = opts.timeoutMs ?? 10_000;
    this.#owned = owned;
  }

  /** Connect as `user`, with replies on the user's own inbox prefix (`_INBOX_<user>`). */
  static async connect(opts: ConnectOptions): Promise<JobsClient> {
    const nc = await connect({
      servers: opts.servers ?? EMBEDDED_URL,
      name: `jobstate-client-${opts.user}`,
      inboxPrefix: `_INBOX_${opts.user}`,
      ...(opts.pass !== undefined && { user: opts.user, pass: opts.pass }),
      ...opts.connection,
    });
    return new JobsClient(nc, opts, true);
  }

  /**
   * Send one command; resolves to its `return`, rejects with a {@link JobsError}. With several
   * instances, once a reply names the one serving this user's jobs (`Jobs-Instance`), commands
   * go straight to it; if nobody listens there any more (it stopped), the command is sent on the
   * public subject instead, and an error (a timeout) sends the next one there.
   */
  async request<C extends Command>(command: C, args: CommandArgs<C>, timeoutMs = this.#timeout): Promise<CommandReturn<C>> {
    const payload = JSON.stringify(args);
    const holder = this.#holder;
    const msg =
      (holder === undefined ? undefined : await this.#straight(holder, command, payload, timeoutMs)) ??
      (await this.nc.request(subjects.command(this.prefix, this.user, command), payload, { timeout: timeoutMs }));
    this.#holder = msg.headers?.get(INSTANCE_HEADER) || undefined;
    const id = (args as { id?: unknown }).id;
    return decodeReply(command, msg, typeof id === 'string' ? id : undefined) as CommandReturn<C>;
  }

  /**
   * `command` sent straight to instance `holder`; undefined when it was not taken there (nobody
   * listens any more, or it answered "not served" as it stops): nothing was done, so it may go
   * on the public subject. Any other failure (a timeout) is thrown, and the next command goes
   * on the public subject.
   */
  async #straight(holder: string, command: Command, payload: string, timeoutMs: number): Promise<Msg | undefined> {
    try {
      const msg = await this.nc.request(subjects.commandTo(this.prefix, this.user, command, holder), payload, { timeout: timeoutMs });
      if (!msg.headers?.has(NOT_SERVED_HEADER)) return msg;
    } catch (err) {
      if (this.#holder === holder) this.#holder = undefined;
      if (!(err instanceof errors.RequestError && err.isNoResponders())) throw err;
    }
    if (this.#holder === holder) this.#holder = undefined;
    return undefined;
  }

  /** Start a job; resolves to its id once it is running. */
  async start(type: string, opts: StartOptions = {}): Promise<string> {
    return (await this.request(Command.jobStart, { type, ...opts })).id;
  }

  /**
   * Start a job and follow its events from its very first (`created`): the subscription is
   * made before the start, so none can be missed, whatever the job's speed. The id is
   * `opts.id`, or a fresh one of the service's form (`job-` and 16 base-36 characters). The
   * events end after the job's last one: status `null` (dismissed), or `concluded` when it was
   * started with `auto-dismiss: false`. If the start fails, this rejects (with a JobsError).
   * @example const { id, events } = await jobs.startAndFollow('test', { params: { steps: 0 } });
   */
  async startAndFollow(type: string, opts: StartOptions = {}): Promise<{ id: string; events: AsyncIterable<EventEnvelope> & { close(): void } }> {
    const id = opts.id ?? generateId('job');
    const stream = this.events({ id });
    try {
      await stream.ready;
      await this.start(type, { ...opts, id });
    } catch (err) {
      stream.close();
      throw err;
    }
    const last = opts['auto-dismiss'] === false ? 'concluded' : 'null';
    const events = {
      close: () => stream.close(),
      async *[Symbol.asyncIterator](): AsyncIterator<EventEnvelope> {
        try {
          for await (const e of stream) {
            yield e;
            if (e.event === 'JOB_STATUS_CHANGE' && (e.data as { status?: string }).status === last) return;
          }
        } finally {
          stream.close();
        }
      },
    };
    return { id, events };
  }

  /** Start several jobs at once; `grouped` makes them succeed or fail together. */
  async transaction(actions: JobStartArgs[], mode: 'individual' | 'grouped' = 'individual'): Promise<string[]> {
    return (await this.request(Command.transaction, { actions, properties: { 'completion-mode': mode } })).jobs;
  }

  pause(id: string, at: JobAddress = {}) {
    return this.request(Command.jobPause, { id, ...at });
  }
  resume(id: string, at: JobAddress = {}) {
    return this.request(Command.jobResume, { id, ...at });
  }
  /** Cancel; `force: false` is a soft cancel (a ready job completes without its final step). */
  cancel(id: string, opts: JobAddress & { force?: boolean } = {}) {
    return this.request(Command.jobCancel, { id, ...opts });
  }
  complete(id: string, at: JobAddress = {}) {
    return this.request(Command.jobComplete, { id, ...at });
  }
  finalize(id: string, at: JobAddress = {}) {
    return this.request(Command.jobFinalize, { id, ...at });
  }
  dismiss(id: string, at: JobAddress = {}) {
    return this.request(Command.jobDismiss, { id, ...at });
  }
  setSpeed(id: string, speed: number, at: JobAddress = {}) {
    return this.request(Command.jobSetSpeed, { id, speed, ...at });
  }

  /**
   * Every job you may see that matches `filters`, newest first (or as `order-by` says),
   * however many: read page by page (see {@link jobs}).
   */
  async query(filters: QueryFilters = {}): Promise<JobInfo[]> {
    const all: JobInfo[] = [];
    for await (const job of this.jobs(filters)) all.push(job);
    return all;
  }

  /**
   * One page of query-jobs: at most `limit` jobs from `offset` (fewer if more would not fit
   * in the server's max_payload), the total `count`, and `next-offset` unless it is the last.
   *
   * @example
   * const { count } = await client.queryPage({ status: 'running', limit: 0 }); // just count
   */
  async queryPage(args: QueryFilters & PageArgs = {}): Promise<QueryPage> {
    const paged = args.limit === undefined && args.offset === undefined ? { ...args, offset: 0 } : args;
    return (await this.request(Command.queryJobs, paged)) as QueryPage;
  }

  /**
   * The jobs you may see that match `filters`, page after page (`pageSize` jobs a request;
   * default: as many as fit in a reply). Offsets count from the newest job, so jobs started
   * meanwhile shift the pages: a job seen already is not yielded again, and one dismissed
   * meanwhile may make a job be missed (order-by `oldest` avoids the first).
   */
  async *jobs(filters: QueryFilters = {}, opts: { pageSize?: number } = {}): AsyncGenerator<JobInfo> {
    if (opts.pageSize !== undefined && !(opts.pageSize >= 1)) throw new RangeError('pageSize must be at least 1');
    const seen = new Set<string>();
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page: QueryPage = await this.queryPage({ ...filters, offset, ...(opts.pageSize !== undefined && { limit: opts.pageSize }) });
      for (const job of page.jobs) {
        const key = `${job.owner}\u0000${job.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        yield job;
      }
      offset = page['next-offset'];
    }
  }

  /** Wait until the job concludes; resolves to its final JobInfo. */
  wait(id: string, opts: JobAddress & { timeoutMs?: number } = {}): Promise<JobInfo> {
    const { timeoutMs, ...at } = opts;
    const args = { id, ...at, ...(timeoutMs !== undefined && { 'timeout-ms': timeoutMs }) };
    // The reply comes when the job concludes: give the request room beyond the job's own timeout.
    return this.request(Command.jobWait, args, timeoutMs === undefined ? 2_147_483_647 : timeoutMs + this.#timeout);
  }

  /**
   * The job's own log (`job-log`): the lines kept in memory (all of them unless the log grew
   * very long) and how many lines the job wrote. Secret params are masked.
   */
  log(id: string, at: JobAddress = {}): Promise<CommandReturn<typeof Command.jobLog>> {
    return this.request(Command.jobLog, { id, ...at });
  }

  /**
   * Upload input `index` (from 0) of a job started with `pipes.inputs` (docs/protocol.md, Pipes).
   * Resolves once all of it is stored; the job checks its digest as it reads.
   */
  upload(id: string, index: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts?: UploadOptions): Promise<Transferred> {
    return uploadInput(this, id, index, source, opts);
  }

  /**
   * Download a job's output into `sink`, while it runs or after it concluded (within the
   * retention time). Rejects with the job's error if it failed or was cancelled.
   */
  download(id: string, sink: Sink, opts?: DownloadOptions): Promise<Transferred> {
    return downloadOutput(this, id, sink, opts);
  }

  /** Download a job's whole log as written so far (with `follow`, until the job concludes). */
  downloadLog(id: string, sink: Sink, opts?: DownloadOptions & { follow?: boolean }): Promise<Transferred | undefined> {
    return downloadLog(this, id, sink, opts);
  }

  /**
   * Subscribe to job events; omitted filters match anything. Events of one job arrive in order.
   * Ready once `await stream.ready` resolves (the subscription is registered with the server).
   * Where the broker enforces permissions, another owner's events are refused: `ready` and
   * the iteration reject with nats.js's PermissionViolationError.
   */
  events(filter: { owner?: string; id?: string; event?: JobEventName } = {}): EventStream {
    const sub = this.nc.subscribe(subjects.events(this.prefix, { owner: this.user, ...filter }));
    return new EventStream(sub, this.nc.flush());
  }

  /** Close the connection if this client opened it. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#owned && !this.nc.isClosed()) await this.nc.drain();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
