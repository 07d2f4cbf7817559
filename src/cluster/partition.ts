/**
 * Which partition an owner's subjects fall in: exactly what nats-server computes for a subject
 * mapping `{{partition(n, tokens...)}}` — FNV-1a 32 over the bytes of the named tokens
 * concatenated (UTF-8, no separator), modulo n. The service and the server therefore agree on
 * where `jobs.cmd.<owner>.…` lands without asking each other (test/cluster/partition.test.ts
 * checks it against a real server for non-ASCII owners too).
 */

/** Partitions per prefix: enough to spread over a handful of instances, few enough for one lease each. */
export const DEFAULT_PARTITIONS = 32;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

/** FNV-1a 32 of `bytes`, as an unsigned integer. */
export function fnv1a32(bytes: Uint8Array, seed = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h >>> 0;
}

/**
 * The partition of `tokens` (the subject tokens a mapping names, in order), as
 * `{{partition(partitions, …)}}` computes it.
 *
 * @example partitionOfTokens(['alice'], 32) === partitionOf('alice', 32)
 */
export function partitionOfTokens(tokens: readonly string[], partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions must be a positive integer, not ${partitions}`);
  return fnv1a32(encoder.encode(tokens.join(''))) % partitions;
}

/**
 * The partition of an owner (one subject token), as `{{partition(partitions, 1)}}` computes it
 * for a subject whose first wildcard token is the owner.
 *
 * @example partitionOf('alice', DEFAULT_PARTITIONS) // a number in 0..31
 */
export function partitionOf(owner: string, partitions: number = DEFAULT_PARTITIONS): number {
  return partitionOfTokens([owner], partitions);
}
