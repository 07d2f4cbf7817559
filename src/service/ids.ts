/**
 * Generated ids (docs/protocol.md): `<prefix>-` and 16 base-36 characters from 80 random
 * bits, fresh for every id, so that ids say nothing about each other and do not repeat
 * across processes or restarts. Random bytes are drawn in batches, so an id costs little.
 */
import { randomBytes } from 'node:crypto';

/** Random bits per id; 36^16 > 2^80, so 16 base-36 characters hold them. */
const BYTES = 10;
const LENGTH = 16;
const BATCH = 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/** 80 fresh random bits, as 16 base-36 characters (zero-padded). */
export function randomPart(): string {
  if (offset + BYTES > pool.length) {
    pool = randomBytes(BYTES * BATCH);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + BYTES);
  offset += BYTES;
  return BigInt(`0x${hex}`).toString(36).padStart(LENGTH, '0');
}

/**
 * A fresh id that matches the protocol's id pattern: `<prefix>-` and 16 base-36 characters.
 * @example generateId('job') // 'job-2915by7hldvax2rs'
 */
export function generateId(prefix: string): string {
  return `${prefix}-${randomPart()}`;
}
