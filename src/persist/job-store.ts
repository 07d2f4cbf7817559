/**
 * The job store: one JetStream KV entry per job (and per grouped transaction), holding what
 * it takes to bring the job back after a restart — its actor's persisted snapshot and what the
 * runtime keeps beside it.
 *
 * Writes are behind and coalesced: a change marks the key dirty, and the key's latest state is
 * written at the next turn of the event loop, at most one write in flight per key, each with a
 * revision check (a create for a new key, an update against the last revision written). A
 * job that comes and goes within one turn is never written at all. {@link JobStore.saved}
 * resolves once everything changed before the call is written, so that a command's reply can
 * wait until what it reports is durable.
 *
 * A failed write (JetStream unreachable, a timeout) is retried with backoff, and at once when
 * the connection comes back after a nats-server restart. A write whose outcome is unknown (its
 * acknowledgement late or lost) may have landed: when a later write is refused because the
 * key's revision moved, the record is read back, and if it holds one of the values this store
 * wrote, saving goes on from its revision. Only a record holding something else is a conflict
 * (another writer changed the key): writes to that key stop and its waiters fail with a
 * {@link StoreConflictError}.
 */
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { KvUpdates } from './kv-updates.js';

/** How long a minor change (progress) may wait to be written, ms. */
export const MINOR_DELAY_MS = 1000;

/** What one write needs: the value to store, or `undefined` to delete the key. */
export type RecordSource = () => unknown;

/** The most writes started in one turn of the event loop. */
const WRITES_PER_TURN = 32;

/** How long JetStream may take to acknowledge a write before it is given up (and tried again), ms. */
const WRITE_TIMEOUT_MS = 2000;

/**
 * One {@link JobStore.saved} call: it resolves when `remaining` reaches 0, or rejects (once)
 * with a conflict or at its deadline.
 */
interface Wait {
  remaining: number;
  resolve: () => void;
  reject: (err: Error) => void;
  /** performance.now() after which it fails with a {@link NotSavedError}; Infinity: never. */
  deadline: number;
  timeoutMs: number;
  done: boolean;
}

interface KeyState {
  /** The revision of the last write that landed (none: the key is not in the store). */
  revision?: number;
  /** Bumped by every change; `written` catches up with it. */
  version: number;
  written: number;
  /** The latest state to write. */
  source: RecordSource;
  inFlight: boolean;
  /** Waits for a version to be written. */
  waiters: Array<{ version: number; wait: Wait }>;
  /** Set once another writer changed the key: nothing more is written. */
  conflict?: StoreConflictError;
  /**
   * Writes since the last one known to have landed whose outcome is unknown (no
   * acknowledgement in time, a reconnect): `data` undefined for a delete.
   */
  unknown?: Unknown[];
}

/** A write that may or may not have landed. */
interface Unknown {
  data: string | undefined;
  version: number;
}

export interface JobStoreOptions {
  logger: Logger;
  /** The first retry after a failed write, ms (doubling up to 2 s). @defaultValue 100 */
  retryMs?: number;
  /** How long JetStream may take to acknowledge a write before its outcome counts as unknown, ms. @defaultValue 2000 */
  writeTimeoutMs?: number;
  /** Called with the time each write took, seconds (the service's metrics). */
  onWrite?: (seconds: number) => void;
}

