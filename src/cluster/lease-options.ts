/** What a partition lease (lease.ts) is configured with, and why one is lost. */

/** The default timings, ms; why these, in docs/cluster.md ("Leases and their timings"). */
export const LEASE_DEFAULTS = { leaseMs: 12_000, renewMs: 1000, marginMs: 500 } as const;

export type LostReason = 'expired' | 'taken' | 'released';

export interface LeaseOptions {
  /** The bucket is `<prefix>_leases`. */
  prefix: string;
  /** This instance's id, written as the holder. */
  holder: string;
  /** @defaultValue 12000 */
  leaseMs?: number;
  /** @defaultValue 1000 */
  renewMs?: number;
  /** @defaultValue 500 */
  marginMs?: number;
  /** Between retries of a failed renew. @defaultValue 250 */
  retryMs?: number;
  /**
   * Take back at once a lease held under this holder id by an earlier process (a restart after a
   * crash): only for a caller sure no live process shares the id (membership.ts refuses a live
   * twin) and whose writes are revision-checked anyway. @defaultValue false
   */
  reclaimOwn?: boolean;
  /** Replicas of the bucket's stream (3 on a cluster). @defaultValue 1 */
  replicas?: number;
  /** This instance now holds `partition` with `epoch`. */
  onGained?: (partition: number, epoch: number) => void;
  /** This instance must stop serving `partition` (called before anyone else can hold it). */
  onLost?: (partition: number, reason: LostReason) => void;
  /** A lease changed in the bucket (any holder): a coordinator reconsiders. */
  onObserved?: (partition: number) => void;
  /** Monotonic clock. @defaultValue performance.now */
  now?: () => number;
}
