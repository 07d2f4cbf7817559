/**
 * The event stream: every event the service publishes on `P.evt.>` is also kept by JetStream,
 * so that automation can replay one job's history or everyone's from any point with durable
 * consumers. Events are published once, on their plain subjects; the stream captures them.
 * It is bounded by age and size, dropping the oldest first.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { StreamConfig } from '@nats-io/jetstream';
import { readAll } from './read-all.js';

export interface EventStreamOptions {
  /** Oldest event kept, ms. */
  maxAgeMs: number;
  /** Bytes kept at most. */
  maxBytes: number;
  /** Copies on a cluster (JOBS_REPLICAS); an existing stream is not rescaled. @defaultValue 1 */
  replicas?: number;
}

/** Create the event stream, or bring an existing one's limits up to date; returns its name. */
export async function ensureEventStream(nc: NatsConnection, name: string, prefix: string, opts: EventStreamOptions): Promise<string> {
  const jsm = await jetstreamManager(nc);
  const config: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [`${prefix}.evt.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: opts.maxAgeMs * 1_000_000,
    max_bytes: opts.maxBytes,
    num_replicas: opts.replicas ?? 1,
    description: `jobstate: every event published on ${prefix}.evt.>`,
  };
  try {
    const info = await jsm.streams.info(name);
    if (info.config.max_age !== config.max_age || info.config.max_bytes !== config.max_bytes) {
      await jsm.streams.update(name, { ...info.config, max_age: config.max_age!, max_bytes: config.max_bytes! });
    }
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(config);
  }
  return name;
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof Error && /stream not found/i.test(err.message);
}

/** A job's progress as its last JOB_PROGRESS event told it. */
export interface ToldProgress {
  current: number;
  total: number;
  /** When it was told, ms since the epoch (a job of the same id before may have told it). */
  at: number;
}

/**
 * The last JOB_PROGRESS event of every job the event stream holds, by `<owner>.<id>`, read at
 * once (an ordered consumer of the last message per subject): the progress clients were
 * told, which a job restored after a crash must not fall below.
 */
export async function lastProgress(nc: NatsConnection, stream: string, prefix: string): Promise<Map<string, ToldProgress>> {
  const out = new Map<string, ToldProgress>();
  const filter = `${prefix}.evt.*.*.JOB_PROGRESS`;
  const jsm = await jetstreamManager(nc);
  const upTo = (await jsm.streams.info(stream)).state.last_seq;
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.LastPerSubject });
  // Jobs that never told progress are common: a stream without any is told at once by its leader.
  const holds = async () => (await jsm.streams.getMessage(stream, { last_by_subj: filter })) !== null;
  await readAll(consumer, upTo, (m) => {
    const tokens = m.subject.split('.');
    try {
      const { data, timestamp } = m.json<{ data?: { 'current-progress'?: unknown; 'total-progress'?: unknown }; timestamp?: { seconds?: unknown; microseconds?: unknown } }>();
      const current = data?.['current-progress'];
      const total = data?.['total-progress'];
      const at = Number(timestamp?.seconds) * 1000 + Number(timestamp?.microseconds) / 1000;
      if (typeof current === 'number' && typeof total === 'number' && Number.isFinite(at)) out.set(`${tokens.at(-3)}.${tokens.at(-2)}`, { current, total, at });
    } catch {
      // Not an event of the service's (anyone allowed to publish there may): not progress anyone was told by it.
    }
  }, holds);
  return out;
}
