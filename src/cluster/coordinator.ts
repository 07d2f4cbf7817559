/**
 * One instance's part in sharing a prefix: it joins the membership, computes the rendezvous
 * assignment of the partitions over the live members, takes the leases of the partitions
 * assigned to it and releases (gracefully: stop serving, then delete the key) the ones that
 * are not. `onGained(p, epoch)` / `onLost(p)` tell the integrator when to start and stop serving
 * a partition; only the leases decide that, so two instances that briefly disagree about the
 * member set (a heartbeat stall) never serve one partition at once — they only wait.
 *
 * It reconsiders on every membership change, on every lease change it observes, the moment a
 * lease it sees goes stale (stale-alarms.ts), and every `reconcileMs` (default 250 ms, for
 * anything else the clock decides). `stop()` hands everything over within a watch round trip.
 */
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionsOf } from './assignment.js';
import { Leases } from './lease.js';
import type { LeaseOptions, LostReason } from './lease.js';
import { Membership } from './membership.js';
import type { MembershipOptions } from './membership.js';
import { DEFAULT_PARTITIONS } from './partition.js';

export interface CoordinatorOptions {
  prefix: string;
  /** This instance's id. @defaultValue a random UUID */
  id?: string;
  /** @defaultValue DEFAULT_PARTITIONS (32) */
  partitions?: number;
  /** Replicas of both buckets' streams (3 on a cluster). @defaultValue 1 */
  replicas?: number;
  lease?: Pick<LeaseOptions, 'leaseMs' | 'renewMs' | 'marginMs' | 'retryMs' | 'reclaimOwn'>;
  membership?: Pick<MembershipOptions, 'heartbeatMs' | 'ttlMs'>;
  /** @defaultValue 250 */
  reconcileMs?: number;
  onGained?: (partition: number, epoch: number) => void;
  /** A partition is about to be handed over gracefully (the assignment moved it): save what it has. */
  beforeRelease?: (partition: number) => Promise<void>;
  onLost?: (partition: number, reason: LostReason) => void;
  /** An acquisition or release failed (it is tried again at the next round). */
  onError?: (err: unknown, partition: number) => void;
}

export class Coordinator {
  readonly partitions: number;
  #timer: NodeJS.Timeout | undefined;
  #pending = false;
  #busy = new Set<number>();
  #pausedUntil = 0;
  #stopped = false;

  private constructor(
    readonly id: string,
    private readonly opts: CoordinatorOptions,
    private readonly leases: Leases,
    private readonly membership: Membership,
  ) {
    this.partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  }

  static async start(nc: NatsConnection, opts: CoordinatorOptions): Promise<Coordinator> {
    const id = opts.id ?? randomUUID();
    const replicas = opts.replicas ?? 1;
    // The parts call back into the coordinator, which exists once they do; nothing happens before (no lease is held yet).
    let c: Coordinator | undefined;
    // Both at once (a start waits for neither's round trips twice); no lease is taken before both are up.
    const [leasesOpened, joined] = await Promise.allSettled([
      Leases.open(nc, {
        ...opts.lease,
        prefix: opts.prefix,
        holder: id,
        replicas,
        onGained: (p, epoch) => opts.onGained?.(p, epoch),
        onLost: (p, reason) => {
          opts.onLost?.(p, reason);
          c?.schedule();
        },
        onObserved: () => c?.schedule(),
      }),
      Membership.join(nc, { ...opts.membership, prefix: opts.prefix, id, replicas, onChange: () => c?.schedule() }),
    ]);
    if (leasesOpened.status === 'rejected' || joined.status === 'rejected') {
      if (leasesOpened.status === 'fulfilled') leasesOpened.value.abandon();
      if (joined.status === 'fulfilled') joined.value.abandon();
      throw joined.status === 'rejected' ? joined.reason : (leasesOpened as PromiseRejectedResult).reason;
    }
    const leases = leasesOpened.value;
    const membership = joined.value;
    c = new Coordinator(id, opts, leases, membership);
    c.#timer = setInterval(() => c.schedule(), opts.reconcileMs ?? 250);
    c.schedule();
    return c;
  }

  /** The live members as this instance sees them. */
  members(): string[] {
    return this.membership.members();
  }

  /** The instance holding `partition`'s lease as the watch has seen it (maybe stale). */
  holderOf(partition: number): string | undefined {
    return this.leases.holderOf(partition);
  }

  /** The partitions this instance holds and may serve now. */
  owned(): number[] {
    return this.leases.held();
  }

  /** Whether this instance may serve `partition` now (checks the clock: safe after a freeze). */
  owns(partition: number): boolean {
    return this.leases.valid(partition);
  }

  /** Whether the leases bucket, read now, still shows this instance holding `partition`. */
  confirm(partition: number): Promise<boolean> {
    return this.leases.confirm(partition);
  }

  /** The epoch to stamp `partition`'s records with, while this instance holds it. */
  epochOf(partition: number): number | undefined {
    return this.leases.epoch(partition);
  }

  /**
   * Stop serving `partition` now and free its lease (a stale owner's write was refused); the
   * next round takes it again if the assignment still says so and nobody else holds it.
   */
  async release(partition: number): Promise<void> {
    await this.leases.release(partition);
    this.schedule();
  }

  /** The partitions the assignment gives this instance (held or not yet). */
  assigned(): number[] {
    return partitionsOf(this.id, this.membership.members(), this.partitions);
  }

  private schedule(): void {
    if (this.#stopped || this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      this.#reconcile();
    });
  }

  #reconcile(): void {
    if (this.#stopped || performance.now() < this.#pausedUntil) return;
    const want = new Set(this.assigned());
    for (let p = 0; p < this.partitions; p++) {
      if (this.#busy.has(p)) continue;
      const held = this.leases.valid(p);
      if (want.has(p) && !held) this.#attempt(p, () => this.leases.acquire(p));
      else if (!want.has(p) && held) this.#attempt(p, () => this.#handOver(p));
    }
  }

  async #handOver(p: number): Promise<void> {
    await this.opts.beforeRelease?.(p);
    await this.leases.release(p);
  }

  /** One request per partition at a time; failures wait for the next round. */
  #attempt(p: number, op: () => Promise<unknown>): void {
    this.#busy.add(p);
    op()
      .catch((err: unknown) => this.opts.onError?.(err, p))
      .finally(() => this.#busy.delete(p));
  }

  /** Graceful stop: stop serving and free every partition, then leave the membership (the leases are still watched until {@link abandon}). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.leases.close();
    await this.membership.leave();
  }

  /** Stop dead, telling no one and releasing nothing (as a crash would): tests use it. */
  abandon(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.leases.abandon();
    this.membership.abandon();
  }

  /**
   * Act frozen for `ms` (as under SIGSTOP): no heartbeats, no renewals, no acquisitions. The
   * fence timers still run, as the clock check in `owns()` would catch a real freeze.
   */
  pause(ms: number): void {
    this.#pausedUntil = performance.now() + ms;
    this.leases.pause(ms);
    this.membership.pause(ms);
  }
}