export class JobStore {
  readonly #keys = new Map<string, KeyState>();
  readonly #dirty = new Set<string>();
  /** Keys with only minor changes, written at the next {@link #scheduleMinor} turn. */
  readonly #minor = new Set<string>();
  #minorTimer: NodeJS.Timeout | undefined;
  /** Keys whose last write failed, with the timer of their next try. */
  readonly #retrying = new Map<string, NodeJS.Timeout>();
  #scheduled = false;
  #closed = false;
  /** Updates of existing keys, pipelined (creates and deletes go through `kv`). */
  readonly #updates: KvUpdates;
  /** Waits with a deadline, and the one timer that fails the late ones. */
  readonly #timed = new Set<Wait>();
  #waitTimer: NodeJS.Timeout | undefined;
  #waitTimerAt = Infinity;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly kv: KV,
    readonly bucket: string,
    private readonly opts: JobStoreOptions,
  ) {
    this.#updates = new KvUpdates(nc, bucket, opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS);
  }

  /** Open (creating if need be) the bucket: one value per key, file storage. */
  static async open(nc: NatsConnection, bucket: string, opts: JobStoreOptions): Promise<JobStore> {
    // A write whose ack a nats-server restart swallowed is given up (and tried again) after 2 s, not JetStream's default 5 s.
    const js = jetstream(nc, { timeout: opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS });
    const kv = await new Kvm(js).create(bucket, {
      history: 1,
      storage: 'file',
      description: 'jobstate: one record per job',
    });
    const store = new JobStore(nc, js, kv, bucket, opts);
    store.#retryOnReconnect();
    return store;
  }

  /** Once the connection is back (a nats-server restart), every failed write is tried again at once. */
  #retryOnReconnect(): void {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (this.#closed) break;
        if (status.type !== 'reconnect') continue;
        for (const [key, timer] of this.#retrying) {
          clearTimeout(timer);
          this.#retrying.delete(key);
          const state = this.#keys.get(key);
          if (state && !state.inFlight) void this.#writeKey(key, state, 0);
        }
      }
    })();
  }

  /**
   * Every record in the store with the revision it was written at, read at once: an ordered
   * consumer of the bucket's stream (the last value of each key), pulled in large batches —
   * not a request per key.
   */
  async loadAll(): Promise<Array<{ key: string; revision: number; value?: unknown; bad?: string }>> {
    const status = await this.kv.status();
    if (status.values === 0) return [];
    const out: Array<{ key: string; revision: number; value?: unknown; bad?: string }> = [];
    const head = `$KV.${this.bucket}.`;
    const consumer = await this.js.consumers.get(status.streamInfo.config.name, { deliver_policy: DeliverPolicy.LastPerSubject });
    const messages = await consumer.consume({ max_messages: 10_000 });
    try {
      for await (const m of messages) {
        const operation = m.headers?.get('KV-Operation');
        if (operation !== 'DEL' && operation !== 'PURGE') out.push({ key: m.subject.slice(head.length), revision: m.seq, ...parsed(m.data) });
        if (m.info.pending === 0) break;
      }
    } finally {
      await messages.close();
    }
    return out;
  }

  /**
   * The value of `key` (JSON, as every value of the bucket), stored first as `make()` if the
   * store has none. Written once and never changed by the write-behind (the service's instance
   * id); when two writers race, the first one's value is everyone's. A value that is not JSON
   * or not `valid` is set aside ({@link setAside}; `rejected` is told why) and replaced.
   */
  async getOrCreate<T>(key: string, make: () => T, valid: (value: unknown) => value is T, rejected: (revision: number, reason: string) => void): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') {
        const read = parsed(entry.value);
        if ('value' in read && valid(read.value)) return read.value;
        if (attempt >= 3) throw new Error(`The job store's '${key}' keeps being replaced with what is not valid`);
        rejected(entry.revision, 'bad' in read ? read.bad : `not valid: ${JSON.stringify(read.value).slice(0, 200)}`);
        await this.setAside(key, entry.revision);
        continue;
      }
      const value = make();
      try {
        await this.kv.create(key, JSON.stringify(value));
        return value;
      } catch (err) {
        if (!isConflict(err) || attempt >= 3) throw err;
      }
    }
  }

  /** Forget a key {@link adopt}ed (its record was not restored after all): nothing of it is written. */
  forget(key: string): void {
    const state = this.#keys.get(key);
    if (state && !state.inFlight) this.#keys.delete(key);
    this.#dirty.delete(key);
    this.#minor.delete(key);
  }

  /**
   * Move the record of `key` at `revision` aside, byte for byte, to `aside.<key>` (where the
   * service never reads jobs from), and remove it from its place (unless it changed since).
   */
  async setAside(key: string, revision: number): Promise<void> {
    const entry = await this.kv.get(key, { revision });
    if (!entry) return;
    await this.kv.put(`aside.${key}`, entry.value);
    await this.kv.delete(key, { previousSeq: revision });
  }

  /** The conflict that stopped writes to `key`, if another writer changed its record. */
  conflict(key: string): StoreConflictError | undefined {
    return this.#keys.get(key)?.conflict;
  }

  /** A key read by {@link loadAll}: later writes are checked against its revision. */
  adopt(key: string, revision: number): void {
    this.#keys.set(key, { revision, version: 0, written: 0, source: () => undefined, inFlight: false, waiters: [] });
  }

  /**
   * The key's state changed: write `source()` (or delete the key, if it returns undefined) at
   * the next turn of the event loop — or, for a `minor` change (progress), within
   * {@link MINOR_DELAY_MS}, so that a job reporting progress often is written once a second
   * at most. A later change that is not minor takes a pending minor one with it.
   */
  changed(key: string, source: RecordSource, minor = false): void {
    let state = this.#keys.get(key);
    if (!state) {
      state = { version: 0, written: 0, source, inFlight: false, waiters: [] };
      this.#keys.set(key, state);
    }
    state.source = source;
    state.version++;
    if (minor) {
      if (this.#dirty.has(key) || this.#minor.has(key)) return;
      this.#minor.add(key);
      this.#scheduleMinor();
      return;
    }
    this.#minor.delete(key);
    this.#dirty.add(key);
    this.#schedule();
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
    let wait: Wait | undefined;
    for (const key of keys) {
      const state = this.#keys.get(key);
      if (!state || state.written >= state.version) continue;
      if (state.conflict) {
        if (wait) wait.done = true;
        return Promise.reject(state.conflict);
      }
      if (this.#minor.delete(key)) {
        // Asked for: no waiting for the minor changes' turn.
        this.#dirty.add(key);
        this.#schedule();
      }
      wait ??= { remaining: 0, resolve: noop, reject: noop, deadline: Infinity, timeoutMs, done: false };
      wait.remaining++;
      state.waiters.push({ version: state.version, wait });
    }
    if (!wait) return Promise.resolve();
    const w = wait;
    const promise = new Promise<void>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    if (timeoutMs !== Infinity) {
      w.deadline = performance.now() + timeoutMs;
      this.#timed.add(w);
      this.#armWaits(w.deadline);
    }
    return promise;
  }

  /** One timer for every wait with a deadline, armed for the earliest (`at`, performance.now() time). */
  #armWaits(at: number): void {
    if (this.#waitTimer) {
      if (this.#waitTimerAt <= at) return;
      clearTimeout(this.#waitTimer);
    }
    this.#waitTimerAt = at;
    this.#waitTimer = setTimeout(() => this.#expireWaits(), Math.max(1, at - performance.now()));
    this.#waitTimer.unref();
  }

  #expireWaits(): void {
    this.#waitTimer = undefined;
    const now = performance.now();
    let earliest = Infinity;
    for (const w of this.#timed) {
      if (w.done) this.#timed.delete(w);
      else if (w.deadline <= now) this.#finish(w, new NotSavedError(w.timeoutMs));
      else earliest = Math.min(earliest, w.deadline);
    }
    if (earliest !== Infinity) this.#armWaits(earliest);
  }

  /** A wait is over: resolved (no error) or rejected. */
  #finish(w: Wait, err?: Error): void {
    if (w.done) return;
    w.done = true;
    this.#timed.delete(w);
    if (err) w.reject(err);
    else w.resolve();
  }

  /**
   * Write everything still dirty and wait for it, `timeoutMs` at most (the service is
   * stopping; what is not written by then stays as it was last written).
   */
  async flush(timeoutMs = 5000): Promise<void> {
    for (const key of this.#minor) this.#dirty.add(key);
    this.#minor.clear();
    if (this.nc.isClosed()) {
      if (this.#dirty.size > 0) this.opts.logger.warn({ unsaved: this.#dirty.size }, 'job store: the connection is closed; changes not saved');
      return;
    }
    this.#write();
    await this.saved([...this.#keys.keys()], timeoutMs).catch((err: unknown) => {
      if (err instanceof NotSavedError) this.opts.logger.warn({ timeoutMs }, 'job store: not every change was saved before the service stopped');
    });
  }


  /** Stop writing (after {@link flush}). */
  close(): void {
    this.#closed = true;
    this.#updates.close();
    clearTimeout(this.#minorTimer);
    clearTimeout(this.#waitTimer);
    for (const timer of this.#retrying.values()) clearTimeout(timer);
    this.#retrying.clear();
  }

  /** Delete markers of keys removed more than `olderMs` ago (they would otherwise stay forever). */
  async purgeDeletes(olderMs: number): Promise<void> {
    await (this.kv as KV & { purgeDeletes(older?: number): Promise<unknown> }).purgeDeletes(olderMs);
  }

  #scheduleMinor(): void {
    if (this.#minorTimer || this.#closed) return;
    this.#minorTimer = setTimeout(() => {
      this.#minorTimer = undefined;
      for (const key of this.#minor) this.#dirty.add(key);
      this.#minor.clear();
      this.#write();
    }, MINOR_DELAY_MS);
    this.#minorTimer.unref();
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#write();
    });
  }

  /**
   * Start the writes of the dirty keys, {@link WRITES_PER_TURN} at most, the rest at the next
   * turn: many keys changed at once (every job's progress, saved once a second) do not hold up
   * the commands that arrive meanwhile.
   */
  #write(): void {
    let started = 0;
    for (const key of this.#dirty) {
      const state = this.#keys.get(key);
      if (!state || state.inFlight || state.conflict) continue;
      if (started === WRITES_PER_TURN) {
        this.#schedule();
        return;
      }
      this.#dirty.delete(key);
      void this.#writeKey(key, state, 0);
      started++;
    }
  }

  async #writeKey(key: string, state: KeyState, attempt: number): Promise<void> {
    const version = state.version;
    state.inFlight = true;
    let data: string | undefined;
    const started = performance.now();
    try {
      const value = state.source();
      data = value === undefined ? undefined : JSON.stringify(value);
      if (data === undefined) {
        if (state.revision !== undefined) await this.kv.delete(key, { previousSeq: state.revision });
        state.revision = undefined;
      } else {
        state.revision =
          state.revision === undefined ? await this.kv.create(key, data) : await this.#updates.update(key, data, state.revision);
      }
      // Written against the revision last known: no earlier write whose outcome was unknown landed.
      state.unknown = undefined;
      this.opts.onWrite?.((performance.now() - started) / 1000);
      this.#written(key, state, version, data === undefined);
    } catch (err) {
      state.inFlight = false;
      if (isConflict(err)) {
        await this.#reconcile(key, state, { data, version }, err, attempt);
        return;
      }
      // Refused, timed out or cut off by a reconnect: it may still have landed (or land later).
      // Its value is remembered, so that the record read back can be recognised as ours.
      const unknown = (state.unknown ??= []);
      if (unknown.at(-1)?.version !== version) unknown.push({ data, version });
      this.#retry(key, state, attempt, err);
    }
  }

  /** A write of `version` landed: settle its waiters, and write again what changed meanwhile. */
  #written(key: string, state: KeyState, version: number, deleted: boolean): void {
    state.written = Math.max(state.written, version);
    state.inFlight = false;
    this.#settle(state);
    if (state.version > state.written) {
      // Changed again while this write was in flight (also: an id used again after a
      // removal, then written as a new key): write the newer state.
      this.#dirty.add(key);
      this.#schedule();
    } else if (deleted) {
      this.#keys.delete(key);
    }
  }

  /**
   * A write was refused because the key's revision moved. That is our own write when one whose
   * outcome was unknown (its acknowledgement late or lost) landed after all: the record read
   * back is then one of the values we wrote, and saving goes on from its revision. Anything
   * else is another writer's, and the key is no longer written.
   */
  async #reconcile(key: string, state: KeyState, attempt: Unknown, err: unknown, tries: number): Promise<void> {
    state.inFlight = true;
    let entry: Awaited<ReturnType<KV['get']>>;
    try {
      entry = await this.kv.get(key);
    } catch (readErr) {
      // Cannot tell yet: the same write is tried again (and refused again, and read back again).
      state.inFlight = false;
      (state.unknown ??= []).push(attempt);
      this.#retry(key, state, tries, readErr);
      return;
    }
    state.inFlight = false;
    const stored = entry?.operation === 'PUT' ? entry.string() : undefined;
    const mine = [...(state.unknown ?? []), attempt].filter((w) => w.data === stored);
    if (mine.length > 0) {
      const version = Math.max(...mine.map((w) => w.version));
      state.unknown = undefined;
      state.revision = stored === undefined ? undefined : entry!.revision;
      this.opts.logger.info({ key, revision: entry?.revision ?? null }, 'job store: a write whose acknowledgement was lost had landed; saving goes on');
      this.#written(key, state, version, stored === undefined);
      return;
    }
    state.conflict = new StoreConflictError(key);
    this.opts.logger.error({ err, key, revision: entry?.revision ?? null }, 'job store conflict: another writer changed this job; its state is no longer saved');
    this.#settle(state);
  }

  /** Try the key's write again after a backoff (at once after a reconnect). */
  #retry(key: string, state: KeyState, attempt: number, err: unknown): void {
    if (this.#closed) return; // stopped with this write in flight: what was written last stays
    const delay = Math.min(2000, (this.opts.retryMs ?? 100) * 2 ** attempt);
    this.opts.logger.warn({ err, key, retryInMs: delay }, 'job store write failed; retrying');
    const timer = setTimeout(() => {
      this.#retrying.delete(key);
      if (this.#closed || this.nc.isClosed()) return;
      if (this.#keys.get(key) === state && !state.inFlight) void this.#writeKey(key, state, attempt + 1);
    }, delay);
    timer.unref();
    this.#retrying.set(key, timer);
  }

  #settle(state: KeyState): void {
    const pending = state.waiters;
    state.waiters = [];
    for (const w of pending) {
      if (w.wait.done) continue;
      if (state.conflict) this.#finish(w.wait, state.conflict);
      else if (w.version <= state.written) {
        if (--w.wait.remaining === 0) this.#finish(w.wait);
      } else state.waiters.push(w);
    }
  }
}

const noop = () => undefined;

const DEC = new TextDecoder('utf-8', { fatal: true });

/** A record's bytes as JSON, or what is wrong with them (never an exception: one bad record must not stop a start). */
function parsed(data: Uint8Array): { value: unknown } | { bad: string } {
  try {
    return { value: JSON.parse(DEC.decode(data)) as unknown };
  } catch (err) {
    return { bad: `not JSON: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}` };
  }
}

/** JetStream's "wrong last sequence" (an update or create against a revision that moved). */
function isConflict(err: unknown): boolean {
  return err instanceof Error && /wrong last sequence|key exists/i.test(err.message);
}

/** What a wait for a write got when JetStream did not answer in time (the write goes on). */
export class NotSavedError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`JetStream did not answer in ${timeoutMs} ms`);
    this.name = 'NotSavedError';
  }
}

/** Another writer changed a key's record: the store no longer writes it (it does not overwrite theirs). */
export class StoreConflictError extends Error {
  constructor(readonly key: string) {
    super(`The stored state of '${key}' was changed by another writer; not overwritten`);
    this.name = 'StoreConflictError';
  }
}
