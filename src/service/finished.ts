/**
 * The final JobInfo of dismissed jobs, so that job-wait still answers after an auto-dismiss:
 * a bounded map that forgets the oldest first. Insertion order is kept in a queue beside the
 * map (a Map iterated from its front after many deletions walks over every deleted slot).
 */
import type { JobInfo } from '../protocol/schemas.js';

interface Finished {
  readonly seq: number;
  readonly info: () => JobInfo;
}

export class FinishedJobs {
  readonly #byKey = new Map<string, Finished>();
  /** Every entry ever set, oldest first from `#head`; an entry replaced by a later one for its key is stale. */
  #order: Array<{ key: string; seq: number }> = [];
  #head = 0;
  #seq = 0;

  constructor(private readonly limit: number) {}

  /** Remember `key`'s final JobInfo (computed once, on first use), forgetting the oldest beyond the limit. */
  set(key: string, info: () => JobInfo): void {
    let cached: JobInfo | undefined;
    const seq = this.#seq++;
    this.#byKey.set(key, { seq, info: () => (cached ??= info()) });
    this.#order.push({ key, seq });
    while (this.#byKey.size > this.limit && this.#head < this.#order.length) {
      const oldest = this.#order[this.#head++]!;
      if (this.#byKey.get(oldest.key)?.seq === oldest.seq) this.#byKey.delete(oldest.key);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#head);
      this.#head = 0;
    }
  }

  get(key: string): JobInfo | undefined {
    return this.#byKey.get(key)?.info();
  }
}
