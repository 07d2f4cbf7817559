/**
 * The service's pipes: one JetStream stream per owner (created on the owner's first job with
 * pipes), each job's {@link JobPipeSet}, and retention — a job's inputs go when it concludes,
 * its output a retention time later (and the stream's max age is the backstop after a restart).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { JobPipeSet } from './job-pipes.js';
import { LogPipe } from './log-pipe.js';
import { PipeName, inputPipe, pipeStream, pipeSubjects } from './names.js';
import type { PipePlan } from './plan.js';
import { resolvePipeSettings } from './settings.js';
import type { PipeSettings } from './settings.js';
import { PipeError } from './wire.js';
import { PipeWriter } from './writer.js';
import { ownedKey as key } from '../protocol/owned-key.js';

export interface PipeHubOptions {
  nc: NatsConnection;
  prefix: string;
  logger: Logger;
  settings?: Partial<PipeSettings>;
  /** Counts the bytes through jobs' pipes (the service's metrics). */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
}

export class PipeHub {
  readonly settings: PipeSettings;
  readonly #onBytes: PipeHubOptions['onBytes'];
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #js;
  #jsm: Promise<JetStreamManager> | undefined;
  /** Owners whose stream exists (or is being made). */
  readonly #streams = new Map<string, Promise<void>>();
  /** Jobs whose pipes are live, with the promise that they are ready. */
  readonly #jobs = new Map<string, { set: JobPipeSet; ready: Promise<void> }>();
  /** Jobs whose log has lines in its log pipe. */
  readonly #logs = new Map<string, LogPipe>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(opts: PipeHubOptions) {
    this.#nc = opts.nc;
    this.#prefix = opts.prefix;
    this.#logger = opts.logger;
    this.settings = resolvePipeSettings(opts.settings);
    this.#js = jetstream(opts.nc);
    this.#onBytes = opts.onBytes;
  }

  /**
   * The pipes of a job that starts now: ready once the owner's stream exists and whatever an
   * earlier job of the same id left there is gone (before job-start answers, so nothing the
   * caller sends next is lost).
   */
  open(owner: string, id: string, plan: PipePlan): JobPipeSet {
    const logger = this.#logger.child({ job: id, owner });
    const ready = this.#stream(owner, logger).then(() => this.#purge(owner, pipeSubjects.job(this.#prefix, owner, id)));
    ready.catch((err: unknown) => logger.error({ err }, 'pipes unavailable'));
    const set = new JobPipeSet(
      {
        nc: this.#nc,
        js: this.#js,
        prefix: this.#prefix,
        settings: this.settings,
        logger,
        ready,
        purge: (pipe) => this.#purge(owner, pipeSubjects.data(this.#prefix, owner, id, pipe)),
        ...(this.#onBytes && { onBytes: this.#onBytes }),
      },
      owner,
      id,
      plan,
    );
    this.#jobs.get(key(owner, id))?.set.conclude('replaced by a new job with the same id').catch(() => undefined);
    this.#jobs.set(key(owner, id), { set, ready });
    logger.info({ inputs: plan.inputs.length, ...(plan.output !== undefined && { output: plan.output }) }, 'pipes opened');
    return set;
  }

  /** Resolves once the job's pipes are ready (or cannot be: the job then fails with the reason). */
  async ready(owner: string, id: string): Promise<void> {
    await this.#jobs.get(key(owner, id))?.ready.catch(() => undefined);
  }

  /**
   * Where every line of a job's log goes to be copied into its log pipe, from its first line
   * on (a job that writes none costs nothing): given to the job's log as it is made.
   */
  logLines(owner: string, id: string): (line: string) => void {
    return (line) => {
      const k = key(owner, id);
      let pipe = this.#logs.get(k);
      if (!pipe) {
        const logger = this.#logger.child({ job: id, owner });
        pipe = new LogPipe(async () => {
          // What an earlier job of the same id left goes first (a job with pipes does that as it opens them).
          const entry = this.#jobs.get(k);
          if (entry) await entry.ready;
          else {
            await this.#stream(owner, logger);
            await this.#purge(owner, pipeSubjects.data(this.#prefix, owner, id, PipeName.log));
          }
          return new PipeWriter({
            nc: this.#nc,
            js: this.#js,
            subject: pipeSubjects.data(this.#prefix, owner, id, PipeName.log),
            readSubject: pipeSubjects.read(this.#prefix, owner, id, PipeName.log),
            label: 'Log',
            chunkBytes: Math.min(this.settings.chunkBytes, (this.#nc.info?.max_payload ?? this.settings.chunkBytes) - 1024),
            ...(this.#onBytes && { onBytes: this.#onBytes.bind(null, 'out') }),
          });
        }, logger);
        this.#logs.set(k, pipe);
      }
      pipe.line(line);
    };
  }

  /** The job concluded: end its output with its outcome and its log; drop its inputs now and the rest after the retention time. */
  concluded(owner: string, id: string, error: string | undefined): void {
    const k = key(owner, id);
    const entry = this.#jobs.get(k);
    const log = this.#logs.get(k);
    if (!entry && !log) return;
    this.#jobs.delete(k);
    this.#logs.delete(k);
    const logger = this.#logger.child({ job: id, owner });
    void (async () => {
      try {
        await log?.end();
        if (entry) {
          await entry.ready;
          await entry.set.conclude(error);
          for (const [index] of entry.set.plan.inputs.entries()) {
            await this.#purge(owner, pipeSubjects.data(this.#prefix, owner, id, inputPipe(index)));
          }
        }
      } catch (err) {
        logger.warn({ err }, 'pipes could not be ended');
      }
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        // Unless a new job of the same id has the subjects now.
        if (this.#jobs.has(k) || this.#logs.has(k)) return;
        this.#purge(owner, pipeSubjects.job(this.#prefix, owner, id)).then(
          () => logger.info('pipe data removed after the retention time'),
          (err: unknown) => logger.warn({ err }, 'pipe data could not be removed'),
        );
      }, this.settings.retentionMs);
      timer.unref();
      this.#timers.add(timer);
    })();
  }

  /**
   * The job is served by another instance now (its partition moved): forget its pipes here
   * without a word to the stream — no end written, nothing purged: its data and its end are
   * the next instance's (its work here was stopped, its readers with it).
   */
  dropped(owner: string, id: string): void {
    const k = key(owner, id);
    this.#jobs.delete(k);
    this.#logs.delete(k);
  }

  /** Stop the retention timers (the stream's max age removes what they would have). */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #manager(): Promise<JetStreamManager> {
    this.#jsm ??= jetstreamManager(this.#nc);
    this.#jsm.catch(() => (this.#jsm = undefined));
    return this.#jsm;
  }

  /** Make sure `owner`'s stream exists with the current settings. */
  #stream(owner: string, logger: Logger): Promise<void> {
    let made = this.#streams.get(owner);
    if (!made) {
      made = this.#makeStream(owner, logger);
      this.#streams.set(owner, made);
      made.catch(() => this.#streams.delete(owner));
    }
    return made;
  }

  /** `logger`: that of the job that needs the stream first (job id and owner bound). */
  async #makeStream(owner: string, logger: Logger): Promise<void> {
    const name = pipeStream(this.#prefix, owner);
    const config: Partial<StreamConfig> & { name: string } = {
      name,
      subjects: [pipeSubjects.stream(this.#prefix, owner)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_bytes: this.settings.maxBytes,
      max_age: nanos(this.settings.maxAgeMs),
      num_replicas: this.settings.replicas ?? 1,
    };
    try {
      const jsm = await this.#manager();
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // It exists: bring it to the current settings.
        const existing = await jsm.streams.info(name).catch(() => undefined);
        if (!existing) throw err;
        await jsm.streams.update(name, { ...existing.config, ...config });
      }
      logger.info({ stream: name }, 'pipe stream ready');
    } catch (err) {
      throw new PipeError(`Pipes need JetStream on the NATS server: ${(err as Error).message}`);
    }
  }

  async #purge(owner: string, filter: string): Promise<void> {
    const jsm = await this.#manager();
    await jsm.streams.purge(pipeStream(this.#prefix, owner), { filter });
  }
}
