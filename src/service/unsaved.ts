/**
 * The replies of commands whose change the job store could not save (docs/durability.md,
 * "When it is written"): 503, never `Internal error` — the change happened (or, for a job
 * that can no longer be saved, was not made).
 */
import { ErrorCode, ProtocolError } from '../protocol/errors.js';
import { NotSavedError, StoreConflictError } from '../persist/job-store.js';

/** What a reply says when the state it reports was not saved in time or cannot be saved: `err` as a 503, other errors as they are. */
export function unsavedReply(id: string, err: unknown): unknown {
  if (err instanceof NotSavedError) {
    return new ProtocolError(
      `Job '${id}' was changed, but its state is not saved yet (JetStream has not taken the write in ${err.timeoutMs} ms); it is saved once JetStream takes it — query the job to see its state`,
      ErrorCode.unavailable,
    );
  }
  if (err instanceof StoreConflictError) {
    return new ProtocolError(
      `Job '${id}' was changed, but its state can no longer be saved: another writer changed its record in the job store`,
      ErrorCode.unavailable,
    );
  }
  return err;
}

/** A command on a job that can no longer be saved is refused before it changes anything. */
export class UnsavableJobError extends ProtocolError {
  constructor(id: string) {
    super(
      `Job '${id}' cannot be changed: its state can no longer be saved (another writer changed its record in the job store)`,
      ErrorCode.unavailable,
    );
  }
}
