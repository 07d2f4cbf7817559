/**
 * The outbox (docs/durability.md, "Events after the save"): a job's events wait until a record
 * of the job that holds them is written, then go out in order. Each event but JOB_PROGRESS gets
 * the job's next number (1, 2, 3…); the record keeps the last number given and the events not
 * yet published. When a write of the job's key lands, the events it held are published; one
 * job's slow write holds up only that job's events. JOB_PROGRESS is not numbered nor saved
 * first (a restore brings progress up to what was told, records.ts `raiseProgress`): it goes
 * at once, or right after the events queued before it.
 *
 * At restore a record's outbox is held until the event stream says which of its events are
 * out already ({@link publishedUpTo}); the others are published then, before the job's new
 * events. (No `Nats-Msg-Id`: JetStream's duplicate check cost the broker a third more CPU per
 * job, docs/performance.md; the lookup is what keeps an event from going out twice.)
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { JOB_EVENT_NAMES, JobEventName } from '../../machines/index.js';
import { readAll } from './read-all.js';
import { parseKey } from './records.js';
import type { SavedEvent, SavedEvents, Timestamp } from './records.js';

export type { SavedEvents, Timestamp } from './records.js';

/** Now, as QMP stamps events. */
export function timestamp(): Timestamp {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  return { seconds: Math.floor(us / 1e6), microseconds: us % 1e6 };
}

/** A job's event as the outbox sees it. */
export interface OutboxEvent {
  readonly type: string;
  readonly data: { readonly owner: string; readonly id: string };
}

/** What goes with an event the outbox publishes: when it happened, its number (none for progress), the job's creation number. */
export interface EventMark {
  readonly at: Timestamp;
  readonly seq?: number;
  readonly created: number;
}

export type Marked<E> = E & { readonly mark?: EventMark };

interface Queued<E> {
  event: E;
  at: Timestamp;
  seq?: number;
}

interface JobEvents<E> {
  /** The job's creation number (its records' `seq`): tells it from an earlier job of the same id. */
  created: number;
  seq: number;
  /** The highest number a written record holds. */
  saved: number;
  queue: Array<Queued<E>>;
  /** Restored: held until the event stream says which are out. */
  held: boolean;
  /** Restored: the last number its record's outbox held. */
  restoredTo?: number;
  /** Its record is being removed: everything goes once the removal is written. */
  gone: boolean;
}

export class EventOutbox<E extends OutboxEvent> {
  /** By store key. */
  readonly #jobs = new Map<string, JobEvents<E>>();

  constructor(private readonly publish: (event: Marked<E>) => void) {}

  /** A numbered event of the job of `key`: published once a record holding it is written. */
  add(key: string, created: number, event: E): void {
    const job = this.#job(key, created);
    job.queue.push({ event, at: timestamp(), seq: ++job.seq });
  }

  /** A progress event: at once, unless events of the job wait before it. */
  pass(key: string, created: number, event: E): void {
    const job = this.#jobs.get(key);
    if (job === undefined || job.created !== created || (job.queue.length === 0 && !job.held)) this.publish(event);
    else job.queue.push({ event, at: timestamp() });
  }

  /** What a record of the job written now keeps (undefined: the outbox knows nothing of it). */
  saved(key: string): SavedEvents | undefined {
    const job = this.#jobs.get(key);
    if (!job) return undefined;
    const outbox: SavedEvent[] = [];
    for (const q of job.queue) if (q.seq !== undefined) outbox.push({ seq: q.seq, type: q.event.type, data: q.event.data, at: q.at });
    return { seq: job.seq, outbox };
  }

  /** The job is dropped without its record being written (another instance serves it now): its events are not published here. */
  forget(key: string): void {
    this.#jobs.delete(key);
  }

  /** The job's record is being removed: its events go once the removal is written. */
  gone(key: string): void {
    const job = this.#jobs.get(key);
    if (job) job.gone = true;
  }

