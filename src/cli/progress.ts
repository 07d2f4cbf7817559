/**
 * The progress of `jobctl call --job` on stderr. On a terminal: one bar redrawn in place
 * (percentage, description, and for byte jobs the amount, rate and ETA), ending at 100% on
 * success. Elsewhere: midclt's lines, `Status: <desc>` and
 * `Total Progress: [####____] 53.00%`, one per change and at most four a second.
 */
import type { Stream } from './output.js';

export interface JobProgress {
  id: string;
  type: string;
  status: string;
  current: number;
  total: number;
  description?: string;
}

/** Types whose progress counts bytes (the shared contract's file jobs). */
const BYTE_TYPES = new Set(['backup', 'mirror', 'create', 'stream', 'commit']);
const MIB = 1024 * 1024;

export function isByteJob(type: string, total: number): boolean {
  return total > MIB || BYTE_TYPES.has(type);
}

/** `[####____]` with `width` cells between the brackets. */
export function bar(fraction: number, width: number, full = '#', empty = '_'): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.floor(f * width);
  return `[${full.repeat(filled)}${empty.repeat(width - filled)}]`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `m:ss`, or `h:mm:ss` from an hour on. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

function fractionOf(p: JobProgress): number {
  return p.total > 0 ? p.current / p.total : 0;
}

/** What the job is doing, for `Status:` and the bar: its description, and its status unless running. */
export function statusText(p: JobProgress): string {
  const what = p.description ?? `${p.type} ${p.id}`;
  return p.status === 'running' || p.status === 'created' || p.status === 'concluded' || p.status === 'null' ? what : `${what} (${p.status})`;
}

/**
 * The terminal line: `[██████░░░░]  53.0%  3/5  copying`, and for byte jobs the amount, rate
 * and ETA in place of `3/5`. The bar has 30 cells from 90 columns on, fewer below; the text is
 * cut at the terminal's edge.
 */
export function ttyLine(p: JobProgress, columns: number, rate: number | undefined, unicode: boolean): string {
  const pct = `${(100 * fractionOf(p)).toFixed(1).padStart(5)}%`;
  const parts: string[] = [];
  if (isByteJob(p.type, p.total)) {
    parts.push(amount(p.current, p.total));
    if (rate !== undefined && rate > 0) {
      parts.push(`${formatBytes(rate)}/s`);
      if (p.current < p.total) parts.push(`ETA ${formatDuration((p.total - p.current) / rate)}`);
    }
  } else if (p.total > 0) {
    parts.push(`${p.current}/${p.total}`);
  }
  parts.push(statusText(p));
  const text = parts.join('  ');
  // A width of the terminal's only, so that the bar stays put while the text changes.
  const width = Math.max(10, Math.min(30, columns - 60));
  const line = `${bar(fractionOf(p), width, unicode ? '█' : '#', unicode ? '░' : '.')} ${pct}  ${text}`;
  return line.length > columns - 1 ? `${line.slice(0, Math.max(0, columns - 2))}…` : line;
}

/** `10.7/16.0 MiB`, or `512.0 KiB/16.0 MiB` when the units differ. */
function amount(current: number, total: number): string {
  const [c, t] = [formatBytes(current), formatBytes(total)];
  const [cu, tu] = [c.split(' ')[1], t.split(' ')[1]];
  return cu === tu && cu !== 'B' ? `${c.split(' ')[0]}/${t}` : `${c}/${t}`;
}

export interface ProgressViewOptions {
  /** Draw a bar in place (a terminal) or print midclt's lines. */
  tty: boolean;
  unicode?: boolean;
  now?: () => number;
  /** The shortest time between two draws. @defaultValue 100 on a terminal, 250 otherwise */
  minIntervalMs?: number;
}

export class ProgressView {
  readonly #err: Stream;
  readonly #tty: boolean;
  readonly #unicode: boolean;
  readonly #now: () => number;
  readonly #interval: number;
  #state: JobProgress;
  #lastDraw = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #onLine = false;
  #shownStatus: string | undefined;
  #shownPercent: string | undefined;
  #samples: Array<[number, number]> = [];
  #done = false;

  constructor(err: Stream, initial: JobProgress, opts: ProgressViewOptions) {
    this.#err = err;
    this.#tty = opts.tty;
    this.#unicode = opts.unicode ?? false;
    this.#now = opts.now ?? Date.now;
    this.#interval = opts.minIntervalMs ?? (opts.tty ? 100 : 250);
    this.#state = { ...initial };
  }

  get state(): Readonly<JobProgress> {
    return this.#state;
  }

  update(change: Partial<JobProgress>): void {
    if (this.#done) return;
    const next = { ...this.#state, ...change };
    // Progress never goes back (a late event must not undo a newer one).
    if (change.current !== undefined && next.total === this.#state.total && change.current < this.#state.current) next.current = this.#state.current;
    this.#state = next;
    if (change.current !== undefined) this.#sample(next.current);
    this.#schedule();
  }

  /** Print a message on its own line, keeping the bar below it. */
  message(text: string): void {
    this.#clear();
    this.#err.write(`${text}\n`);
    if (this.#tty && !this.#done) this.#draw();
  }

  /** Draw the last state; on success first move to 100%. Ends the bar's line. */
  finish(success: boolean): void {
    if (this.#done) return;
    if (success) {
      const total = this.#state.total > 0 ? this.#state.total : 1;
      this.#state = { ...this.#state, current: total, total, status: 'concluded' };
    }
    this.#draw(true);
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onLine) this.#err.write('\n');
    this.#onLine = false;
  }

  /** Leave the bar where it is without drawing again. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#onLine) this.#err.write('\n');
    this.#onLine = false;
    this.#done = true;
  }

  /** Bytes (or units) per second over the last ten seconds, once there is something to measure. */
  rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last[0] - first[0] < 500) return undefined;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  #sample(current: number): void {
    const now = this.#now();
    this.#samples.push([now, current]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > 10_000) this.#samples.shift();
  }

  #schedule(): void {
    const wait = this.#lastDraw + this.#interval - this.#now();
    if (wait <= 0) {
      this.#draw();
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      if (!this.#done) this.#draw();
    }, wait);
    this.#timer.unref?.();
  }

  #clear(): void {
    if (this.#tty && this.#onLine) this.#err.write('\r\x1b[K');
    this.#onLine = false;
  }

  /** Draw the state; the final draw of midclt's lines only adds the percentage, if it changed. */
  #draw(final = false): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#lastDraw = this.#now();
    const p = this.#state;
    if (this.#tty) {
      this.#err.write(`\r\x1b[K${ttyLine(p, this.#err.columns || 80, this.rate(), this.#unicode)}`);
      this.#onLine = true;
      return;
    }
    const status = statusText(p);
    if (status !== this.#shownStatus && !final) {
      this.#err.write(`Status: ${status}\n`);
      this.#shownStatus = status;
    }
    const pct = `${(100 * fractionOf(p)).toFixed(2)}%`;
    if (pct !== this.#shownPercent) {
      this.#err.write(`Total Progress: ${bar(fractionOf(p), 40)} ${pct}\n`);
      this.#shownPercent = pct;
    }
  }
}
