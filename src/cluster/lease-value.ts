/**
 * A partition lease as the leases bucket holds it: the key `p.<n>`, the value `{holder, epoch}`,
 * and how a compare-and-set refused for its revision looks in JetStream's answer.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KvEntry } from '@nats-io/kv';

export interface LeaseValue {
  holder: string;
  epoch: number;
}

export const keyOf = (p: number): string => `p.${p}`;
export const partitionOfKey = (key: string): number => Number(key.slice(2));

/** An update or create against a revision that moved. */
export function wrongRevision(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/** The lease an entry holds, or undefined when it holds none (deleted, or not a lease). */
export function parseLease(e: KvEntry): LeaseValue | undefined {
  try {
    const v = e.json<Partial<LeaseValue>>();
    return typeof v.holder === 'string' && typeof v.epoch === 'number' ? { holder: v.holder, epoch: v.epoch } : undefined;
  } catch {
    return undefined;
  }
}
