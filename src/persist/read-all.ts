/**
 * Reading a stream at start, at once: every message a consumer has, pulled in large batches
 * (not a request per message), until none is pending. The job store reads the last value of
 * each key so, and the event stream the last progress event of each job.
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';

/** Give `each` every message of `consumer` in order, until none is pending; the consumer must have one at least. */
export async function readAll(consumer: Consumer, each: (m: JsMsg) => void): Promise<void> {
  const messages = await consumer.consume({ max_messages: 10_000 });
  try {
    for await (const m of messages) {
      each(m);
      if (m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
}
