/** What the job store's write-behind (write-behind.ts) is set up with, and what it calls back. */
import type { Logger } from 'pino';

/** What one write needs: the value to store, or `undefined` to delete the key. */
export type RecordSource = () => unknown;

/** Told each value of a key once it is written (undefined: the key was deleted), before the key's waits settle. */
export type LandedListener = (key: string, value: unknown) => void;

export interface WriteBehindOptions {
  logger: Logger;
  /** The first retry after a failed write, ms (doubling up to 2 s). @defaultValue 100 */
  retryMs?: number;
  /** Called with the time each write took, seconds (the service's metrics). */
  onWrite?: (seconds: number) => void;
  /**
   * Whether `key` may be written now (several instances: its partition is served here, its
   * lease valid by the clock). A key refused is not written; it waits for its next change.
   */
  mayWrite?: (key: string) => boolean;
  /** A write of `key` was refused for its revision and the record is not ours: another writer owns it. */
  onConflict?: (key: string) => void;
}
