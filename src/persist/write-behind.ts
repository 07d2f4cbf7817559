/**
 * The job store's writes, behind the changes and coalesced (coalescing.ts says when a key is
 * written). What each key's write guarantees:
 *
 * - Revision-checked, never blind: a new key is created (refused if it exists), an existing one
 *   updated against the revision this store last wrote or read, a removed one deleted against
 *   it. At most one write per key is in flight, and it writes the key's latest state.
 * - A failed write (JetStream unreachable, a timeout) is retried with backoff, and at once
 *   when the connection comes back after a nats-server restart.
 * - A write whose outcome is unknown (its acknowledgement late or lost) may have landed: when
 *   a later write is refused because the key's revision moved, the record is read back
 *   (unknown-outcomes.ts), and if it holds one of the values this store wrote, saving goes on
 *   from its revision. Only a record holding something else is a conflict (another writer
 *   changed the key): writes to that key stop and its waits fail with a StoreConflictError.
 */
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { DueKeys } from './coalescing.js';
import type { KvUpdates } from './kv-updates.js';
import { SaveWaits } from './save-waits.js';
import type { Wait, WaitedKey } from './save-waits.js';
import { NotSavedError, StoreConflictError, isConflict } from './store-errors.js';
import { ownVersion } from './unknown-outcomes.js';
import type { LandedListener, RecordSource, WriteBehindOptions } from './write-behind-options.js';
import type { Unknown } from './unknown-outcomes.js';

export type { LandedListener, RecordSource, WriteBehindOptions } from './write-behind-options.js';

interface KeyState extends WaitedKey {
  /** The revision of the last write that landed (none: the key is not in the store). */
  revision?: number;
  /** Bumped by every change; `written` catches up with it. */
  version: number;
  /** The latest state to write. */
  source: RecordSource;
  inFlight: boolean;
  /** The version the write in flight (or the last one sent) carries. */
  sending?: number;
  /**
   * Writes since the last one known to have landed whose outcome is unknown (no
   * acknowledgement in time, a reconnect): `data` undefined for a delete.
   */
  unknown?: Unknown[];
}

