/**
 * Publishes every job event on `P.evt.<owner>.<id>.<EVENT>` in the QMP envelope, in the
 * order it happened. JOB_PROGRESS is limited to 10 per second per job: a progress event that
 * comes too soon is held, and published before the job's next event or when its time comes,
 * whichever is first — so order is kept and the last progress is never lost.
 */
import { headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { JobEventName } from '../../machines/index.js';
import type { JobEmitted } from '../../machines/index.js';
import { subjects } from '../protocol/subjects.js';
import type { EventEnvelope } from '../protocol/schemas.js';
import { CREATION_HEADER, SEQ_HEADER, timestamp } from '../persist/outbox.js';
import type { Marked } from '../persist/outbox.js';

/**
 * What a job announces, without refusals: the events the wire publishes. From the outbox
 * (persistence on), with its `mark`: when it happened, and (all but JOB_PROGRESS) its number.
 */
export type PublishedEvent = Marked<Exclude<JobEmitted, { type: 'verb.refused' }>>;

/** The shortest time between two JOB_PROGRESS events of one job. */
export const PROGRESS_INTERVAL_MS = 100;

interface Held {
  event: PublishedEvent;
  at: EventEnvelope['timestamp'];
  timer: NodeJS.Timeout;
}

export class EventPublisher {
  readonly #lastProgress = new Map<string, number>();
  readonly #held = new Map<string, Held>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  publish(event: PublishedEvent): void {
    const job = `${event.data.owner}.${event.data.id}`;
    const at = event.mark?.at ?? timestamp();
    if (event.type === JobEventName.progress) {
      const now = performance.now();
      const last = this.#lastProgress.get(job) ?? -Infinity;
      const held = this.#held.get(job);
      if (held) {
        held.event = event;
        held.at = at;
        return;
      }
      if (now - last < PROGRESS_INTERVAL_MS) {
        const timer = setTimeout(() => this.#flush(job), PROGRESS_INTERVAL_MS - (now - last));
        timer.unref();
        this.#held.set(job, { event, at, timer });
        return;
      }
      this.#lastProgress.set(job, now);
    } else {
      this.#flush(job);
      if (event.type === JobEventName.statusChange && event.data.status === 'null') this.#lastProgress.delete(job);
    }
    this.#send(event, at);
  }

  /**
   * A job's progress is about to be shown in a reply (JobInfo): its held progress event goes
   * out first, so that the event stream holds the progress the client is told.
   */
  flushProgress(owner: string, id: string): void {
    if (this.#held.size > 0) this.#flush(`${owner}.${id}`);
  }

  /** Publish the held progress event of a job, if any. */
  #flush(job: string): void {
    const held = this.#held.get(job);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(job);
    this.#lastProgress.set(job, performance.now());
    this.#send(held.event, held.at);
  }

  #send(event: PublishedEvent, at: EventEnvelope['timestamp']): void {
    // A held progress event whose timer fires after the connection closed or while it drains
    // (the service is shutting down) has nowhere to go; publishing would throw from the timer
    // and crash.
    if (this.nc.isClosed() || this.nc.isDraining()) return;
    const envelope = { event: event.type, data: event.data, timestamp: at };
    const subject = subjects.event(this.prefix, event.data.owner, event.data.id, event.type);
    const seq = event.mark?.seq;
    if (seq === undefined) {
      this.nc.publish(subject, JSON.stringify(envelope));
      return;
    }
    // Numbered (saved first): the number for subscribers; with the job's creation number, what
    // a restore reads back from the event stream to publish no event twice.
    const h = headers();
    h.set(SEQ_HEADER, String(seq));
    h.set(CREATION_HEADER, String(event.mark!.created));
    this.nc.publish(subject, JSON.stringify(envelope), { headers: h });
  }
}
