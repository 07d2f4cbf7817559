/**
 * Waits for writes (`JobStore.saved`): a wait counts the keys it still waits for, each
 * at the version it had when the wait began. It resolves once every one of them is written at
 * that version or later; it rejects at the first conflict among them (with that
 * {@link StoreConflictError}), or at its deadline with a {@link NotSavedError} — the writes go
 * on. A wait ends once. One timer serves every wait with a deadline (earliest-timer.ts).
 */
import { EarliestTimer } from './earliest-timer.js';
import { NotSavedError } from './store-errors.js';
import type { StoreConflictError } from './store-errors.js';

/** One `JobStore.saved` call: it resolves when `remaining` reaches 0, or rejects (once) with a conflict or at its deadline. */
export interface Wait {
  remaining: number;
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() after which it fails with a {@link NotSavedError}; Infinity: never. */
  deadline: number;
  timeoutMs: number;
  done: boolean;
}

/** What the waits see of a key. */
export interface WaitedKey {
  /** The last version written. */
  written: number;
  /** Waits for a version to be written. */
  waiters: Array<{ version: number; wait: Wait }>;
  /** Set once another writer changed the key: its waits fail. */
  conflict?: StoreConflictError;
}

export class SaveWaits {
  /** Waits with a deadline, and the one timer that fails the late ones. */
  readonly #timed = new Set<Wait>();
  readonly #timer = new EarliestTimer((now) => this.#expire(now));

  /** A wait for no key yet; `timeoutMs` starts at {@link begin} (Infinity: no deadline). */
  create(timeoutMs: number): Wait {
    return { remaining: 0, resolve: noop, reject: noop, deadline: Infinity, timeoutMs, done: false };
  }

  /** The promise of `w`, once it counts every key it waits for; its deadline runs from now. */
  begin(w: Wait): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    if (w.timeoutMs !== Infinity) {
      w.deadline = performance.now() + w.timeoutMs;
      this.#timed.add(w);
      this.#timer.arm(w.deadline);
    }
    return promise;
  }

  /** The key was written (or found in conflict): end the waits that it was the last one for. */
  settle(state: WaitedKey): void {
    const pending = state.waiters;
    state.waiters = [];
    for (const w of pending) {
      if (w.wait.done) continue;
      if (state.conflict) this.#finish(w.wait, state.conflict);
      else if (w.version <= state.written) {
        if (--w.wait.remaining === 0) this.#finish(w.wait);
      } else state.waiters.push(w);
    }
  }

  /** The key's changes after version `sent` will not be written: their waits end with `err` (the others stay). */
  fail(state: WaitedKey, err: Error, sent: number): void {
    const pending = state.waiters;
    state.waiters = [];
    for (const w of pending) {
      if (w.version > sent) this.#finish(w.wait, err);
      else state.waiters.push(w);
    }
  }

  close(): void {
    this.#timer.close();
  }

  /** Fail the waits past their deadline; returns the earliest deadline left. */
  #expire(now: number): number {
    let earliest = Infinity;
    for (const w of this.#timed) {
      if (w.done) this.#timed.delete(w);
      else if (w.deadline <= now) this.#finish(w, new NotSavedError(w.timeoutMs));
      else earliest = Math.min(earliest, w.deadline);
    }
    return earliest;
  }

  /** A wait is over: resolved (no error) or rejected. */
  #finish(w: Wait, err?: Error): void {
    if (w.done) return;
    w.done = true;
    this.#timed.delete(w);
    if (err) w.reject(err);
    else w.resolve();
  }
}

const noop = () => undefined;