export class WriteBehind {
  readonly #keys = new Map<string, KeyState>();
  readonly #due = new DueKeys({
    ready: (key) => {
      const state = this.#keys.get(key);
      return state !== undefined && !state.inFlight && !state.conflict;
    },
    start: (key) => {
      const state = this.#keys.get(key)!;
      void this.#writeKey(key, state, 0);
      return state.inFlight; // false: done at once, nothing went out
    },
  });
  readonly #waits = new SaveWaits();
  /** Keys whose last write failed, with the timer of their next try. */
  readonly #retrying = new Map<string, NodeJS.Timeout>();
  readonly #landed = new Set<LandedListener>();
  #closed = false;

  /** `updates`: the pipelined updates of existing keys (creates and deletes go through `kv`). */
  constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly updates: KvUpdates,
    private readonly opts: WriteBehindOptions,
  ) {
    this.#retryOnReconnect();
  }

  /** A key read from the store at `revision`: later writes are checked against it. */
  adopt(key: string, revision: number): void {
    this.#keys.set(key, { revision, version: 0, written: 0, source: () => undefined, inFlight: false, waiters: [] });
  }

  /**
   * Forget a key: nothing more of it is written (a write in flight lands or not; nothing follows
   * it). The waits for changes never sent end at once with `err` (none: they run out at their
   * deadline); those a write in flight carries end with its outcome, which is not known yet.
   */
  forget(key: string, err?: Error): void {
    const state = this.#keys.get(key);
    if (state && err) this.#waits.fail(state, err, state.inFlight ? (state.sending ?? state.written) : state.written);
    this.#keys.delete(key);
    this.#due.forget(key);
    clearTimeout(this.#retrying.get(key));
    this.#retrying.delete(key);
  }

  /** The conflict that stopped writes to `key`, if another writer changed its record. */
  conflict(key: string): StoreConflictError | undefined {
    return this.#keys.get(key)?.conflict;
  }

  /** Be told every value once it is written (the outbox publishes the events it holds then). */
  onLanded(listener: LandedListener): () => void {
    this.#landed.add(listener);
    return () => this.#landed.delete(listener);
  }

  /** The key's state changed: write `source()` (undefined: delete the key) when coalescing says. */
  changed(key: string, source: RecordSource, minor: boolean): void {
    let state = this.#keys.get(key);
    if (!state) {
      state = { version: 0, written: 0, source, inFlight: false, waiters: [] };
      this.#keys.set(key, state);
    }
    state.source = source;
    state.version++;
    this.#due.changed(key, minor);
  }

  /** The keys matching `filter` with changes not written yet (removals too). */
  unsaved(filter: (key: string) => boolean): string[] {
    const out: string[] = [];
    for (const [key, state] of this.#keys) if (state.written < state.version && filter(key)) out.push(key);
    return out;
  }

  /** Resolves once every key of `keys`, as of now, is written; see save-waits.ts for how it fails. */
  saved(keys: Iterable<string>, timeoutMs: number): Promise<void> {
    let wait: Wait | undefined;
    for (const key of keys) {
      const state = this.#keys.get(key);
      if (!state || state.written >= state.version) continue;
      if (state.conflict) {
        if (wait) wait.done = true;
        return Promise.reject(state.conflict);
      }
      this.#due.hurry(key);
      wait ??= this.#waits.create(timeoutMs);
      wait.remaining++;
      state.waiters.push({ version: state.version, wait });
    }
    return wait ? this.#waits.begin(wait) : Promise.resolve();
  }

  /** Write everything still due and wait for it, `timeoutMs` at most. */
  async flush(timeoutMs: number): Promise<void> {
    const due = this.#due.allDue();
    if (this.nc.isClosed()) {
      if (due > 0) this.opts.logger.warn({ unsaved: due }, 'job store: the connection is closed; changes not saved');
      return;
    }
    this.#due.write();
    await this.saved([...this.#keys.keys()], timeoutMs).catch((err: unknown) => {
      if (err instanceof NotSavedError) this.opts.logger.warn({ timeoutMs }, 'job store: not every change was saved before the service stopped');
    });
  }

  close(): void {
    this.#closed = true;
    this.#due.close();
    this.#waits.close();
    for (const timer of this.#retrying.values()) clearTimeout(timer);
    this.#retrying.clear();
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

  async #writeKey(key: string, state: KeyState, attempt: number): Promise<void> {
    if (this.opts.mayWrite?.(key) === false) return;
    const version = state.version;
    state.inFlight = true;
    state.sending = version;
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
          state.revision === undefined ? await this.kv.create(key, data) : await this.updates.update(key, data, state.revision);
      }
      // Written against the revision last known: no earlier write whose outcome was unknown landed.
      state.unknown = undefined;
      this.opts.onWrite?.((performance.now() - started) / 1000);
      this.#written(key, state, version, value);
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

  /** A write of `version` (`value`, undefined: deleted) landed: settle its waits, and write again what changed meanwhile. */
  #written(key: string, state: KeyState, version: number, value: unknown): void {
    const deleted = value === undefined;
    state.written = Math.max(state.written, version);
    state.inFlight = false;
    // Before the waits: what a reply reports is published before the reply.
    for (const listener of this.#landed) {
      try {
        listener(key, value);
      } catch (err) {
        this.opts.logger.error({ err, key }, 'job store: a listener of written records failed');
      }
    }
    this.#waits.settle(state);
    if (this.#keys.get(key) !== state) return; // forgotten meanwhile
    if (state.version > state.written) {
      // Changed again while this write was in flight (also: an id used again after a
      // removal, then written as a new key): write the newer state.
      this.#due.due(key);
    } else if (deleted) {
      this.#keys.delete(key);
    }
  }

  /**
   * A write was refused because the key's revision moved: read the record back; if it is one
   * of ours (unknown-outcomes.ts), saving goes on from its revision, else the key is another
   * writer's and is no longer written.
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
    if (this.#keys.get(key) !== state) return; // forgotten meanwhile
    const stored = entry?.operation === 'PUT' ? entry.string() : undefined;
    const version = ownVersion([...(state.unknown ?? []), attempt], stored);
    if (version !== undefined) {
      state.unknown = undefined;
      state.revision = stored === undefined ? undefined : entry!.revision;
      this.opts.logger.info({ key, revision: entry?.revision ?? null }, 'job store: a write whose acknowledgement was lost had landed; saving goes on');
      this.#written(key, state, version, stored === undefined ? undefined : JSON.parse(stored));
      return;
    }
    state.conflict = new StoreConflictError(key);
    this.opts.logger.error({ err, key, revision: entry?.revision ?? null }, 'job store conflict: another writer changed this job; its state is no longer saved');
    this.#waits.settle(state);
    this.opts.onConflict?.(key);
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
}
