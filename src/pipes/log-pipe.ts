/**
 * A job's own log as a pipe (`P.pipe.<owner>.<id>.log`): every line it writes, batched into
 * messages, ended (size and digest) when the job concludes and kept as long as its output.
 * `jobctl logs` downloads it whole — no line cap, and after the job was dismissed too. The job
 * never waits for it: lines wait in memory up to {@link LOG_BACKLOG_BYTES}, past which they
 * are counted and left out, and the log says how many.
 */
import type { Logger } from 'pino';
import type { PipeWriter } from './writer.js';

/** Bytes of log lines that may wait for JetStream at once. */
export const LOG_BACKLOG_BYTES = 1024 * 1024;

export class LogPipe {
  #lines: string[] = [];
  #bytes = 0;
  #dropped = 0;
  #writer: Promise<PipeWriter> | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #scheduled = false;
  #ended = false;
  #failed = false;

  constructor(
    private readonly open: () => Promise<PipeWriter>,
    private readonly logger: Logger,
  ) {}

  /** Take one line (without its newline). */
  line(text: string): void {
    if (this.#ended) return;
    if (this.#bytes > LOG_BACKLOG_BYTES) {
      this.#dropped++;
      return;
    }
    this.#lines.push(`${text}\n`);
    this.#bytes += text.length + 1;
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  /** The job concluded: write what is left and end the log. */
  async end(): Promise<void> {
    this.#flush();
    this.#ended = true;
    await this.#flushing;
    if (!this.#writer || this.#failed) return;
    const writer = await this.#writer;
    await writer.end();
  }

  #flush(): void {
    if (this.#lines.length === 0 && this.#dropped === 0) return;
    const dropped = this.#dropped;
    const data = Buffer.from(this.#lines.join('') + (dropped > 0 ? `… ${dropped} lines left out: the log was written faster than it could be stored\n` : ''));
    this.#lines = [];
    this.#bytes = 0;
    this.#dropped = 0;
    this.#writer ??= this.open();
    const writer = this.#writer;
    this.#flushing = this.#flushing
      .then(async () => (await writer).write(data))
      .catch((err: unknown) => {
        // Once is enough: the job's log stays in memory (job-log) and in the service's log.
        if (!this.#failed) this.logger.warn({ err }, 'log lines could not be stored in the log pipe; it is abandoned');
        this.#failed = true;
        this.#ended = true;
      });
  }
}
