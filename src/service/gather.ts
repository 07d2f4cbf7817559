/**
 * An admin's query-jobs without `owner`, across instances: asked on `<prefix>.int.query`,
 * answered by every instance for the partitions it serves, gathered until those cover every
 * partition (or {@link GATHER_WAIT_MS}), merged in creation order, then paged as one list.
 * Partitions nobody answered for are asked for again (they are changing hands) for as long
 * as a forwarded command waits; then the whole query is a 503 naming them, never a partial list.
 */
import { createInbox } from '@nats-io/transport-node';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Ownership } from '../cluster/ownership.js';
import { PartitionsMissingError, ReplyTooLargeError } from '../protocol/errors.js';
import { QueryOrder } from '../protocol/schemas.js';
import type { JobInfo, QueryJobsArgs } from '../protocol/schemas.js';
import { Command, subjects } from '../protocol/subjects.js';
import type { JobManager } from './jobs.js';
import { FORWARD_WAIT_MS } from './forward.js';
import { PAGING_HINT } from './query.js';
import type { Listing } from './query.js';

/** How long one round of a gathered query waits for the instances, ms. */
export const GATHER_WAIT_MS = 3000;
/** The pause before asking again for partitions no instance answered for (they are moving). */
const RETRY_MS = 100;

/** What each instance is asked: the admin's query, and how many of its first jobs to send. */
interface GatherRequest {
  caller: string;
  args: QueryJobsArgs;
  /** Send at most this many jobs (a page needs no more than offset + limit from each). */
  take?: number;
}

/** One instance's answer: the partitions it serves, and its matching jobs in the order asked. */
interface GatherReply {
  partitions: number[];
  count: number;
  jobs: JobInfo[];
  tooLarge?: boolean;
}

/** The order jobs are listed in across instances: creation (approximated by start time; not yet started = newest), then id. */
function creationKey(info: JobInfo): number {
  return info['time-started'] === undefined ? Number.POSITIVE_INFINITY : Date.parse(info['time-started']);
}

/**
 * Answer the gathered queries for the partitions served here. `maxReply`: the largest reply the
 * connection may send; a larger answer says so, and the query is refused with how to page it.
 */
export function serveGather(nc: NatsConnection, prefix: string, jobs: JobManager, ownership: Ownership, logger: Logger, maxReply: () => number): Subscription {
  const enc = new TextEncoder();
  return nc.subscribe(subjects.query(prefix), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const req = msg.json<GatherRequest>();
        const served: number[] = [];
        for (let p = 0; p < ownership.partitions; p++) if (ownership.serves(p)) served.push(p);
        msg.respond(enc.encode(localAnswer(jobs, ownership, req, new Set(served), maxReply())));
      } catch (e) {
        logger.error({ err: e }, 'gathered query: answering failed');
      }
    },
  });
}

/** This instance's answer, encoded; `tooLarge` as soon as it outgrows `maxBytes` (nothing more is made). */
function localAnswer(jobs: JobManager, ownership: Ownership, req: GatherRequest, served: ReadonlySet<number>, maxBytes: number): string {
  const listing = jobs.query(req.caller, { ...req.args, limit: undefined, offset: undefined });
  const take = req.take ?? listing.count;
  const partitions = JSON.stringify([...served]);
  const items: string[] = [];
  let bytes = partitions.length + 64;
  let skipped = 0;
  // Jobs of partitions not served (yet, or any more) belong to whoever serves them.
  for (let i = 0; i < listing.count && items.length < take; i++) {
    const info = listing.at(i)!;
    if (!served.has(ownership.partitionOf(info.owner))) {
      skipped++;
      continue;
    }
    const json = JSON.stringify(info);
    bytes += Buffer.byteLength(json) + 1;
    if (bytes > maxBytes) return `{"partitions":${partitions},"count":${listing.count},"jobs":[],"tooLarge":true}`;
    items.push(json);
  }
  return `{"partitions":${partitions},"count":${listing.count - skipped},"jobs":[${items.join(',')}]}`;
}

/** The merged listing of an admin's query over every instance; a 503 naming the partitions no instance answered for. */
export async function gatherQuery(
  nc: NatsConnection,
  prefix: string,
  partitions: number,
  caller: string,
  args: QueryJobsArgs,
  maxBytes: number,
  waitMs = GATHER_WAIT_MS,
  retryForMs = FORWARD_WAIT_MS,
): Promise<Listing> {
  // A page needs no more than its offset + limit first jobs of each instance.
  const take = args.limit === undefined ? undefined : (args.offset ?? 0) + args.limit;
  const req: GatherRequest = { caller, args: { ...args, limit: undefined, offset: undefined }, ...(take !== undefined && { take }) };
  // Partitions changing hands are heard from once their next instance serves them: asked again, as a forwarded command waits.
  const deadline = performance.now() + retryForMs;
  let lists: JobInfo[][];
  let count: number;
  for (;;) {
    const replies = await collect(nc, subjects.query(prefix), JSON.stringify(req), partitions, waitMs);
    const covered = new Set<number>();
    lists = [];
    count = 0;
    for (const r of replies) {
      if (r.tooLarge) throw new ReplyTooLargeError(`${Command.queryJobs} (${r.count} jobs on one instance)`, undefined, maxBytes, PAGING_HINT);
      // A partition two instances claimed (a handover in progress) is listed once.
      if (r.partitions.some((p) => covered.has(p))) continue;
      for (const p of r.partitions) covered.add(p);
      lists.push(r.jobs);
      count += r.count;
    }
    const missing: number[] = [];
    for (let p = 0; p < partitions; p++) if (!covered.has(p)) missing.push(p);
    if (missing.length === 0) break;
    if (performance.now() + RETRY_MS >= deadline) throw new PartitionsMissingError(missing);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  const merged = mergeLists(lists, args['order-by'] === QueryOrder.oldest);
  return { count, at: (i) => merged[i] };
}

/** Each list in the order asked; merged so, each list's own order kept. */
function mergeLists(lists: JobInfo[][], oldest: boolean): JobInfo[] {
  if (lists.length === 1) return lists[0]!;
  const heads = lists.map(() => 0);
  const out: JobInfo[] = [];
  for (;;) {
    let best = -1;
    for (let l = 0; l < lists.length; l++) {
      const info = lists[l]![heads[l]!];
      if (!info) continue;
      if (best < 0 || before(info, lists[best]![heads[best]!]!, oldest)) best = l;
    }
    if (best < 0) return out;
    out.push(lists[best]![heads[best]!++]!);
  }
}

function before(a: JobInfo, b: JobInfo, oldest: boolean): boolean {
  const ka = creationKey(a);
  const kb = creationKey(b);
  if (ka !== kb) return oldest ? ka < kb : ka > kb;
  return oldest ? a.id < b.id : a.id > b.id;
}

/** Answers to `subject` until they cover every partition, or `waitMs` has passed. */
async function collect(nc: NatsConnection, subject: string, payload: string, partitions: number, waitMs: number): Promise<GatherReply[]> {
  const inbox = createInbox();
  const replies: GatherReply[] = [];
  const covered = new Set<number>();
  await new Promise<void>((resolve) => {
    const sub = nc.subscribe(inbox, {
      callback: (err, msg: Msg) => {
        if (err) return;
        try {
          const r = msg.json<GatherReply>();
          replies.push(r);
          for (const p of r.partitions) covered.add(p);
        } catch {
          return;
        }
        if (covered.size >= partitions) done();
      },
    });
    const timer = setTimeout(() => done(), waitMs);
    function done(): void {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve();
    }
    nc.publish(subject, payload, { reply: inbox });
  });
  return replies;
}
