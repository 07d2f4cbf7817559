/**
 * One timer for many deadlines, armed for the earliest: thousands of updates waiting for their
 * acknowledgement, or of waits with a time limit, cost one timer, not one each. Times are
 * performance.now() ms; the timer does not keep the process alive.
 */
export class EarliestTimer {
  #timer: NodeJS.Timeout | undefined;
  #at = Infinity;

  /** `expire(now)` handles what is late at `now`, and returns the earliest deadline left (Infinity: none). */
  constructor(private readonly expire: (now: number) => number) {}

  /** Make sure the timer fires by `at`. */
  arm(at: number): void {
    if (this.#timer) {
      if (this.#at <= at) return;
      clearTimeout(this.#timer);
    }
    this.#at = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(1, at - performance.now()));
    this.#timer.unref();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    const earliest = this.expire(performance.now());
    if (earliest !== Infinity) this.arm(earliest);
  }
}
