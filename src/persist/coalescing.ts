/**
 * Coalescing: which keys are due for a write, and when. A change marks its key, and every key
 * marked in one turn of the event loop is written at the next turn, once, with its latest
 * state: a key changed many times in a turn is written once, and a job that comes and goes
 * within a turn is never written at all. A minor change (progress) waits up to
 * {@link MINOR_DELAY_MS}, so that a job reporting progress often is written once a second at
 * most; a later change that is not minor, or a wait for the key, takes a pending minor one
 * with it. At most {@link WRITES_PER_TURN} writes start in one turn and the rest at the next:
 * many keys due at once (every job's progress) do not hold up the commands that arrive
 * meanwhile; changes that are not minor (a job's events and a command's reply wait for them)
 * go before the minor ones. A key whose write cannot start yet (one in flight) stays due.
 */

/** How long a minor change (progress) may wait to be written, ms. */
export const MINOR_DELAY_MS = 1000;

/** The most writes started in one turn of the event loop. */
const WRITES_PER_TURN = 32;

/**
 * What starts the writes: `ready(key)` says whether a write of `key` may start now, `start(key)`
 * starts it and says whether it went out (false: nothing to write, e.g. a job that came and
 * went before it was ever written: it does not count against the turn's writes).
 */
export interface KeyWriter {
  ready(key: string): boolean;
  start(key: string): boolean;
}

export class DueKeys {
  /** Keys to write at the next turn, first: changes that are not minor (a job's events wait for them), and keys waited for. */
  readonly #urgent = new Set<string>();
  /** Keys to write at the next turn, after the urgent ones: minor changes whose time came. */
  readonly #dirty = new Set<string>();
  /** Keys with only minor changes, written at the next {@link #scheduleMinor} turn. */
  readonly #minor = new Set<string>();
  #minorTimer: NodeJS.Timeout | undefined;
  #scheduled = false;
  #closed = false;

  constructor(private readonly writer: KeyWriter) {}

  /** `key` changed (`minor`: its progress only). */
  changed(key: string, minor: boolean): void {
    if (minor) {
      if (this.#urgent.has(key) || this.#dirty.has(key) || this.#minor.has(key)) return;
      this.#minor.add(key);
      this.#scheduleMinor();
      return;
    }
    this.#minor.delete(key);
    this.due(key);
  }

  /** Write `key` at the next turn, before the minor changes. */
  due(key: string): void {
    this.#dirty.delete(key);
    this.#urgent.add(key);
    this.#schedule();
  }

  /** Someone waits for `key`: a minor change of it is written at the next turn, first. */
  hurry(key: string): void {
    if (this.#minor.delete(key) || this.#dirty.has(key)) this.due(key);
  }

  /** `key` is not to be written (a pending change of it is dropped). */
  forget(key: string): void {
    this.#urgent.delete(key);
    this.#dirty.delete(key);
    this.#minor.delete(key);
  }

  /** Every key due now, minor changes too; returns how many keys are due. */
  allDue(): number {
    for (const key of this.#minor) this.#dirty.add(key);
    this.#minor.clear();
    return this.#urgent.size + this.#dirty.size;
  }

  /**
   * Start the writes of the keys due, urgent ones first, {@link WRITES_PER_TURN} at most, the
   * rest at the next turn; a key whose write cannot start now stays due. A burst of progress
   * writes (every job's, once a second) so does not hold up the write a verb's events and
   * reply wait for.
   */
  write(): void {
    let started = 0;
    for (const due of [this.#urgent, this.#dirty]) {
      for (const key of due) {
        if (!this.writer.ready(key)) continue;
        if (started === WRITES_PER_TURN) {
          this.#schedule();
          return;
        }
        due.delete(key);
        if (this.writer.start(key)) started++;
      }
    }
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#minorTimer);
  }

  #scheduleMinor(): void {
    if (this.#minorTimer || this.#closed) return;
    this.#minorTimer = setTimeout(() => {
      this.#minorTimer = undefined;
      this.allDue();
      this.write();
    }, MINOR_DELAY_MS);
    this.#minorTimer.unref();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.write();
    });
  }
}
