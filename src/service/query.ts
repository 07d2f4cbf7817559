/**
 * query-jobs' reply, made to fit the broker's max_payload: the whole list (v1's form, without
 * `limit` and `offset`) when it fits, else a clear error that says how to page; or one page
 * (with `limit` or `offset`) of at most `limit` jobs, cut short where one more would not fit,
 * with the total `count` and the `next-offset`. Each JobInfo is serialized once, as it is
 * measured, and only for the jobs the reply reads.
 */
import { ReplyTooLargeError } from '../protocol/errors.js';
import type { JobInfo, QueryJobsArgs } from '../protocol/schemas.js';
import { Command } from '../protocol/subjects.js';

/** The jobs a query matched, in the order asked: how many, and the i-th one's JobInfo (made on demand). */
export interface Listing {
  readonly count: number;
  at(i: number): JobInfo | undefined;
}

/** A `return` value already serialized as JSON, which the reply path sends as it is. */
export class EncodedReturn {
  constructor(readonly json: string) {}
}

/** What `{"return":` and `}` add around a return value, in bytes. */
export const RETURN_OVERHEAD = '{"return":}'.length;

/** The paging hint of every too-large query-jobs reply. */
export const PAGING_HINT =
  'page it with "limit" and "offset" (e.g. {"limit": 100, "offset": 0}, then the reply\'s "next-offset"), or narrow it with "status", "type" or "owner"';

/**
 * The reply to query-jobs `args` over `listing`, at most `maxBytes` bytes once wrapped in
 * `{"return": …}`. Throws a {@link ReplyTooLargeError} (413) when the whole list, or a page's
 * first job alone, does not fit.
 */
export function queryReply(listing: Listing, args: QueryJobsArgs, maxBytes: number): EncodedReturn {
  const budget = maxBytes - RETURN_OVERHEAD;
  if (args.limit === undefined && args.offset === undefined) return wholeList(listing, budget, maxBytes);
  const offset = args.offset ?? 0;
  const limit = args.limit ?? Number.MAX_SAFE_INTEGER;
  const { count } = listing;
  // The page's frame with the largest numbers it could carry: `{"jobs":[],"count":N,"next-offset":N}`.
  const frame = `{"jobs":[],"count":${count},"next-offset":${count}}`.length;
  const items: string[] = [];
  let bytes = frame;
  for (let i = offset; i < count && items.length < limit; i++) {
    const json = JSON.stringify(listing.at(i));
    const size = Buffer.byteLength(json) + (items.length > 0 ? 1 : 0);
    if (bytes + size > budget) {
      if (items.length === 0) throw tooLargeJob(listing.at(i), i, maxBytes);
      break;
    }
    items.push(json);
    bytes += size;
  }
  const next = offset + items.length;
  // No next-offset after the last page, nor after an empty one (limit 0: a count).
  const tail = next < count && items.length > 0 ? `,"next-offset":${next}` : '';
  return new EncodedReturn(`{"jobs":[${items.join(',')}],"count":${count}${tail}}`);
}

/** v1's form: every matching job, or a 413 as soon as the list outgrows the budget. */
function wholeList(listing: Listing, budget: number, maxBytes: number): EncodedReturn {
  const items: string[] = [];
  let bytes = 2;
  for (let i = 0; i < listing.count; i++) {
    const json = JSON.stringify(listing.at(i));
    bytes += Buffer.byteLength(json) + (i > 0 ? 1 : 0);
    if (bytes > budget) {
      throw new ReplyTooLargeError(`${Command.queryJobs} (${listing.count} jobs)`, undefined, maxBytes, PAGING_HINT);
    }
    items.push(json);
  }
  return new EncodedReturn(`[${items.join(',')}]`);
}

function tooLargeJob(info: JobInfo | undefined, at: number, maxBytes: number): ReplyTooLargeError {
  const hint = `job '${info?.id}' of owner '${info?.owner}' alone does not fit in a page: go on past it with "offset": ${at + 1}`;
  return new ReplyTooLargeError(Command.queryJobs, undefined, maxBytes, hint);
}
