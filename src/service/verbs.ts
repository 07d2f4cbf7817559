/**
 * Applying a verb to a job (pause, resume, cancel, complete, finalize, dismiss, set-speed):
 * sent to its actor, refused with the refusal its statechart emitted, and answered once what
 * it changed is saved.
 */
import { waitFor } from 'xstate';
import type { Logger } from 'pino';
import { JobVerb, RefusalReason, finalizeSettled, transactionSettled } from '../../machines/index.js';
import type { VerbEvent } from '../../machines/index.js';
import { BadInputError, VerbRefusedError } from '../protocol/errors.js';
import type { JobCancelArgs, JobRef, JobSetSpeedArgs } from '../protocol/schemas.js';
import type { JobStore } from '../persist/job-store.js';
import { storeKeysOf } from '../persist/job-saving.js';
import { logJob } from './job-table.js';
import type { JobTable, LiveJob, Refusal } from './job-table.js';
import { UnsavableJobError, unsavedReply } from './unsaved.js';

/** What an applied verb returns (its `return` on the wire): always this one empty object. */
export type VerbDone = Record<string, never>;
export const VERB_DONE: VerbDone = Object.freeze({}) as VerbDone;

export class JobVerbs {
  constructor(
    private readonly table: JobTable,
    private readonly logger: Logger,
    private readonly store: JobStore | undefined,
    /** How long a command's reply waits for what it reports to be saved, ms. */
    private readonly saveTimeoutMs: number,
  ) {}

  /**
   * Apply a verb: once the transition it causes has happened and its events are out, and
   * (with a store) once what it changed is saved — synchronously when there is nothing to wait
   * for. A refused verb throws.
   */
  apply(caller: string, verb: JobVerb, args: JobRef | JobCancelArgs | JobSetSpeedArgs): VerbDone | Promise<VerbDone> {
    const entry = this.table.find(caller, args.id, args.owner);
    const store = this.store;
    if (store && storeKeysOf(entry.owner, entry.id, entry.job).some((k) => store.conflict(k))) throw new UnsavableJobError(entry.id);
    const event = verbEvent(verb, args);
    entry.refusal = undefined;
    entry.job.send(event);
    const refusal = entry.refusal as Refusal | undefined;
    entry.refusal = undefined;
    if (refusal) {
      logJob(this.logger, entry, 'debug', { verb, reason: refusal.reason }, 'verb refused');
      throw refusal.reason === RefusalReason.negativeSpeed
        ? new BadInputError(refusal.message)
        : new VerbRefusedError(refusal.message);
    }
    logJob(this.logger, entry, 'debug', { verb }, 'verb applied');
    if (verb === JobVerb.finalize) return this.#finalized(entry);
    if (!store) return VERB_DONE;
    return this.savedKeys(entry.id, storeKeysOf(entry.owner, entry.id, entry.job), VERB_DONE);
  }

  /**
   * Resolves once the state of `owner`'s jobs `ids` (and of their transactions) is saved, so
   * that a reply reports only what survives a restart. Without a store, at once.
   */
  async saved(owner: string, ids: readonly string[]): Promise<void> {
    if (!this.store || ids.length === 0) return;
    const keys = new Set(ids.flatMap((id) => storeKeysOf(owner, id, this.table.get(owner, id)?.job)));
    await this.savedKeys(ids[0]!, keys, undefined);
  }

  /**
   * Resolves to `value` once the store keys `keys` of job `id` are saved (see {@link saved});
   * rejects with a 503 saying that the change is not saved (yet), never an internal error.
   */
  savedKeys<T>(id: string, keys: Iterable<string>, value: T): Promise<T> {
    return this.store!.saved(keys, this.saveTimeoutMs).then(
      () => value,
      (err: unknown) => {
        throw unsavedReply(id, err);
      },
    );
  }

  /** After a finalize: once the job (or its transaction) has moved on, and is saved. */
  async #finalized(entry: LiveJob): Promise<VerbDone> {
    if (entry.txn) await waitFor(entry.txn, transactionSettled);
    else await waitFor(entry.job, finalizeSettled);
    await this.saved(entry.owner, [entry.id]);
    return VERB_DONE;
  }
}

function verbEvent(verb: JobVerb, args: JobRef | JobCancelArgs | JobSetSpeedArgs): VerbEvent {
  switch (verb) {
    case JobVerb.cancel:
      return { type: 'cancel', force: (args as JobCancelArgs).force ?? true };
    case JobVerb.setSpeed:
      return { type: 'set-speed', speed: (args as JobSetSpeedArgs).speed };
    default:
      return { type: verb };
  }
}
