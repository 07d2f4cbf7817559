/**
 * Which partitions this instance serves: the one thing the service, the endpoints and the
 * forwarding layer ask. With a store it is {@link LeasedOwnership}: a partition is served once
 * its lease is held (coordinator.ts) AND its jobs are restored; without one (memory only, tests)
 * {@link ownsEverything}. The moments between are announced: 'serving' after a partition's jobs
 * are back, 'unserving' before they are dropped.
 *
 * Gains arriving together (the start, a member leaving) are restored as one batch, from one
 * read of the store; a loss drops that partition's jobs at once, without writing (its next
 * owner reads what was saved).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Coordinator } from './coordinator.js';
import type { CoordinatorOptions } from './coordinator.js';
import type { LostReason } from './lease.js';
import { partitionOf } from './partition.js';

export interface Ownership {
  readonly partitions: number;
  /** This instance's id among those of the prefix: commands forwarded to it are addressed so. */
  readonly id: string;
  partitionOf(owner: string): number;
  /** The instance holding p's lease, as last seen (maybe this one); undefined: none, p is moving. */
  holderOf(p: number): string | undefined;
  /** p is served here now: lease held AND its jobs restored. */
  serves(p: number): boolean;
  /** Listeners: 'serving' after p's jobs are restored; 'unserving' before p's jobs are dropped. */
  on(event: 'serving' | 'unserving', listener: (p: number) => void): () => void;
}

/** Every partition, always (memory-only services and tests): nothing is ever announced. */
export function ownsEverything(partitions: number): Ownership {
  return {
    partitions,
    id: 'local',
    partitionOf: (owner) => partitionOf(owner, partitions),
    holderOf: () => 'local',
    serves: (p) => Number.isInteger(p) && p >= 0 && p < partitions,
    on: () => () => undefined,
  };
}

/** What the service does when partitions come and go. */
export interface ServingHooks {
  /**
   * Bring back the jobs of `partitions` (their leases just gained). After any wait (reading the
   * store), restore only those `held(p)` still says yes to; return the ones restored.
   */
  restore(partitions: readonly number[], held: (p: number) => boolean): Promise<readonly number[]>;
  /** Drop the jobs of `partitions` at once, writing nothing to the store. */
  drop(partitions: readonly number[]): void;
  /** Save what `partitions`' jobs have now (they are handed over gracefully next), bounded in time. */
  flush(partitions: readonly number[]): Promise<void>;
}

export interface LeasedOwnershipOptions extends Pick<CoordinatorOptions, 'prefix' | 'replicas' | 'lease' | 'membership' | 'reconcileMs'> {
  id: string;
  partitions: number;
  logger: Logger;
  /** Gains within this of each other are restored together. @defaultValue 10 */
  debounceMs?: number;
  /** ...but a batch waits no longer than this after its first gain. @defaultValue 100 */
  maxDebounceMs?: number;
}

type Listener = (p: number) => void;

export class LeasedOwnership implements Ownership {
  readonly partitions: number;
  readonly #served = new Set<number>();
  /** Gained, waiting for the next batch. */
  readonly #gained = new Set<number>();
  /** Being restored now: their jobs may be written, not yet served. */
  readonly #restoring = new Set<number>();
  /** Being handed over: no longer served, their last changes being written. */
  readonly #draining = new Set<number>();
  readonly #listeners = { serving: new Set<Listener>(), unserving: new Set<Listener>() };
  #timer: NodeJS.Timeout | undefined;
  #firstGainAt = 0;
  /** Restores run one at a time (each reads the store once). */
  #chain: Promise<void> = Promise.resolve();
  #coordinator: Coordinator | undefined;
  #hooks: ServingHooks | undefined;
  #closed = false;

  /** Serves nothing until {@link start}: the service's parts are made with it first. */
  constructor(private readonly opts: LeasedOwnershipOptions) {
    this.partitions = opts.partitions;
  }

