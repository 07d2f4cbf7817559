/**
 * QEMU's rate limiter (`include/qemu/ratelimit.h`): work is accounted in 100 ms slices; each
 * slice allows speed / 10 units; a caller over the quota sleeps until its share is due.
 * Raising the speed, or setting 0 (unlimited), wakes every sleeping caller at once (a copy
 * without a speed limit has several chunks accounting at once).
 */

/** The length of one accounting slice, as QEMU's. */
export const SLICE_MS = 100;

export class RateLimiter {
  #speed: number;
  #sliceStart = 0;
  #sliceEnd = 0;
  #dispatched = 0;
  /** Callers sleeping off their quota (made at the first: most limiters never hold one). */
  #sleepers: Set<() => void> | undefined;

  /** @param speed units per second; 0 = unlimited. */
  constructor(speed = 0) {
    this.#speed = speed;
  }

  get speed(): number {
    return this.#speed;
  }

  setSpeed(speed: number): void {
    const faster = speed === 0 || speed > this.#speed;
    this.#speed = speed;
    if (faster) for (const wake of [...(this.#sleepers ?? [])]) wake();
  }

  /** How long to wait before `units` more may go (QEMU's ratelimit_calculate_delay). */
  delayFor(units: number, now = performance.now()): number {
    const quota = this.#speed / (1000 / SLICE_MS);
    if (quota <= 0) return 0;
    if (this.#sliceEnd < now) {
      // A caller that slept to the slice's end and woke a little late starts the next slice
      // where the last one ended, so timer lateness is not lost on every slice (a steady
      // stream keeps its rate); after an idle gap the slice starts now, as in QEMU.
      const late = now - this.#sliceEnd;
      this.#sliceStart = late < SLICE_MS ? this.#sliceEnd : now;
      this.#sliceEnd = this.#sliceStart + SLICE_MS;
      this.#dispatched = 0;
    }
    this.#dispatched += units;
    if (this.#dispatched < quota) return 0;
    this.#sliceEnd = this.#sliceStart + (this.#dispatched / quota) * SLICE_MS;
    return this.#sliceEnd - now;
  }

  /** Account for `units` and sleep as long as the limit says; `signal` ends the sleep. */
  async consume(units: number, signal?: AbortSignal): Promise<void> {
    const delay = this.delayFor(units);
    if (delay <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#sleepers?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      signal?.addEventListener('abort', done, { once: true });
      (this.#sleepers ??= new Set()).add(done);
    });
  }
}
