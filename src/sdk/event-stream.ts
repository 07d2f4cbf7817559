import type { Subscription } from '@nats-io/transport-node';
import type { EventEnvelope } from '../protocol/schemas.js';

/** Job events as an async iterator. */
export class EventStream implements AsyncIterable<EventEnvelope> {
  /**
   * Resolves once the server has registered the subscription; rejects if the server refused
   * it (a PermissionViolationError: those events are not yours to see).
   */
  readonly ready: Promise<void>;

  constructor(
    private readonly sub: Subscription,
    /** Resolves once the server has seen the subscription (a flush after it). */
    registered: Promise<void>,
  ) {
    // The server answers a refused subscription before the flush, so once the flush is back
    // a refused subscription is already closed, with the server's error.
    this.ready = registered.then(async () => {
      if (!sub.isClosed()) return;
      const outcome = await sub.closed;
      if (outcome instanceof Error) throw outcome;
    });
    this.ready.catch(() => undefined); // not awaiting `ready` must not be an unhandled rejection
  }

  async *[Symbol.asyncIterator](): AsyncIterator<EventEnvelope> {
    for await (const msg of this.sub) yield msg.json<EventEnvelope>();
    const outcome = await this.sub.closed;
    if (outcome instanceof Error) throw outcome;
  }

  /** End the stream. */
  close(): void {
    this.sub.unsubscribe();
  }
}
