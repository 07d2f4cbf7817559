/**
 * The writing end of a pipe: publishes data in chunks to the pipe's JetStream subject, with at
 * most a few chunks awaiting the stream's acknowledgement at once, and — in stream mode — at
 * most a window of bytes ahead of what its reader reports read. It ends the pipe with its size
 * and digest, or with an error. Memory stays bounded: the chunks in flight, nothing more.
 */
import { headers } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { END_HEADER, END_VALUE, PipeDigest, PipeError, parseReport } from './wire.js';
import type { PipeEnd } from './wire.js';

/** Chunks that may await JetStream's acknowledgement at once. */
export const IN_FLIGHT = 16;

export interface PipeWriterOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  /** The pipe's data subject. */
  subject: string;
  /** Where its reader reports progress. */
  readSubject: string;
  /** What the pipe is, for error texts: `Output`, `Input 2`. */
  label: string;
  /** The largest message published. */
  chunkBytes: number;
  /** Stream mode: how far ahead of its reader the writer may be. Unset: never wait for a reader. */
  windowBytes?: number;
  /** Stream mode: fail once the reader has read nothing for this long. Unset: wait as long as it takes. */
  stallTimeoutMs?: number;
  /** While waiting for the reader, call `idle.check()` every `idle.everyMs`; it throws to give up. */
  idle?: { everyMs: number; check(): Promise<void> };
  /** Aborting wakes a waiting writer, which throws the signal's reason. */
  signal?: AbortSignal;
  /** How long JetStream may take to acknowledge one chunk. @defaultValue 30000 */
  ackTimeoutMs?: number;
  /** Called with the size of every chunk written (the service's metrics). */
  onBytes?: (bytes: number) => void;
}

export class PipeWriter {
  readonly #opts: PipeWriterOptions;
  readonly #digest = new PipeDigest();
  readonly #acks: Array<Promise<void>> = [];
  readonly #sub: Subscription | undefined;
  #failure: Error | undefined;
  #read = 0;
  #readerError: string | undefined;
  #lastProgress = performance.now();
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(opts: PipeWriterOptions) {
    this.#opts = opts;
    // The reader's reports matter in stream mode (the window) and to hear that it gave up.
    this.#sub = opts.nc.subscribe(opts.readSubject, {
      callback: (err, msg) => {
        if (err) return;
        const report = parseReport(msg.data);
        if (!report) return;
        if (report.read > this.#read) {
          this.#read = report.read;
          this.#lastProgress = performance.now();
        }
        if (report.error !== undefined) this.#readerError = report.error;
        this.#wake?.();
      },
    });
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#digest.size;
  }

  /** Bytes the reader reported read. */
  get read(): number {
    return this.#read;
  }

  /** Write `data`; resolves once it is handed to NATS and the window allows more. */
  async write(data: Uint8Array): Promise<void> {
    if (this.#ended) throw new PipeError(`${this.#opts.label} is already closed`);
    const { chunkBytes } = this.#opts;
    for (let at = 0; at < data.length; at += chunkBytes) {
      const part = data.subarray(at, Math.min(data.length, at + chunkBytes));
      await this.#room(part.length);
      this.#publish(part);
    }
  }

  /** Resolves once JetStream acknowledged every chunk written so far; throws if one could not be stored. */
  async stored(): Promise<void> {
    await this.#settle();
    if (this.#failure) throw this.#failure;
  }

  /**
   * End the pipe: wait for every chunk's acknowledgement, then publish the end (with `error`
   * if given). Throws if a chunk could not be stored and no error was given.
   */
  async end(error?: string): Promise<PipeEnd> {
    this.#ended = true;
    try {
      await this.#settle();
      if (error === undefined) this.#check();
      const end: PipeEnd = { size: this.#digest.size, digest: this.#digest.digest(), ...(error !== undefined && { error }) };
      const h = headers();
      h.set(END_HEADER, END_VALUE);
      try {
        await this.#opts.js.publish(this.#opts.subject, JSON.stringify(end), { headers: h, timeout: this.#ackTimeout });
      } catch (err) {
        throw storeError(this.#opts.label, err);
      }
      return end;
    } finally {
      this.#sub?.unsubscribe();
    }
  }

  /** Stop listening to the reader without ending the pipe (the pipe is abandoned). */
  abandon(): void {
    this.#ended = true;
    this.#sub?.unsubscribe();
    this.#wake?.();
  }

  get #ackTimeout(): number {
    return this.#opts.ackTimeoutMs ?? 30_000;
  }

  #publish(part: Uint8Array): void {
    this.#digest.update(part);
    this.#opts.onBytes?.(part.length);
    const ack = this.#opts.js.publish(this.#opts.subject, part, { timeout: this.#ackTimeout }).then(
      () => undefined,
      (err: unknown) => {
        this.#failure ??= storeError(this.#opts.label, err);
      },
    );
    this.#acks.push(ack);
  }

  async #settle(): Promise<void> {
    while (this.#acks.length > 0) await this.#acks.shift();
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
    if (this.#readerError !== undefined) throw new PipeError(this.#readerError);
    const { signal } = this.#opts;
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new PipeError(`${this.#opts.label} was cancelled`);
  }

  /** Wait until a chunk of `bytes` may be published. */
  async #room(bytes: number): Promise<void> {
    this.#check();
    while (this.#acks.length >= IN_FLIGHT) {
      await this.#acks.shift();
      this.#check();
    }
    const { windowBytes } = this.#opts;
    if (windowBytes === undefined) return;
    while (this.#digest.size + bytes - this.#read > windowBytes && this.#digest.size > this.#read) {
      await this.#readerProgress();
      this.#check();
    }
  }

  /** Resolves at the reader's next report; rejects when it stalled, gave up, or the writer is aborted. */
  async #readerProgress(): Promise<void> {
    const { stallTimeoutMs, idle, signal, label } = this.#opts;
    const stalledFor = () => performance.now() - this.#lastProgress;
    const waitMs = Math.min(
      stallTimeoutMs === undefined ? Infinity : Math.max(0, stallTimeoutMs - stalledFor()),
      idle?.everyMs ?? Infinity,
    );
    let timer: NodeJS.Timeout | undefined;
    let wake = () => {};
    const woken = await new Promise<'report' | 'timer'>((resolve) => {
      wake = () => resolve('report');
      this.#wake = wake;
      signal?.addEventListener('abort', wake, { once: true });
      if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve('timer'), waitMs);
    }).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      this.#wake = undefined;
    });
    if (woken === 'report') return;
    if (stallTimeoutMs !== undefined && stalledFor() >= stallTimeoutMs) {
      throw new PipeError(`${label} stalled: its reader read nothing for ${stallTimeoutMs} ms`);
    }
    await idle?.check();
  }
}

/** A publish JetStream refused, as one line naming the pipe. */
export function storeError(label: string, err: unknown): PipeError {
  const text = err instanceof Error ? err.message : String(err);
  if (/maximum bytes|insufficient resources|maximum messages/i.test(text)) {
    return new PipeError(`${label} could not be stored: the pipe storage is full (${text})`);
  }
  return new PipeError(`${label} could not be stored: ${text}`);
}