  /** A value of `key` was written (undefined: the key deleted): publish the events it holds. */
  landed(key: string, value: unknown): void {
    const job = this.#jobs.get(key);
    if (!job) return;
    if (value === undefined) {
      if (!job.gone) return; // a later job of the same id, not yet written
      job.saved = Infinity;
      job.held = false;
      this.#drain(job);
      this.#jobs.delete(key);
      return;
    }
    const record = value as { seq?: unknown; events?: { seq?: unknown } };
    const seq = record.events?.seq;
    if (record.seq !== job.created || typeof seq !== 'number' || seq <= job.saved) return;
    job.saved = seq;
    this.#drain(job);
  }

  /** A job restored from its record: numbering goes on, and its outbox is held until {@link release}. */
  restored(key: string, created: number, events: SavedEvents | undefined): void {
    if (!events) return; // a record from before the outbox: numbering starts at 1
    const queue = events.outbox.map((e) => ({ event: { type: e.type, data: e.data } as unknown as E, at: e.at, seq: e.seq }));
    this.#jobs.set(key, { created, seq: events.seq, saved: events.seq, queue, held: queue.length > 0, gone: false, restoredTo: events.seq });
  }

  /** The restored jobs whose outbox is held, by store key, with their creation numbers. */
  held(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [key, job] of this.#jobs) if (job.held) out.set(key, job.created);
    return out;
  }

  /**
   * The event stream holds the job's events up to `out` (undefined: it cannot tell); what is
   * older than `oldest` (ms since the epoch) counts as out too. The outbox's later events are
   * published now, and the job's new events after them. Returns how many of the outbox's.
   */
  release(key: string, out: number | undefined, oldest = -Infinity): number {
    const job = this.#jobs.get(key);
    if (!job?.held) return 0;
    job.held = false;
    if (out !== undefined) {
      let skip = 0;
      for (const q of job.queue) {
        if ((q.seq ?? 0) > out && q.at.seconds * 1000 + q.at.microseconds / 1000 >= oldest) break;
        skip++;
      }
      job.queue.splice(0, skip);
    }
    const to = job.restoredTo ?? 0;
    const again = job.queue.reduce((n, q) => (q.seq !== undefined && q.seq <= to ? n + 1 : n), 0);
    this.#drain(job);
    return again;
  }

