/**
 * When each held lease is renewed next. One timer for all of them, and every renewal due
 * within {@link COALESCE_MS} of the earliest goes in the same callback, so that their writes
 * leave in one flush and their answers come back together: an instance holding 32 partitions
 * wakes once a second for them, not 32 times. A renewal is never later than asked, at most
 * COALESCE_MS earlier.
 */
const COALESCE_MS = 100;

export class Renewals {
  /** Partition → when its lease is to be renewed (the leases' clock). */
  readonly #due = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly renew: (partition: number) => void,
  ) {}

  /** Renew `partition`'s lease at `when` (replaces what was asked before). */
  at(partition: number, when: number): void {
    this.#due.set(partition, when);
    this.#arm();
  }

  /** Nothing more for `partition` (its lease was let go). */
  cancel(partition: number): void {
    this.#due.delete(partition);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#due.clear();
  }

  #arm(): void {
    let earliest = Infinity;
    for (const when of this.#due.values()) earliest = Math.min(earliest, when);
    if (earliest === Infinity || (this.#timer && this.#timerAt <= earliest)) return;
    clearTimeout(this.#timer);
    this.#timerAt = earliest;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, earliest - this.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const by = this.now() + COALESCE_MS;
    const due: number[] = [];
    for (const [p, when] of this.#due) if (when <= by) due.push(p);
    for (const p of due) this.#due.delete(p);
    for (const p of due) this.renew(p);
    this.#arm();
  }
}
