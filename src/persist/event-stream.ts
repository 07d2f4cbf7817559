/**
 * The event stream: every event the service publishes on `P.evt.>` is also kept by JetStream,
 * so that automation can replay one job's history or everyone's from any point with durable
 * consumers. Events are published once, on their plain subjects; the stream captures them.
 * It is bounded by age and size, dropping the oldest first.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { StreamConfig } from '@nats-io/jetstream';

export interface EventStreamOptions {
  /** Oldest event kept, ms. */
  maxAgeMs: number;
  /** Bytes kept at most. */
  maxBytes: number;
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
