/**
 * When a lease held by another instance goes stale, as seen from here: one timer per partition,
 * set again at each change the watch shows (a renewal), ringing once the lease has gone
 * unchanged for lease + margin. The coordinator then takes the partition at once, not at its
 * next round (up to `reconcileMs` later): a dead instance's partitions move that much sooner.
 */
export class StaleAlarms {
  readonly #timers = new Map<number, NodeJS.Timeout>();
  #stopped = false;

  /** `ring(p)` once `p`'s lease has gone unchanged for `afterMs`. */
  constructor(
    private readonly afterMs: number,
    private readonly ring: (partition: number) => void,
  ) {}

  /** `p`'s lease changed now; `held`: someone holds it (a free key is taken without waiting). */
  changed(p: number, held: boolean): void {
    clearTimeout(this.#timers.get(p));
    this.#timers.delete(p);
    if (!held || this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(p);
      this.ring(p);
    }, this.afterMs);
    timer.unref();
    this.#timers.set(p, timer);
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
