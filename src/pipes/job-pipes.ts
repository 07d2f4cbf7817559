/**
 * One job's pipes on the service's side: its inputs (each read once, in order, through a
 * {@link PipeReader}) and its output (a {@link PipeWriter}, created at the first write). The
 * output's end is written when the job concludes — with the job's error if it failed or was
 * cancelled — so a reader never takes a failed job's output for a success.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { JobPipes, PipeInput, PipeOutput, PipeSource } from './api.js';
import { PipeName, inputPipe, pipeStream, pipeSubjects } from './names.js';
import type { InputPlan, PipePlan } from './plan.js';
import { PipeReader } from './reader.js';
import type { PipeSettings } from './settings.js';
import { PipeError } from './wire.js';
import type { PipeEnd, ReadReport } from './wire.js';
import { PipeWriter } from './writer.js';

/** What one job's pipes need of the service. */
export interface PipeContext {
  nc: NatsConnection;
  js: JetStreamClient;
  prefix: string;
  settings: PipeSettings;
  /** The service's logger for this job (job id and owner bound). */
  logger: Logger;
  /** Resolves once the owner's stream exists and the id's old pipe data is gone; rejects if pipes cannot work. */
  ready: Promise<void>;
  /** Remove what pipe `pipe` of this job holds. */
  purge(pipe: string): Promise<void>;
  /** Counts the bytes jobs read from their inputs (`in`) and write to their outputs and logs (`out`). */
  onBytes?: (direction: 'in' | 'out', bytes: number) => void;
}

/** `Input 2 ('b.img')`: how errors name an input. */
export function inputLabel(index: number, name?: string): string {
  return `Input ${index + 1}${name === undefined ? '' : ` ('${name}')`}`;
}

export class JobPipeSet implements PipeSource {
  readonly #ctx: PipeContext;
  readonly #owner: string;
  readonly #id: string;
  readonly #plan: PipePlan;
  readonly #inputs: JobInput[];
  #output: JobOutput | undefined;

  constructor(ctx: PipeContext, owner: string, id: string, plan: PipePlan) {
    this.#ctx = ctx;
    this.#owner = owner;
    this.#id = id;
    this.#plan = plan;
    this.#inputs = plan.inputs.map((input, index) => new JobInput(this, index, input));
  }

  get plan(): PipePlan {
    return this.#plan;
  }

