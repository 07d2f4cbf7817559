/**
 * Reads of the job store's bucket beside the write-behind: every record at once (at start), a
 * value written once and never changed (the instance id), and setting a record aside. A
 * record's bytes are never trusted: one that is not JSON is reported as bad, not thrown, so that
 * one bad record does not stop a start; setting it aside keeps it, byte for byte, where jobs
 * are never read from, and removes it from its place only if it did not change meanwhile
 * (a revision-checked delete).
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { readAll } from './read-all.js';
import { ASIDE_PREFIX } from './records.js';
import type { StoredRecord } from './records.js';
import { isConflict } from './store-errors.js';

/** A stream known to hold messages (a count above 0): every key has a last value to deliver. */
const HOLDS_SOME = () => Promise.resolve(true);

/**
 * Every record in the bucket with the revision it was written at, read at once: an ordered
 * consumer of the bucket's stream (the last value of each key), pulled in large batches —
 * not a request per key.
 */
export async function loadAll(kv: KV, js: JetStreamClient, bucket: string): Promise<StoredRecord[]> {
  const status = await kv.status();
  if (status.values === 0) return [];
  const out: StoredRecord[] = [];
  const head = `$KV.${bucket}.`;
  const consumer = await js.consumers.get(status.streamInfo.config.name, { deliver_policy: DeliverPolicy.LastPerSubject });
  await readAll(consumer, status.streamInfo.state.last_seq, (m) => {
    const operation = m.headers?.get('KV-Operation');
    if (operation !== 'DEL' && operation !== 'PURGE') out.push({ key: m.subject.slice(head.length), revision: m.seq, ...parsed(m.data) });
  }, HOLDS_SOME);
  return out;
}

/**
 * The value of `key` (JSON), stored first as `make()` if the bucket has none; when two writers
 * race, the first one's value is everyone's. A value that is not JSON or not `valid` is set
 * aside (`rejected` is told why) and replaced.
 */
export async function getOrCreate<T>(
  kv: KV,
  key: string,
  make: () => T,
  valid: (value: unknown) => value is T,
  rejected: (revision: number, reason: string) => void,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const entry = await kv.get(key);
    if (entry?.operation === 'PUT') {
      const read = parsed(entry.value);
      if ('value' in read && valid(read.value)) return read.value;
      if (attempt >= 3) throw new Error(`The job store's '${key}' keeps being replaced with what is not valid`);
      rejected(entry.revision, 'bad' in read ? read.bad : `not valid: ${JSON.stringify(read.value).slice(0, 200)}`);
      await setAside(kv, key, entry.revision);
      continue;
    }
    const value = make();
    try {
      await kv.create(key, JSON.stringify(value));
      return value;
    } catch (err) {
      if (!isConflict(err) || attempt >= 3) throw err;
    }
  }
}

/**
 * Move the record of `key` at `revision` aside, byte for byte, to `aside.<key>` (where the
 * service never reads jobs from), and remove it from its place (unless it changed since).
 */
export async function setAside(kv: KV, key: string, revision: number): Promise<void> {
  const entry = await kv.get(key, { revision });
  if (!entry) return;
  await kv.put(`${ASIDE_PREFIX}${key}`, entry.value);
  await kv.delete(key, { previousSeq: revision });
}

const DEC = new TextDecoder('utf-8', { fatal: true });

/** A record's bytes as JSON, or what is wrong with them (never an exception: one bad record must not stop a start). */
function parsed(data: Uint8Array): { value: unknown } | { bad: string } {
  try {
    return { value: JSON.parse(DEC.decode(data)) as unknown };
  } catch (err) {
    return { bad: `not JSON: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}` };
  }
}
