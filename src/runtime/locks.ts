/**
 * Named locks for jobs (TrueNAS's `lock`): one job holds a lock at a time, the others wait
 * in FIFO order. Waiting is cancellable, and the queue is visible per owner so that
 * `lockQueueSize` never counts or hands out another owner's job.
 */

interface Waiter {
  readonly job: string;
  readonly owner: string;
  readonly grant: () => void;
}

interface Lock {
  holder: string | undefined;
  readonly queue: Waiter[];
}

export class LockManager {
  readonly #locks = new Map<string, Lock>();

  /**
   * Join the queue for `name` at once (synchronously), and resolve with a release function
   * when the lock is ours. `signal` leaves the queue (the promise then rejects with its reason).
   */
  acquire(name: string, job: string, owner: string, signal: AbortSignal): Promise<() => void> {
    const lock = this.#locks.get(name) ?? { holder: undefined, queue: [] };
    this.#locks.set(name, lock);
    const release = () => this.#release(name, job);
    if (lock.holder === undefined) {
      lock.holder = job;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        job,
        owner,
        grant: () => {
          signal.removeEventListener('abort', leave);
          resolve(release);
        },
      };
      const leave = () => {
        const at = lock.queue.indexOf(waiter);
        if (at >= 0) lock.queue.splice(at, 1);
        reject(signal.reason);
      };
      if (signal.aborted) return reject(signal.reason);
      signal.addEventListener('abort', leave, { once: true });
      lock.queue.push(waiter);
    });
  }

  /** The jobs of `owner` waiting for `name`, oldest first (the holder is not waiting). */
  waiting(name: string, owner: string): string[] {
    return (this.#locks.get(name)?.queue ?? []).filter((w) => w.owner === owner).map((w) => w.job);
  }

  /** The job holding `name`, if any. */
  holder(name: string): string | undefined {
    return this.#locks.get(name)?.holder;
  }

  #release(name: string, job: string): void {
    const lock = this.#locks.get(name);
    if (!lock || lock.holder !== job) return;
    const next = lock.queue.shift();
    lock.holder = next?.job;
    if (next) next.grant();
    else this.#locks.delete(name);
  }
}
