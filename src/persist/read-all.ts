/**
 * Reading a stream at start, at once: every message a consumer had when it was made, pulled in
 * large batches (not a request per message). The job store reads the last value of each key
 * so, and the event stream the last progress event of each job.
 *
 * It reads as many messages as the consumer had pending when asked, and no more: on a stream
 * written all the time (other instances' jobs), "until none is pending" would chase the newest
 * writes for as long as they keep coming (a restore once took 8.9 s so, another never ended).
 * What is written after that count is not this reader's (a partition's records are all written
 * before its next instance reads them).
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';

/** Give `each` every message `consumer` has now, in order. */
export async function readAll(consumer: Consumer, each: (m: JsMsg) => void): Promise<void> {
  let left = (await consumer.info()).num_pending;
  if (left === 0) return;
  const messages = await consumer.consume({ max_messages: 10_000 });
  try {
    for await (const m of messages) {
      each(m);
      if (--left === 0 || m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
}
