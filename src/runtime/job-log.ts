/**
 * A job's own log: every line is kept in memory up to a bound, and also goes to the service's
 * log; JobInfo carries an excerpt of the first and last lines (TrueNAS's logs_excerpt).
 * Values of secret params are masked in every line.
 */
import type { Logger } from 'pino';
import type { SavedLog } from '../persist/records.js';
import type { JobLog } from './handler.js';

/** Lines at each end of the excerpt. */
export const EXCERPT_LINES = 10;
/** Lines kept in memory per job (the oldest beyond the first ones are dropped). */
export const MEMORY_LINES = 2000;
const MASK = '********';

export class JobLogBuffer implements JobLog {
  readonly #head: string[] = [];
  readonly #tail: string[] = [];
  /** What to mask: each secret as is and as it appears inside JSON (logged fields), longest first. */
  readonly #masked: string[];
  #count = 0;
  #logger: Logger | (() => Logger);

  constructor(
    /** Secret values to mask. */
    secrets: readonly string[],
    /**
     * The service logger (with the job id and owner) that also gets every line, or a function
     * that makes it (called at the first line: most jobs never log one).
     */
    logger: Logger | (() => Logger),
    /** Gets every line as it is written, masked (the log pipe). */
    private readonly onLine?: (line: string) => void,
  ) {
    this.#logger = logger;
    const forms = secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]);
    this.#masked = [...new Set(forms)].filter((form) => form.length > 0).sort((a, b) => b.length - a.length);
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.#write('INFO', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.#write('WARN', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.#write('ERROR', message, fields);
  }

  /** How many lines were written. */
  get count(): number {
    return this.#count;
  }

  /** The first and last lines, with a `…` line between them when some were left out. */
  excerpt(): string | undefined {
    if (this.#count === 0) return undefined;
    const tail = this.#tail.slice(-EXCERPT_LINES);
    const skipped = this.#count - this.#head.length - tail.length;
    return [...this.#head, ...(skipped > 0 ? [`… ${skipped} more lines …`] : []), ...tail].join('\n');
  }

  /** What a job store keeps of the log: the lines of the excerpt and the count. */
  saved(): SavedLog {
    return { head: [...this.#head], tail: this.#tail.slice(-EXCERPT_LINES), count: this.#count };
  }

  /** Take back what {@link saved} gave (a job restored after a restart). */
  restore(saved: SavedLog): void {
    this.#head.push(...saved.head);
    this.#tail.push(...saved.tail);
    this.#count = saved.count;
  }

  /** The lines kept in memory (all of them unless more than {@link MEMORY_LINES} were written). */
  lines(): string[] {
    return [...this.#head, ...this.#tail];
  }

  #write(level: string, message: string, fields?: Record<string, unknown>): void {
    const text = this.#mask(`${new Date().toISOString()} ${level} ${message}${fields ? ` ${safeJson(fields)}` : ''}`);
    this.#count++;
    this.onLine?.(text);
    if (this.#head.length < EXCERPT_LINES) this.#head.push(text);
    else {
      this.#tail.push(text);
      if (this.#tail.length > MEMORY_LINES - EXCERPT_LINES) this.#tail.shift();
    }
    if (typeof this.#logger === 'function') this.#logger = this.#logger();
    this.#logger[level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error']({ jobLog: true }, this.#mask(message));
  }

  #mask(text: string): string {
    let out = text;
    for (const secret of this.#masked) out = out.split(secret).join(MASK);
    return out;
  }
}

/** Mask the secret params of `params` (top level) for display. */
export function redact(params: Record<string, unknown>, secrets: readonly string[] | undefined): Record<string, unknown> {
  if (!secrets?.length) return params;
  const out = { ...params };
  for (const key of secrets) if (Object.hasOwn(out, key)) out[key] = MASK;
  return out;
}

/** The string values of a job's secret params, including those inside an object or array param. */
export function secretValues(params: Record<string, unknown>, secrets: readonly string[] | undefined): string[] {
  const values: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const key of secrets ?? []) collect(params[key]);
  return values;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '[unserializable]';
  }
}

/**
 * The lines and count an {@link JobLog.excerpt} stands for: what `jobctl logs` shows of a job
 * dismissed a moment ago (only its final JobInfo is left, in job-wait). No excerpt: no lines.
 */
export function logFromExcerpt(excerpt: string | undefined): { lines: string[]; count: number } {
  if (excerpt === undefined) return { lines: [], count: 0 };
  const all = excerpt.split('\n');
  const gap = all.findIndex((l) => /^… \d+ more lines …$/.test(l));
  if (gap < 0) return { lines: all, count: all.length };
  const skipped = Number(/\d+/.exec(all[gap]!)![0]);
  const lines = [...all.slice(0, gap), ...all.slice(gap + 1)];
  return { lines, count: lines.length + skipped };
}