  /**
   * Join the instances of `opts.prefix` and start taking this instance's share of the
   * partitions, calling `hooks` as they come and go. Throws InstanceIdInUseError if a live
   * instance has this id.
   */
  async start(nc: NatsConnection, hooks: ServingHooks): Promise<void> {
    const o = this;
    const opts = this.opts;
    this.#hooks = hooks;
    // Gains arrive only after a lease request's round trip, when the coordinator is set.
    this.#coordinator = await Coordinator.start(nc, {
      prefix: opts.prefix,
      id: opts.id,
      partitions: opts.partitions,
      ...(opts.replicas !== undefined && { replicas: opts.replicas }),
      // A restart with this id takes its leases back at once: a live twin was refused at join.
      lease: { reclaimOwn: true, ...opts.lease },
      ...(opts.membership && { membership: opts.membership }),
      ...(opts.reconcileMs !== undefined && { reconcileMs: opts.reconcileMs }),
      onGained: (p, epoch) => {
        opts.logger.debug({ partition: p, epoch }, "partition lease gained");
        o.#gain(p);
      },
      onLost: (p, reason) => o.#lose(p, reason),
      beforeRelease: (p) => o.#drain(p),
      onError: (err, p) => opts.logger.debug({ err, partition: p }, 'partition lease: a request failed; tried again'),
    });
  }

  get id(): string {
    return this.opts.id;
  }

  partitionOf(owner: string): number {
    return partitionOf(owner, this.partitions);
  }

  serves(p: number): boolean {
    return this.#served.has(p) && this.#owns(p);
  }

  /** Whether the store may be written for partition `p` now (served or being restored, lease valid by the clock). */
  mayWrite(p: number): boolean {
    return (this.#served.has(p) || this.#restoring.has(p) || this.#draining.has(p)) && this.#owns(p);
  }

  holderOf(p: number): string | undefined {
    return this.#coordinator?.holderOf(p);
  }

  /** How many other live instances share the prefix, as this one sees them now. */
  others(): number {
    return (this.#coordinator?.members() ?? []).filter((m) => m !== this.opts.id).length;
  }

  /** The partitions served here now. */
  served(): number[] {
    return [...this.#served].filter((p) => this.#owns(p)).sort((a, b) => a - b);
  }

  on(event: 'serving' | 'unserving', listener: Listener): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /**
   * Resolves once every partition the assignment gives this instance is served, or after
   * `timeoutMs` (a dead instance's lease is free only once stale); true if all are.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const c = this.#coordinator;
      if (c && c.assigned().every((p) => this.serves(p))) return true;
      if (performance.now() >= deadline || this.#closed) return false;
      // Looked at again at each partition served, and every 50 ms (the assignment may change).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => done(), 50);
        const off = this.on('serving', () => done());
        const done = () => {
          clearTimeout(timer);
          off();
          resolve();
        };
      });
    }
  }

  /**
   * A write of partition `p` was refused for its revision (`key`). If the lease is no longer
   * this instance's (or cannot be read), someone else owns the partition now: stop serving it
   * at once and let the lease go. If it still is, another writer changed that one record: only
   * that job stops being saved (the store's conflict), the partition stays served.
   */
  async stale(p: number, key: string): Promise<void> {
    const c = this.#coordinator;
    if (!c || !this.mayWrite(p)) return;
    const ours = await c.confirm(p).catch(() => false);
    if (ours) {
      this.opts.logger.warn({ partition: p, key }, 'partition: a record was changed by another writer while this instance holds the partition; that job is no longer saved');
      return;
    }
    this.opts.logger.error({ partition: p, key }, 'partition: a job store write was refused for its revision and the lease is no longer ours; stale owner: no longer served here');
    this.#lose(p, 'taken');
    await c.release(p).catch((err: unknown) => this.opts.logger.warn({ err, partition: p }, 'partition lease: release failed'));
  }

  /**
   * Graceful handover: release every lease (the jobs are dropped, as for any loss) and leave.
   * The leases are still watched ({@link holderOf}) until {@link finish}: what is pending here
   * goes to their next holders.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#coordinator?.stop();
  }

  /** Stop watching the leases (after {@link close}). */
  finish(): void {
    this.#coordinator?.abandon();
  }

  /** Stop dead, releasing nothing (a crash, for tests). */
  abandon(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#coordinator?.abandon();
  }

  #owns(p: number): boolean {
    return this.#coordinator?.owns(p) ?? false;
  }

  #gain(p: number): void {
    if (this.#closed) return;
    const now = performance.now();
    if (this.#gained.size === 0) this.#firstGainAt = now;
    this.#gained.add(p);
    clearTimeout(this.#timer);
    const wait = Math.min(this.opts.debounceMs ?? 10, this.#firstGainAt + (this.opts.maxDebounceMs ?? 100) - now);
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, wait));
  }

  #flush(): void {
    const batch = [...this.#gained].sort((a, b) => a - b);
    this.#gained.clear();
    this.#chain = this.#chain.then(() => this.#restore(batch));
  }

  async #restore(gained: number[]): Promise<void> {
    const batch = gained.filter((p) => this.#owns(p) && !this.#served.has(p));
    if (batch.length === 0 || this.#closed) return;
    for (const p of batch) this.#restoring.add(p);
    const started = performance.now();
    let done: readonly number[] = [];
    try {
      done = await this.#hooks!.restore(batch, (p) => this.#restoring.has(p) && this.#owns(p));
    } catch (err) {
      this.opts.logger.error({ err, partitions: batch }, 'partitions: restoring their jobs failed; their leases are let go, to be taken again');
      for (const p of batch) {
        if (!this.#restoring.delete(p)) continue;
        this.#hooks!.drop([p]);
        void this.#coordinator?.release(p).catch(() => undefined);
      }
      return;
    }
    const serving: number[] = [];
    for (const p of done) {
      if (!this.#restoring.delete(p) || !this.#owns(p)) continue;
      this.#served.add(p);
      serving.push(p);
    }
    for (const p of batch) this.#restoring.delete(p);
    this.opts.logger.info({ partitions: serving, ms: Math.round(performance.now() - started) }, 'partitions served');
    for (const p of serving) for (const l of this.#listeners.serving) l(p);
  }

  /** A graceful handover: not served from now on (commands wait for the next owner), then its jobs' last changes saved. */
  async #drain(p: number): Promise<void> {
    if (!this.#served.delete(p)) return;
    this.#draining.add(p);
    for (const l of this.#listeners.unserving) l(p);
    await this.#hooks!.flush([p]);
  }

  #lose(p: number, reason: LostReason | 'taken'): void {
    this.#gained.delete(p);
    const wasServed = this.#served.delete(p);
    const wasRestoring = this.#restoring.delete(p);
    const wasDraining = this.#draining.delete(p);
    if (!wasServed && !wasRestoring && !wasDraining) return;
    if (wasServed) for (const l of this.#listeners.unserving) l(p);
    this.#hooks!.drop([p]);
    this.opts.logger.info({ partition: p, reason }, 'partition no longer served');
  }
}
