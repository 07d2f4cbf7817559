/**
 * Reading a stream at start, at once: every message a consumer has up to the stream's last
 * sequence when the read began, pulled in large batches (not a request per message). The job
 * store reads the last value of each key so, and the event stream the last progress event of
 * each job.
 *
 * It stops at `upTo` (the stream's last sequence, read before the consumer was made), not "when
 * none is pending": on a stream written all the time (other instances' jobs) that would chase
 * the newest writes for as long as they keep coming (a takeover's read once took 8.9 s so,
 * another never ended). What is written later is not this reader's: a partition's records are
 * all written before its next instance reads them.
 */
import type { Consumer, JsMsg } from '@nats-io/jetstream';

/**
 * How long a read whose consumer says nothing is pending, though the stream holds messages for
 * it, waits for the first one, ms. A new consumer's info may say 0 when messages are there
 * (nats-server 2.9.10, a replicated stream, deliver last per subject: 30 of 1,920 filtered reads
 * on a 3-node cluster, see test/cluster/last-per-subject.test.ts); those messages then come
 * within milliseconds.
 */
const FALSE_EMPTY_WAIT_MS = 5000;

/**
 * Give `each` every message of `consumer`, in order, up to stream sequence `upTo`. `holds()`
 * says whether the stream has any message for the consumer, from the stream's leader: it is
 * asked only when the consumer's info says none is pending, to tell a stream that has none (the
 * read ends at once) from nats-server's false 0 (the read waits for them).
 */
export async function readAll(consumer: Consumer, upTo: number, each: (m: JsMsg) => void, holds: () => Promise<boolean>): Promise<void> {
  if (upTo === 0) return;
  const saysEmpty = (await consumer.info()).num_pending === 0;
  if (saysEmpty && !(await holds())) return;
  const messages = await consumer.consume({ max_messages: 10_000 });
  // After a false 0 the messages come all the same; bounded, should they have gone meanwhile.
  const empty = saysEmpty ? setTimeout(() => void messages.close(), FALSE_EMPTY_WAIT_MS) : undefined;
  try {
    for await (const m of messages) {
      clearTimeout(empty);
      each(m);
      if (m.seq >= upTo || m.info.pending === 0) break;
    }
  } finally {
    clearTimeout(empty);
    await messages.close();
  }
}
