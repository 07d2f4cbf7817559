/**
 * Partition leases: at most one instance serves a partition at any moment, even across
 * crashes, freezes and stream leader elections. A lease is the key `p.<n>` of the KV bucket
 * `<prefix>_leases` (allow_direct off, so every read goes to the stream leader and is current),
 * value `{holder, epoch}`; every change is a compare-and-set on the key's revision.
 *
 * - acquire: `create` of a free key (absent or deleted), or `update` at the revision a
 *   contender observed unchanged for `leaseMs + marginMs` on its own clock (the holder is dead
 *   or frozen). The epoch is the key's revision before the acquiring write: every acquisition
 *   moves the key past it, so epochs strictly increase per partition. Stamp records with it.
 * - renew: `update` at the held revision every `renewMs`; failures are retried every
 *   `retryMs` until the lease runs out.
 * - self-fencing: the holder stops serving (`onLost`) at the start of its last successful
 *   renew (or acquire) request + leaseMs − marginMs, on its monotonic clock. That request
 *   started before its write, which a contender observes no earlier than it happened, and the
 *   contender waits leaseMs + marginMs from then: the holder has stopped 2 × marginMs before
 *   anyone else can start. `valid(p)` checks the clock itself, for a process that was frozen
 *   past its fence timer.
 *
 * Timings (defaults): lease 12 s, renew every 1 s, margin 0.5 s; why, in docs/cluster.md
 * ("Leases and their timings").
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import { keyOf, parseLease, partitionOfKey, wrongRevision } from './lease-value.js';
import { StaleAlarms } from './stale-alarms.js';
import type { LeaseValue } from './lease-value.js';
import { watchForever } from './watch.js';
import type { Watching } from './watch.js';

export type { LeaseValue } from './lease-value.js';
export { LEASE_DEFAULTS } from './lease-options.js';
export type { LeaseOptions, LostReason } from './lease-options.js';
import { LEASE_DEFAULTS } from './lease-options.js';
import type { LeaseOptions, LostReason } from './lease-options.js';

interface Held {
  revision: number;
  epoch: number;
  fenceAt: number;
  fence: NodeJS.Timeout | undefined;
  renew: NodeJS.Timeout | undefined;
}

export class Leases {
  /** Partition → the last revision seen of its key, and when (local clock) it was first seen. */
  readonly #observed = new Map<number, { revision: number; at: number; value: LeaseValue | undefined }>();
  readonly #held = new Map<number, Held>();
  readonly #epochs = new Map<number, number>(); // partition → the epoch this process last held it with
  readonly #now: () => number;
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly marginMs: number;
  readonly #retryMs: number;
  #watching: Watching | undefined;
  /** A contender's coordinator is told the moment a lease it sees goes stale. */
  readonly #alarms: StaleAlarms;
  #pausedUntil = 0;
  #closed = false;
  #graceful = false;

  private constructor(
    private readonly kv: KV,
    private readonly opts: LeaseOptions,
  ) {
    this.leaseMs = opts.leaseMs ?? LEASE_DEFAULTS.leaseMs;
    this.renewMs = opts.renewMs ?? LEASE_DEFAULTS.renewMs;
    this.marginMs = opts.marginMs ?? LEASE_DEFAULTS.marginMs;
    this.#retryMs = opts.retryMs ?? 250;
    this.#now = opts.now ?? (() => performance.now());
    this.#alarms = new StaleAlarms(this.leaseMs + this.marginMs + 1, (p) => this.opts.onObserved?.(p));
  }

  static async open(nc: NatsConnection, opts: LeaseOptions): Promise<Leases> {
    const kv = await new Kvm(jetstream(nc, { timeout: Math.min(2000, opts.renewMs ?? 2000) })).create(`${opts.prefix}_leases`, {
      history: 1,
      replicas: opts.replicas ?? 1,
      storage: 'file',
      allow_direct: false,
      description: 'jobstate: partition leases',
    });
    const leases = new Leases(kv, opts);
    leases.#watching = watchForever(kv, (e) => leases.#observe(partitionOfKey(e.key), e));
    await leases.#watching.started;
    return leases;
  }

  #observe(p: number, e: KvEntry | null): void {
    if (!Number.isInteger(p)) return;
    const revision = e?.revision ?? 0;
    const known = this.#observed.get(p);
    if (known && known.revision >= revision) return;
    const value = e?.operation === 'PUT' ? parseLease(e) : undefined;
    this.#observed.set(p, { revision, at: this.#now(), value });
    this.#alarms.changed(p, value !== undefined);
    this.opts.onObserved?.(p);
  }

  /** The partitions this instance holds (and may serve). */
  held(): number[] {
    return [...this.#held.keys()].filter((p) => this.valid(p)).sort((a, b) => a - b);
  }

  /** Whether this instance may serve `partition` now: held and not past its fence, by the clock. */
  valid(partition: number): boolean {
    const h = this.#held.get(partition);
    return h !== undefined && this.#now() < h.fenceAt;
  }

  /** The epoch this instance holds `partition` with, if it holds it. */
  epoch(partition: number): number | undefined {
    return this.valid(partition) ? this.#held.get(partition)?.epoch : undefined;
  }

  /** Whether the bucket, read now, still shows this hold of `partition` (same holder and epoch: a refused write was not a takeover). */
  async confirm(partition: number): Promise<boolean> {
    const h = this.#held.get(partition);
    if (!h || !this.valid(partition)) return false;
    const current = await this.kv.get(keyOf(partition));
    const value = current?.operation === 'PUT' ? parseLease(current) : undefined;
    return value?.holder === this.opts.holder && value.epoch === h.epoch && this.#held.get(partition) === h;
  }

  /** Who holds `partition` as far as the watch has seen (maybe stale). */
  holderOf(partition: number): string | undefined {
    return this.#observed.get(partition)?.value?.holder;
  }

  /**
   * Try once to take `partition`: true when this instance holds it afterwards. A lease held by
   * another instance is taken only once its revision has been seen unchanged for leaseMs +
   * marginMs.
   */
  async acquire(partition: number): Promise<boolean> {
    if (this.#closed) return false;
    if (this.valid(partition)) return true;
    const seen = this.#observed.get(partition);
    // Not worth a request: the watch shows another holder's lease still fresh.
    if (seen?.value && !this.#ours(partition, seen.value) && !this.#stale(seen)) return false;
    const current = await this.kv.get(keyOf(partition));
    this.#observe(partition, current);
    const value = current?.operation === 'PUT' ? parseLease(current) : undefined;
    if (value && !this.#ours(partition, value)) {
      const now = this.#observed.get(partition);
      if (!now || now.revision !== current!.revision || !this.#stale(now)) return false;
    }
    const previous = current?.revision ?? 0;
    const start = this.#now();
    const mine: LeaseValue = { holder: this.opts.holder, epoch: previous };
    try {
      const revision = current === null ? await this.kv.create(keyOf(partition), JSON.stringify(mine)) : await this.kv.update(keyOf(partition), JSON.stringify(mine), previous);
      if (this.#closed) {
        // Won while closing: free it again if the close is graceful (a crash would leave it to go stale).
        if (this.#graceful) await this.kv.delete(keyOf(partition), { previousSeq: revision }).catch(() => {});
        return false;
      }
      this.#hold(partition, revision, mine.epoch, start);
      return true;
    } catch (err) {
      if (wrongRevision(err)) return false; // another contender was first
      throw err;
    }
  }

  /**
   * A lease this very process held and has stopped serving (fenced, nobody took it since): it
   * may take it again at once. The same holder id from another process (a restart, or a
   * misconfigured twin) is treated as anyone else's and waits until the lease is stale.
   */
  #ours(p: number, value: LeaseValue): boolean {
    return value.holder === this.opts.holder && (this.opts.reclaimOwn === true || this.#epochs.get(p) === value.epoch);
  }

  #stale(seen: { at: number }): boolean {
    return this.#now() - seen.at >= this.leaseMs + this.marginMs;
  }

  #hold(p: number, revision: number, epoch: number, start: number): void {
    const h: Held = { revision, epoch, fenceAt: start + this.leaseMs - this.marginMs, fence: undefined, renew: undefined };
    this.#held.set(p, h);
    this.#epochs.set(p, epoch);
    this.#arm(p, h, start);
    this.opts.onGained?.(p, epoch);
  }

  /** (Re)schedule the fence at h.fenceAt and the next renew `renewMs` after `start`. */
  #arm(p: number, h: Held, start: number): void {
    clearTimeout(h.fence);
    clearTimeout(h.renew);
    h.fence = setTimeout(() => this.#fence(p, h), Math.max(0, h.fenceAt - this.#now()));
    h.renew = setTimeout(() => void this.#renew(p, h), Math.max(0, start + this.renewMs - this.#now()));
  }

  #fence(p: number, h: Held): void {
    if (this.#held.get(p) !== h) return;
    if (this.#now() >= h.fenceAt) this.#drop(p, h, 'expired');
    else h.fence = setTimeout(() => this.#fence(p, h), h.fenceAt - this.#now());
  }

  #drop(p: number, h: Held, reason: LostReason): void {
    clearTimeout(h.fence);
    clearTimeout(h.renew);
    if (this.#held.get(p) !== h) return;
    this.#held.delete(p);
    this.opts.onLost?.(p, reason);
  }

  async #renew(p: number, h: Held): Promise<void> {
    if (this.#held.get(p) !== h || this.#closed) return;
    const now = this.#now();
    // Woken past the fence (a frozen process): lost, even if no one took it; acquire anew, with a new epoch.
    if (now >= h.fenceAt) return this.#drop(p, h, 'expired');
    if (now < this.#pausedUntil) {
      h.renew = setTimeout(() => void this.#renew(p, h), this.#pausedUntil - now);
      return;
    }
    const start = now;
    try {
      const revision = await this.kv.update(keyOf(p), JSON.stringify({ holder: this.opts.holder, epoch: h.epoch }), h.revision);
      if (this.#held.get(p) !== h) return;
      h.revision = revision;
      if (start + this.leaseMs - this.marginMs > h.fenceAt) h.fenceAt = start + this.leaseMs - this.marginMs;
      this.#arm(p, h, start);
    } catch (err) {
      if (this.#held.get(p) !== h) return;
      if (wrongRevision(err)) {
        const current = await this.kv.get(keyOf(p)).catch(() => undefined);
        if (this.#held.get(p) !== h) return;
        const value = current?.operation === 'PUT' ? parseLease(current) : undefined;
        if (current && (value?.holder !== this.opts.holder || value.epoch !== h.epoch)) return this.#drop(p, h, 'taken');
        // Our own write whose reply was lost: go on from it, without extending the fence.
        if (current) h.revision = current.revision;
      }
      h.renew = setTimeout(() => void this.#renew(p, h), this.#retryMs);
    }
  }

  /** Stop serving `partition` now, then free its key (at our revision only) for the next holder. */
  async release(partition: number): Promise<void> {
    const h = this.#held.get(partition);
    if (!h) return;
    this.#drop(partition, h, 'released');
    await this.#free(partition, h).catch(() => {
      // Unreachable: a contender takes it once it is stale.
    });
  }

  /**
   * Delete the key of a hold let go. A renewal in flight may land first and move the key past
   * the revision known here (its answer is ignored once dropped): while the key still shows
   * this hold (holder and epoch), the delete is tried again at its revision; a key that shows
   * another hold is not ours to free.
   */
  async #free(p: number, h: Held): Promise<void> {
    let revision = h.revision;
    for (let tries = 0; tries < 3; tries++) {
      try {
        await this.kv.delete(keyOf(p), { previousSeq: revision });
        return;
      } catch (err) {
        if (!wrongRevision(err)) throw err;
      }
      const current = await this.kv.get(keyOf(p));
      const value = current?.operation === 'PUT' ? parseLease(current) : undefined;
      if (value?.holder !== this.opts.holder || value.epoch !== h.epoch) return;
      revision = current!.revision;
    }
  }

  /** Release every held partition (graceful handover), then stop. */
  async close(): Promise<void> {
    this.#graceful = true;
    await Promise.all([...this.#held.keys()].map((p) => this.release(p)));
    // Still watched until abandon(): the next holders are known to what this instance hands over.
    this.#closed = true;
  }

  /** Send no renewals for `ms`, as a frozen process would not (fencing goes on): tests use it. */
  pause(ms: number): void {
    this.#pausedUntil = this.#now() + ms;
  }

  /** Stop all timers and the watch without releasing or calling onLost (as a crash would). */
  abandon(): void {
    this.#closed = true;
    for (const h of this.#held.values()) [h.fence, h.renew].forEach(clearTimeout);
    this.#held.clear();
    this.#alarms.stop();
    this.#watching?.stop();
  }
}
