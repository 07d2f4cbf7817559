/**
 * A KV watch that keeps going: nats.js ends a watch's iterator when its consumer is lost (a
 * stream leader change, a reconnect to a node that lost it), so this one starts a new watch
 * after a short pause until stopped. A new watch replays the last value of every key; the
 * callers key their state on revisions, so a replay changes nothing they already knew.
 */
import type { KV, KvEntry } from '@nats-io/kv';

/** Pause before watching again after a watch ended or failed to start. */
const RESTART_MS = 250;

export interface Watching {
  stop(): void;
  /** Resolves once the first watch has started (its replay may still be arriving). */
  readonly started: Promise<void>;
}

/** Watch every key of `kv`, calling `onEntry` for each entry, until `stop()`. */
export function watchForever(kv: KV, onEntry: (e: KvEntry) => void, onError: (err: unknown) => void = () => {}): Watching {
  let stopped = false;
  let current: { stop(): void } | undefined;
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const run = async () => {
    while (!stopped) {
      try {
        const iter = await kv.watch();
        current = iter;
        markStarted();
        if (stopped) iter.stop();
        for await (const e of iter) onEntry(e);
      } catch (err) {
        onError(err);
      }
      current = undefined;
      if (!stopped) await new Promise((r) => setTimeout(r, RESTART_MS));
    }
  };
  void run();
  return {
    started,
    stop: () => {
      stopped = true;
      markStarted();
      current?.stop();
    },
  };
}
