/**
 * Writes whose outcome is unknown: a write that timed out, was refused by a server going away
 * or was cut off by a reconnect may still have landed (or land later). The store remembers
 * each such write's value until a write is known to have landed. When a later write is then
 * refused because the key's revision moved, the record read back is compared with them: if
 * it holds one of them (byte for byte, or is deleted after a delete of ours), the revision
 * moved by our own hand and saving goes on from there; anything else is another writer's.
 */

/** A write that may or may not have landed: its JSON (`undefined` for a delete) and the key's version it wrote. */
export interface Unknown {
  data: string | undefined;
  version: number;
}

/**
 * The latest version among `writes` that the record read back holds (`stored`: its JSON,
 * undefined if it is deleted), or undefined if it holds none of them: another writer's.
 */
export function ownVersion(writes: readonly Unknown[], stored: string | undefined): number | undefined {
  const mine = writes.filter((w) => w.data === stored);
  return mine.length > 0 ? Math.max(...mine.map((w) => w.version)) : undefined;
}
