/**
 * A hand-flipped Ownership for forwarding tests: the test says which partitions an instance
 * serves, and moves them, announcing 'serving' and 'unserving' as the real one does. The
 * instances of one test share `holders` (partition → instance id), as leases would be seen.
 */
import type { Ownership } from '../../src/cluster/ownership.js';
import { partitionOf } from '../../src/cluster/partition.js';

type Listener = (p: number) => void;

export class TestOwnership implements Ownership {
  readonly #served: Set<number>;
  readonly #listeners = { serving: new Set<Listener>(), unserving: new Set<Listener>() };

  constructor(
    readonly partitions: number,
    served: Iterable<number>,
    readonly id: string,
    private readonly holders: Map<number, string>,
  ) {
    this.#served = new Set(served);
    for (const p of this.#served) holders.set(p, id);
  }

  holderOf(p: number): string | undefined {
    return this.holders.get(p);
  }

  partitionOf(owner: string): number {
    return partitionOf(owner, this.partitions);
  }

  serves(p: number): boolean {
    return this.#served.has(p);
  }

  on(event: 'serving' | 'unserving', listener: Listener): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /** Serve `p` from now on ('serving' once it is). */
  serve(p: number): void {
    if (this.#served.has(p)) return;
    this.#served.add(p);
    this.holders.set(p, this.id);
    for (const l of this.#listeners.serving) l(p);
  }

  /** Stop serving `p' ('unserving' first, as before the jobs are dropped). */
  unserve(p: number): void {
    if (!this.#served.has(p)) return;
    for (const l of this.#listeners.unserving) l(p);
    this.#served.delete(p);
    if (this.holders.get(p) === this.id) this.holders.delete(p);
  }

  /** `p`'s lease seen held by `holder` (another process, maybe one that never answers). */
  heldBy(p: number, holder: string): void {
    this.holders.set(p, holder);
  }

  /** Stop serving `p` without a word (its holder seen as before): a command forwarded meanwhile finds it not served. */
  forget(p: number): void {
    this.#served.delete(p);
  }
}