  forJob(signal: AbortSignal): JobPipes {
    for (const input of this.#inputs) input.signal = signal;
    if (this.#plan.output !== undefined) this.#output ??= new JobOutput(this, signal);
    return { inputs: this.#inputs, input: this.#inputs[0], output: this.#output };
  }

  async outputStored(): Promise<void> {
    await this.#output?.stored();
  }

  /** The job concluded (`error` if it failed or was cancelled): end the output, release uploaders. */
  async conclude(error: string | undefined): Promise<void> {
    const { logger } = this.#ctx;
    for (const input of this.#inputs) input.release(this.#id, error);
    if (this.#plan.output === undefined) return;
    const output = (this.#output ??= new JobOutput(this, new AbortController().signal));
    const end = await output.end(error);
    logger.info({ pipe: PipeName.output, size: end.size, digest: end.digest, ...(end.error !== undefined && { error: end.error }) }, 'output pipe ended');
  }

  /** A reader of pipe `pipe` of this job. */
  reader(pipe: string, label: string, signal: AbortSignal | undefined, expectSize?: number): PipeReader {
    const { nc, js, prefix, settings } = this.#ctx;
    const maxPayload = nc.info?.max_payload ?? settings.chunkBytes;
    return new PipeReader({
      nc,
      js,
      stream: pipeStream(prefix, this.#owner),
      subject: pipeSubjects.data(prefix, this.#owner, this.#id, pipe),
      readSubject: pipeSubjects.read(prefix, this.#owner, this.#id, pipe),
      label,
      bufferBytes: Math.max(8 * 1024 * 1024, 2 * maxPayload + 65_536),
      reportEveryBytes: Math.max(1, Math.floor(settings.windowBytes / 4)),
      stallTimeoutMs: settings.stallTimeoutMs,
      ...(signal && { signal }),
      ...(expectSize !== undefined && { expectSize }),
      ...(this.#ctx.onBytes && { onBytes: this.#ctx.onBytes.bind(null, 'in') }),
    });
  }

  /** A writer of pipe `pipe` of this job. */
  writer(pipe: string, label: string, stream: boolean, signal: AbortSignal | undefined): PipeWriter {
    const { nc, js, prefix, settings } = this.#ctx;
    const maxPayload = nc.info?.max_payload ?? settings.chunkBytes;
    return new PipeWriter({
      nc,
      js,
      subject: pipeSubjects.data(prefix, this.#owner, this.#id, pipe),
      readSubject: pipeSubjects.read(prefix, this.#owner, this.#id, pipe),
      label,
      chunkBytes: Math.min(settings.chunkBytes, maxPayload - 1024),
      ...(stream && { windowBytes: settings.windowBytes, stallTimeoutMs: settings.stallTimeoutMs }),
      ...(signal && { signal }),
      ...(this.#ctx.onBytes && { onBytes: this.#ctx.onBytes.bind(null, 'out') }),
    });
  }

  /** Tell the uploader of pipe `pipe` that nobody will read it any more. */
  report(pipe: string, report: ReadReport): void {
    const { nc, prefix } = this.#ctx;
    try {
      nc.publish(pipeSubjects.read(prefix, this.#owner, this.#id, pipe), JSON.stringify(report));
    } catch (err) {
      this.#ctx.logger.warn({ err, pipe }, 'could not tell the uploader that its input is no longer read');
    }
  }

  /** Remove what pipe `pipe` of this job holds. */
  purge(pipe: string): Promise<void> {
    return this.#ctx.purge(pipe);
  }

  /** Wait until the job's pipes can be used; a clear error if they cannot. */
  async ready(): Promise<void> {
    await this.#ctx.ready;
  }

  get logger(): Logger {
    return this.#ctx.logger;
  }
}

class JobInput implements PipeInput {
  readonly name?: string;
  readonly size?: number;
  signal: AbortSignal | undefined;
  #reader: PipeReader | undefined;
  #done = false;

  constructor(
    private readonly set: JobPipeSet,
    readonly index: number,
    plan: InputPlan,
  ) {
    if (plan.name !== undefined) this.name = plan.name;
    if (plan.size !== undefined) this.size = plan.size;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const label = inputLabel(this.index, this.name);
    if (this.#reader) throw new PipeError(`${label} can be read only once`);
    await this.set.ready();
    this.#reader = this.set.reader(inputPipe(this.index), label, this.signal, this.size);
    yield* this.#reader;
    this.#done = true;
    this.set.logger.info({ pipe: inputPipe(this.index), size: this.#reader.size, digest: this.#reader.end?.digest }, 'input pipe read');
  }

  /** The job is over: an uploader still writing this input is told to stop. */
  release(id: string, error: string | undefined): void {
    if (this.#done) return;
    const why = error ?? 'it did not read it';
    this.set.report(inputPipe(this.index), { read: this.#reader?.size ?? 0, error: `Job '${id}' ended before reading ${inputLabel(this.index, this.name)}: ${why}` });
  }
}

class JobOutput implements PipeOutput {
  #writer: PipeWriter | undefined;
  /** Writes one at a time, and the end after the last. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly set: JobPipeSet,
    private readonly signal: AbortSignal,
  ) {}

  get written(): number {
    return this.#writer?.size ?? 0;
  }

  write(data: Uint8Array): Promise<void> {
    const done = this.#chain.then(async () => {
      this.#writer ??= await this.#open();
      await this.#writer.write(data);
    });
    this.#chain = done.catch(() => undefined);
    return done;
  }

  /** Resolves once every write so far is stored; throws the pipe's error if one could not be. */
  async stored(): Promise<void> {
    await this.#chain;
    await this.#writer?.stored();
  }

  /** End the output with the job's outcome. If the data cannot be stored, the end still says why. */
  async end(error: string | undefined): Promise<PipeEnd> {
    await this.#chain;
    await this.set.ready();
    const writer = (this.#writer ??= await this.#open());
    try {
      return await writer.end(error);
    } catch (err) {
      // The storage is full (or the data could not be stored): the output is lost; the end
      // must still reach the reader, so it goes on its own, with the reason.
      const reason = error ?? (err as Error).message;
      this.set.logger.warn({ err, pipe: PipeName.output }, 'output pipe could not be ended normally; ending it with an error');
      await this.set.purge(PipeName.output);
      return (await this.#open()).end(reason);
    }
  }

  async #open(): Promise<PipeWriter> {
    await this.set.ready();
    return this.set.writer(PipeName.output, 'Output', this.set.plan.output === 'stream', this.signal);
  }
}
