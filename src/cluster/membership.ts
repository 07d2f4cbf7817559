/**
 * Which instances are alive: each announces itself in the KV bucket `<prefix>_members` (key =
 * its id) with a put every `heartbeatMs`, and watches the bucket for the others. A member is
 * gone when its key is deleted (graceful leave) or when its last heartbeat, timed on this
 * instance's own monotonic clock from when the watch delivered it, is older than `ttlMs`. The
 * bucket's max_age (= ttlMs) lets the server drop dead members' keys too, but nats-server 2.9
 * sends no watch notification for that expiry, hence the local clock.
 *
 * Timings (defaults): heartbeat 1 s, ttl 5 s: a member survives four lost heartbeats. A leader
 * election of the members stream stalls puts for 3–7 s (measured), so members may briefly look
 * gone; that only delays or retries acquisitions — leases, not membership, keep each partition
 * owned once — and a member that looks gone only adds partitions to the others' wish lists. Self is always a member of its own view.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV, KvEntry } from '@nats-io/kv';
import { watchForever } from './watch.js';
import type { Watching } from './watch.js';

export interface MembershipOptions {
  /** The subject prefix: the bucket is `<prefix>_members` (letters, digits, `-`, `_`). */
  prefix: string;
  /** This instance's id (a KV key: letters, digits, `-`, `_`, `=`). */
  id: string;
  /** @defaultValue 1000 */
  heartbeatMs?: number;
  /** How long a member stays without a heartbeat; also the bucket's max_age. @defaultValue 5000 */
  ttlMs?: number;
  /** Replicas of the bucket's stream (3 on a cluster). @defaultValue 1 */
  replicas?: number;
  /** Called (synchronously) whenever the live member set changes. */
  onChange?: (members: string[]) => void;
  /** Monotonic clock. @defaultValue performance.now */
  now?: () => number;
}

/** Another live process already uses this instance's id. */
export class InstanceIdInUseError extends Error {
  constructor(readonly id: string) {
    super(`instance id ${id} is in use by a live instance; set JOBS_INSTANCE_ID to another id for this one`);
    this.name = 'InstanceIdInUseError';
  }
}

/**
 * Refuse to join as `id` while another process heartbeats under it. A recent heartbeat may be
 * a crashed predecessor's (a restart after SIGKILL): wait a little over one heartbeat and look
 * again; only a new heartbeat means a live twin. An old one (or none) costs no wait.
 */
async function refuseLiveTwin(kv: KV, id: string, heartbeatMs: number, ttlMs: number): Promise<void> {
  const seen = await kv.get(id);
  if (seen?.operation !== 'PUT') return;
  let at = 0;
  try {
    at = Number(seen.json<{ at?: unknown }>().at) || 0;
  } catch {
    // Not ours to read: treat as old.
  }
  if (Date.now() - at > ttlMs) return;
  await new Promise((resolve) => setTimeout(resolve, heartbeatMs + 250));
  const again = await kv.get(id);
  if (again?.operation === 'PUT' && again.revision !== seen.revision) throw new InstanceIdInUseError(id);
}

export class Membership {
  /** Member id → (revision of its last heartbeat, local time it was first seen). */
  readonly #seen = new Map<string, { revision: number; at: number }>();
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #live: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #watching: Watching | undefined;
  #pausedUntil = 0;
  #closed = false;

  private constructor(
    private readonly kv: KV,
    private readonly opts: MembershipOptions,
  ) {
    this.#heartbeatMs = opts.heartbeatMs ?? 1000;
    this.#ttlMs = opts.ttlMs ?? 5000;
    this.#now = opts.now ?? (() => performance.now());
    this.#live = [opts.id];
  }

  /** Open (creating if need be) the bucket, announce this instance, and start watching. */
  static async join(nc: NatsConnection, opts: MembershipOptions): Promise<Membership> {
    const ttl = opts.ttlMs ?? 5000;
    const kv = await new Kvm(jetstream(nc, { timeout: 2000 })).create(`${opts.prefix}_members`, {
      history: 1,
      ttl,
      replicas: opts.replicas ?? 1,
      storage: 'file',
      allow_direct: false,
      description: 'jobstate: live instances (heartbeats)',
    });
    const m = new Membership(kv, opts);
    await refuseLiveTwin(kv, opts.id, m.#heartbeatMs, ttl);
    await m.#beat();
    m.#watching = watchForever(kv, (e) => m.#onEntry(e));
    await m.#watching.started;
    m.#timer = setInterval(() => void m.#beat(), m.#heartbeatMs);
    m.#sweeper = setInterval(() => m.#recompute(), Math.max(100, Math.floor(m.#heartbeatMs / 2)));
    return m;
  }

  get id(): string {
    return this.opts.id;
  }

  /** The live members, sorted, self included. */
  members(): string[] {
    return this.#live;
  }

  async #beat(): Promise<void> {
    if (this.#closed || this.#now() < this.#pausedUntil) return;
    await this.kv.put(this.opts.id, JSON.stringify({ id: this.opts.id, at: Date.now() })).catch(() => {
      // A lost heartbeat is retried by the next one; the ttl covers several.
    });
  }

  #onEntry(e: KvEntry): void {
    if (e.operation === 'PUT') {
      const known = this.#seen.get(e.key);
      if (!known || known.revision !== e.revision) this.#seen.set(e.key, { revision: e.revision, at: this.#now() });
    } else {
      this.#seen.delete(e.key);
    }
    this.#recompute();
  }

  #recompute(): void {
    if (this.#closed) return;
    const now = this.#now();
    const live = new Set([this.opts.id]);
    for (const [id, { at }] of this.#seen) {
      if (now - at <= this.#ttlMs) live.add(id);
      else this.#seen.delete(id); // it may come back with its next heartbeat
    }
    const next = [...live].sort();
    if (next.length === this.#live.length && next.every((m, i) => m === this.#live[i])) return;
    this.#live = next;
    this.opts.onChange?.(next);
  }

  /** Send no heartbeat for `ms` (as a frozen process would not): tests use it. */
  pause(ms: number): void {
    this.#pausedUntil = this.#now() + ms;
  }

  #stopTimers(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#sweeper);
    this.#watching?.stop();
  }

  /** Leave gracefully: stop heartbeating and delete the key, so the others see it at once. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#stopTimers();
    await this.kv.delete(this.opts.id).catch(() => {
      // Not reachable: the others drop this member after ttlMs.
    });
  }

  /** Stop everything without a word to the others (as a crash would): tests use it. */
  abandon(): void {
    this.#stopTimers();
  }
}
