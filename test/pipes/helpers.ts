/**
 * Helpers of the pipe tests: big files made fast (one random MiB written again and again, so
 * a 256 MiB file costs a few hundred milliseconds), their digests, byte sinks, and a process's
 * resident memory (the memory tests of pipes and HTTP).
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdirSync, openSync, closeSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const MiB = 1024 * 1024;

/** Write `mib` MiB at `path`: one random MiB repeated, each copy with its index stamped in its first bytes. */
export function bigFile(path: string, mib: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const block = randomFillSync(Buffer.alloc(MiB));
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      block.writeUInt32BE(i, 0); // no two MiB alike: a reordered chunk changes the digest
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}

/** The SHA-256 of a file, hex, read as a stream. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A sink that hashes what it gets. */
export function hashingSink(): { sink: (chunk: Uint8Array) => void; hex(): string; size: number } {
  const hash = createHash('sha256');
  const out = {
    size: 0,
    sink: (chunk: Uint8Array) => {
      hash.update(chunk);
      out.size += chunk.length;
    },
    hex: () => hash.digest('hex'),
  };
  return out;
}

/** The resident set of process `pid`, in bytes. */
export function rss(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

/** Samples `pid`'s RSS every 10 ms until stopped; the largest value seen. */
export function sampler(pid: number): { stop(): number } {
  let peak = rss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 10);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rss(pid));
    },
  };
}
