/**
 * The settings of keeping jobs across restarts (docs/durability.md), with their defaults:
 * the event stream's bounds, how long a reply waits for its job to be saved, and how long
 * concluded jobs are kept.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PersistenceSettings {
  /** The event stream's oldest event, ms. */
  eventsMaxAgeMs: number;
  /** The event stream's size, bytes. */
  eventsMaxBytes: number;
  /** How long a reply waits for what it reports to be saved, ms. */
  saveTimeoutMs: number;
}

/** @see PersistenceSettings */
export const DEFAULT_PERSISTENCE: PersistenceSettings = {
  eventsMaxAgeMs: 7 * DAY_MS,
  eventsMaxBytes: 1024 * 1024 * 1024,
  saveTimeoutMs: 5000,
};

/** How long concluded (undismissed) jobs are kept, and how many; older and more are dismissed. */
export interface Retention {
  keepConcludedMs: number;
  keepConcluded: number;
}

/** @see Retention */
export const DEFAULT_RETENTION: Retention = { keepConcludedMs: 7 * DAY_MS, keepConcluded: 10_000 };
