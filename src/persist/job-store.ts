/**
 * The job store: one JetStream KV entry per job (and per grouped transaction), holding what
 * it takes to bring the job back after a restart — its actor's persisted snapshot and what the
 * runtime keeps beside it (records.ts). This is its public face; the work is done in:
 *
 * - coalescing.ts: writes are behind the changes and coalesced — a key's latest state is
 *   written at the next turn of the event loop (progress within a second), once however often
 *   it changed, and not at all if it came and went within the turn;
 * - write-behind.ts: every write is revision-checked (create, or update/delete against the
 *   revision last written or read), at most one in flight per key; failed writes are retried;
 *   updates of existing keys are pipelined (kv-updates.ts);
 * - unknown-outcomes.ts: a write whose acknowledgement was lost is recognised as ours when it
 *   landed after all; only another writer's change is a conflict ({@link StoreConflictError}),
 *   and the key is then written no more;
 * - save-waits.ts: {@link JobStore.saved} resolves once everything changed before the call is
 *   written, so that a command's reply can wait until what it reports is durable;
 * - bucket-reads.ts: reading every record at start, setting bad records aside, and values
 *   written once and never changed (the instance id, beside the write-behind).
 *
 * No other writer is expected in the bucket: each write is checked so that one that appears
 * is never overwritten, not so that several can share it.
 */
import { jetstream } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { getOrCreate, loadAll, setAside } from './bucket-reads.js';
import { KvUpdates } from './kv-updates.js';
import type { StoredRecord } from './records.js';
import type { StoreConflictError } from './store-errors.js';
import { WriteBehind } from './write-behind.js';
import type { LandedListener, RecordSource, WriteBehindOptions } from './write-behind.js';

export { NotSavedError, StoreConflictError } from './store-errors.js';
export type { LandedListener, RecordSource } from './write-behind.js';

/** How long JetStream may take to acknowledge a write before it is given up (and tried again), ms. */
const WRITE_TIMEOUT_MS = 2000;

export interface JobStoreOptions extends WriteBehindOptions {
  /** How long JetStream may take to acknowledge a write before its outcome counts as unknown, ms. @defaultValue 2000 */
  writeTimeoutMs?: number;
  /** The event stream and the prefix of its subjects: where a restore checks which saved events are out (outbox.ts). */
  events?: EventStreamRef;
  /** Copies of the bucket on a cluster (JOBS_REPLICAS), when it is created. @defaultValue 1 */
  replicas?: number;
}

/** Where the service's events are kept. */
export interface EventStreamRef {
  readonly stream: string;
  readonly prefix: string;
}

export class JobStore {
  readonly #writes: WriteBehind;
  /** Updates of existing keys, pipelined (creates and deletes go through `kv`). */
  readonly #updates: KvUpdates;

  /** The event stream, if the store was told of it. */
  readonly events: EventStreamRef | undefined;

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly kv: KV,
    readonly bucket: string,
    opts: JobStoreOptions,
  ) {
    this.#updates = new KvUpdates(nc, bucket, opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS);
    this.#writes = new WriteBehind(nc, kv, this.#updates, opts);
    this.events = opts.events;
  }

  /** Open (creating if need be) the bucket: one value per key, file storage. */
  static async open(nc: NatsConnection, bucket: string, opts: JobStoreOptions): Promise<JobStore> {
    // A write whose ack a nats-server restart swallowed is given up (and tried again) after 2 s, not JetStream's default 5 s.
    const js = jetstream(nc, { timeout: opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS });
    const replicas = opts.replicas ?? 1;
    const kv = await new Kvm(js).create(bucket, {
      history: 1,
      storage: 'file',
      replicas,
      // Replicated: reads from the leader only, a follower's may be behind (a takeover must read current records).
      ...(replicas > 1 && { allow_direct: false }),
      description: 'jobstate: one record per job',
    });
    return new JobStore(nc, js, kv, bucket, opts);
  }

  // Reading (at start)

  /** Every record in the store with the revision it was written at (bucket-reads.ts); a record that is not JSON comes with `bad`. */
  loadAll(): Promise<StoredRecord[]> {
    return loadAll(this.kv, this.js, this.bucket);
  }

  /**
   * The value of `key` (JSON, as every value of the bucket), stored first as `make()` if the
   * store has none. Written once and never changed by the write-behind (the service's instance
   * id); when two writers race, the first one's value is everyone's. A value that is not JSON
   * or not `valid` is set aside ({@link setAside}; `rejected` is told why) and replaced.
   */
  getOrCreate<T>(key: string, make: () => T, valid: (value: unknown) => value is T, rejected: (revision: number, reason: string) => void): Promise<T> {
    return getOrCreate(this.kv, key, make, valid, rejected);
  }

  /**
   * Move the record of `key` at `revision` aside, byte for byte, to `aside.<key>` (where the
   * service never reads jobs from), and remove it from its place (unless it changed since).
   */
  setAside(key: string, revision: number): Promise<void> {
    return setAside(this.kv, key, revision);
  }

  /** A key read by {@link loadAll}: later writes are checked against its revision. */
  adopt(key: string, revision: number): void {
    this.#writes.adopt(key, revision);
  }

  /**
   * Forget a key: nothing more of it is written (its record was not restored after all, or its
   * partition is served elsewhere now). Its pending waits end at once with `err`, if given.
   */
  forget(key: string, err?: Error): void {
    this.#writes.forget(key, err);
  }

  // Writing

  /**
   * The key's state changed: write `source()` (or delete the key, if it returns undefined) at
   * the next turn of the event loop — or, for a `minor` change (progress), within
   * `MINOR_DELAY_MS` (coalescing.ts), so that a job reporting progress often is written once a second
   * at most. A later change that is not minor takes a pending minor one with it.
   */
  changed(key: string, source: RecordSource, minor = false): void {
    this.#writes.changed(key, source, minor);
  }

  /** The key is gone: delete it from the store (if it was ever written). */
  removed(key: string): void {
    this.changed(key, () => undefined);
  }

  /**
   * Resolves once the state of every key in `keys`, as of now, is written; rejects with a
   * {@link NotSavedError} after `timeoutMs` (the writes go on), or with a key's conflict.
   */
  saved(keys: Iterable<string>, timeoutMs = Infinity): Promise<void> {
    return this.#writes.saved(keys, timeoutMs);
  }

  /** The keys matching `filter` whose latest changes are not written yet (removals too). */
  unsaved(filter: (key: string) => boolean): string[] {
    return this.#writes.unsaved(filter);
  }

  /** The conflict that stopped writes to `key`, if another writer changed its record. */
  conflict(key: string): StoreConflictError | undefined {
    return this.#writes.conflict(key);
  }

  /** Be told each value once it is written (undefined: its key deleted), before the waits for it end. */
  onLanded(listener: LandedListener): () => void {
    return this.#writes.onLanded(listener);
  }

  /** Delete markers of keys removed more than `olderMs` ago (they would otherwise stay forever). */
  async purgeDeletes(olderMs: number): Promise<void> {
    await (this.kv as KV & { purgeDeletes(older?: number): Promise<unknown> }).purgeDeletes(olderMs);
  }

  // Stopping

  /**
   * Write everything still dirty and wait for it, `timeoutMs` at most (the service is
   * stopping; what is not written by then stays as it was last written).
   */
  flush(timeoutMs = 5000): Promise<void> {
    return this.#writes.flush(timeoutMs);
  }

  /** Stop writing (after {@link flush}). */
  close(): void {
    this.#writes.close();
    this.#updates.close();
  }
}