  /**
   * Publish the held outboxes of restored jobs, each from where the event stream of `ref`
   * says it stopped (none: all of them, and the stream drops what it already has).
   */
  async replay(
    nc: NatsConnection,
    ref: { stream: string; prefix: string } | undefined,
    failed: (err: unknown) => void,
  ): Promise<{ jobs: number; published: number }> {
    const held = this.held();
    if (held.size === 0) return { jobs: 0, published: 0 };
    let found: Awaited<ReturnType<typeof publishedUpTo>> | undefined;
    // Not knowing where the stream stopped means publishing every held event again: ask a few times
    // first (a stream's leader may be moving, or the server busy).
    for (let attempt = 1; ref && found === undefined; attempt++) {
      try {
        found = await publishedUpTo(nc, ref, held);
      } catch (err) {
        if (attempt >= LOOKUP_TRIES) {
          failed(err);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
    let published = 0;
    for (const key of held.keys()) published += this.release(key, found?.out.get(key), found?.oldest);
    return { jobs: held.size, published };
  }

  /** The state of `key`'s job, made anew for a job created since (an earlier one's events go now). */
  #job(key: string, created: number): JobEvents<E> {
    let job = this.#jobs.get(key);
    if (job?.created === created) return job;
    if (job) {
      // An id used again before its earlier job's removal was written (only by a client that
      // did not wait for it): that job's last events go now.
      job.saved = Infinity;
      job.held = false;
      this.#drain(job);
    }
    job = { created, seq: 0, saved: 0, queue: [], held: false, gone: false };
    this.#jobs.set(key, job);
    return job;
  }

  /** Publish the job's queued events up to the first one not yet saved; returns how many. */
  #drain(job: JobEvents<E>): number {
    if (job.held) return 0;
    let n = 0;
    for (const q of job.queue) {
      if (q.seq !== undefined && q.seq > job.saved) break;
      n++;
      this.publish({ ...q.event, mark: { at: q.at, created: job.created, ...(q.seq !== undefined && { seq: q.seq }) } });
    }
    if (n === job.queue.length) job.queue = [];
    else if (n > 0) job.queue.splice(0, n);
    return n;
  }
}

/** The header with a job's event number (1, 2, 3…, per job; not on JOB_PROGRESS). */
export const SEQ_HEADER = 'Jobs-Seq';
/** The header with the job's creation number: tells its events from an earlier job's of the same id. */
export const CREATION_HEADER = 'Jobs-Creation';

/** How many times a restore asks the event stream where each job's events stopped. */
const LOOKUP_TRIES = 4;

/** Above this many jobs to look up, the last event of every subject is read in one pass instead of per job. */
const PER_JOB_LOOKUPS = 32;

/** The events that carry a number: the last of each of a job's subjects is looked up. */
const NUMBERED = JOB_EVENT_NAMES.filter((name) => name !== JobEventName.progress);

/**
 * How far the event stream holds the events of each job of `jobs` (store key → creation
 * number): the highest number it has of that job (0: none); `oldest`: an event older than this
 * (the stream's max age) counts as out, the stream no longer holds it either way. Asks the
 * stream for the last message of each numbered event subject of each job; above
 * {@link PER_JOB_LOOKUPS} jobs, reads the last message of every subject in one pass.
 */
export async function publishedUpTo(
  nc: NatsConnection,
  ref: { stream: string; prefix: string },
  jobs: ReadonlyMap<string, number>,
): Promise<{ out: Map<string, number>; oldest: number }> {
  const highest = new Map<string, number>(); // `<owner>.<id>.<created>` → highest number
  const each = (m: { subject: string; headers?: { get(k: string): string } | undefined }) => {
    const seq = Number(m.headers?.get(SEQ_HEADER));
    const created = m.headers?.get(CREATION_HEADER);
    if (!Number.isInteger(seq) || !created) return;
    const tokens = m.subject.split('.');
    const job = `${tokens.at(-3)}.${tokens.at(-2)}.${created}`;
    if (seq > (highest.get(job) ?? 0)) highest.set(job, seq);
  };
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(ref.stream);
  // What the stream cannot hold any more (older than its max age) counts as out.
  const oldest = info.config.max_age > 0 ? Date.now() - info.config.max_age / 1e6 : -Infinity;
  const js = jetstream(nc);
  const read = async (filter: string) => {
    const consumer = await js.consumers.get(ref.stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
    await readAll(consumer, info.state.last_seq, each, () => Promise.resolve(true)); // read only when the stream holds messages
  };
  const names = [...jobs.keys()].map((key) => ({ key, ...parseKey(key)! }));
  // Per job: the stream's last message of each numbered subject, asked of its leader. (Not a
  // consumer filtered on the job's subjects delivering the last per subject: on a replicated
  // stream, now and then such a read ended before the job's numbered events, which were then
  // published again: test/cluster/last-per-subject.test.ts.)
  const last = async (subject: string) => {
    const m = await jsm.streams.getMessage(ref.stream, { last_by_subj: subject });
    if (m) each({ subject: m.subject, headers: m.header });
  };
  if (info.state.messages > 0) {
    if (names.length > PER_JOB_LOOKUPS) await read(`${ref.prefix}.evt.>`);
    else await Promise.all(names.flatMap((n) => NUMBERED.map((event) => last(`${ref.prefix}.evt.${n.owner}.${n.id}.${event}`))));
  }
  const out = new Map<string, number>();
  for (const n of names) out.set(n.key, highest.get(`${n.owner}.${n.id}.${jobs.get(n.key)}`) ?? 0);
  return { out, oldest };
}
