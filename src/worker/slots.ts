/**
 * A worker's concurrency: at most `capacity` handlers run at once; the others wait for a
 * slot in FIFO order, and a cancelled job leaves the queue.
 */
export class Slots {
  #used = 0;
  readonly #queue: Array<() => void> = [];

  constructor(readonly capacity: number) {}

  /** Resolves with a release function once a slot is ours; rejects with `signal`'s reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#used < this.capacity) {
      this.#used++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', leave);
        this.#used++;
        resolve(this.#releaser());
      };
      const leave = () => {
        const at = this.#queue.indexOf(grant);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      this.#queue.push(grant);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used--;
      this.#queue.shift()?.();
    };
  }
}
