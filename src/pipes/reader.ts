/**
 * The reading end of a pipe: an ordered JetStream consumer on the pipe's subject, pulling at
 * most `bufferBytes` ahead, yielding the data in order, and reporting how far it has read so
 * that a writer in stream mode can go on. At the pipe's end it checks the size and SHA-256 of
 * what arrived against what was sent, and turns an end that carries an error into that error.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { END_HEADER, END_VALUE, PipeDigest, PipeError, parseEnd } from './wire.js';
import type { PipeEnd, ReadReport } from './wire.js';

export interface PipeReaderOptions {
  nc: NatsConnection;
  js: JetStreamClient;
  /** The stream holding the pipe. */
  stream: string;
  /** The pipe's data subject. */
  subject: string;
  /** Where to report progress. */
  readSubject: string;
  /** What the pipe is, for error texts: `Output`, `Input 2`. */
  label: string;
  /** Bytes pulled from the stream and not yet read, at most (at least one chunk). */
  bufferBytes: number;
  /** Report progress after every this many bytes read. */
  reportEveryBytes: number;
  /** Fail once nothing has arrived for this long. Unset: wait as long as it takes. */
  stallTimeoutMs?: number;
  /**
   * While nothing arrives, call `idle.check(caughtUp)` every `idle.everyMs`; it throws to give
   * up. `caughtUp()` tells whether everything stored so far has been read.
   */
  idle?: { everyMs: number; check(caughtUp: () => Promise<boolean>): Promise<void> };
  /** Aborting ends the reading with the signal's reason. */
  signal?: AbortSignal;
  /** The size the writer announced, checked at the end. */
  expectSize?: number;
  /** Stop, without an end, once everything stored so far has been read (a log so far). */
  untilCaughtUp?: boolean;
  /** Called with the size of every chunk read (the service's metrics). */
  onBytes?: (bytes: number) => void;
}

type Step = IteratorResult<JsMsg, unknown> | 'timer' | 'abort';

export class PipeReader implements AsyncIterable<Uint8Array> {
  readonly #opts: PipeReaderOptions;
  readonly #digest = new PipeDigest();
  #started = false;
  #reported = 0;
  #end: PipeEnd | undefined;

  constructor(opts: PipeReaderOptions) {
    this.#opts = opts;
  }

  /** Bytes read so far. */
  get size(): number {
    return this.#digest.size;
  }

  /** The pipe's end, once read (its digest checked). */
  get end(): PipeEnd | undefined {
    return this.#end;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const { js, stream, subject, label, untilCaughtUp } = this.#opts;
    if (this.#started) throw new PipeError(`${label} can be read only once`);
    this.#started = true;
    let messages: ConsumerMessages | undefined;
    let consumer;
    try {
      consumer = await js.consumers.get(stream, { filter_subjects: subject });
      if (untilCaughtUp && (await consumer.info(true)).num_pending === 0) return;
      messages = await consumer.consume({ max_bytes: this.#opts.bufferBytes });
      const it = messages[Symbol.asyncIterator]();
      let pending: Promise<IteratorResult<JsMsg, unknown>> | undefined;
      let lastArrival = performance.now();
      const c = consumer;
      // Nothing left on the server's side (what was already pulled would not leave us idle).
      const caughtUp = async () => (await c.info()).num_pending === 0;
      for (;;) {
        pending ??= it.next();
        const step = await this.#race(pending, lastArrival);
        if (step === 'abort') throw this.#aborted();
        if (step === 'timer') {
          await this.#onIdle(lastArrival, caughtUp);
          continue;
        }
        pending = undefined;
        lastArrival = performance.now();
        if (step.done) throw new PipeError(`${label} was cut off before its end`);
        const msg = step.value;
        if (msg.headers?.get(END_HEADER) === END_VALUE) {
          this.#finish(msg.data);
          return;
        }
        if (msg.data.length > 0) {
          this.#digest.update(msg.data);
          this.#opts.onBytes?.(msg.data.length);
          yield msg.data;
          // Report every so often, and whenever everything stored is read (the writer may be
          // waiting for exactly that, whatever its window).
          if (this.#digest.size - this.#reported >= this.#opts.reportEveryBytes || msg.info.pending === 0) this.#report({ read: this.#digest.size });
        }
        if (untilCaughtUp && msg.info.pending === 0) return;
      }
    } catch (err) {
      const failure = err instanceof PipeError || this.#opts.signal?.aborted ? err : new PipeError(`${label} could not be read: ${(err as Error).message}`, { cause: err });
      this.#report({ read: this.#digest.size, error: (failure as Error).message });
      throw failure;
    } finally {
      messages?.stop();
      consumer?.delete().catch(() => undefined);
    }
  }

  /** The next message, or why waiting for it stopped. */
  async #race(next: Promise<IteratorResult<JsMsg, unknown>>, lastArrival: number): Promise<Step> {
    const { stallTimeoutMs, idle, signal } = this.#opts;
    if (signal?.aborted) return 'abort';
    const stallLeft = stallTimeoutMs === undefined ? Infinity : Math.max(0, stallTimeoutMs - (performance.now() - lastArrival));
    const waitMs = Math.min(stallLeft, idle?.everyMs ?? Infinity);
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => {};
    try {
      return await Promise.race<Step>([
        next,
        new Promise<Step>((resolve) => {
          if (Number.isFinite(waitMs)) timer = setTimeout(() => resolve('timer'), waitMs);
          onAbort = () => resolve('abort');
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #onIdle(lastArrival: number, caughtUp: () => Promise<boolean>): Promise<void> {
    const { stallTimeoutMs, idle, label } = this.#opts;
    if (stallTimeoutMs !== undefined && performance.now() - lastArrival >= stallTimeoutMs) {
      throw new PipeError(`${label} stalled: nothing was written to it for ${stallTimeoutMs} ms`);
    }
    await idle?.check(caughtUp);
  }

  /** Check the end against what arrived. */
  #finish(body: Uint8Array): void {
    const { label, expectSize } = this.#opts;
    const end = parseEnd(body);
    if (!end) throw new PipeError(`${label} ended with an unreadable end`);
    if (end.error !== undefined) throw new PipeError(end.error);
    const size = this.#digest.size;
    if (end.size !== size) throw new PipeError(`${label} is incomplete: ${size} of ${end.size} bytes arrived`);
    const digest = this.#digest.digest();
    if (end.digest !== digest) throw new PipeError(`${label} is corrupt: its digest is ${digest}, the writer sent ${end.digest}`);
    if (expectSize !== undefined && expectSize !== size) {
      throw new PipeError(`${label} has ${size} bytes, not the ${expectSize} announced`);
    }
    this.#end = end;
    this.#report({ read: size, done: true });
  }

  #aborted(): Error {
    const reason: unknown = this.#opts.signal?.reason;
    return reason instanceof Error ? reason : new PipeError(`${this.#opts.label}: reading was cancelled`);
  }

  #report(report: ReadReport): void {
    this.#reported = report.read;
    try {
      this.#opts.nc.publish(this.#opts.readSubject, JSON.stringify(report));
    } catch {
      // The connection is closing: the writer finds out by itself.
    }
  }
}
