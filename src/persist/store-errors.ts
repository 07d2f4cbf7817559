/**
 * What the job store's writes fail with, as the service tells them apart (service/unsaved.ts):
 * a write not taken in time (it goes on), and a key another writer changed (it is written no
 * more). Also how a revision check's refusal is recognised in JetStream's answer.
 */

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

/** JetStream's "wrong last sequence" (an update or create against a revision that moved). */
export function isConflict(err: unknown): boolean {
  return err instanceof Error && /wrong last sequence|key exists/i.test(err.message);
}
