/**
 * The chunked copy every file job uses: 64 KiB at a time under a speed limit (1 MiB without
 * one), each chunk's I/O retried under the
 * on-error policy, and after each chunk the caller's accounting (progress, then the rate
 * limit, which ends with a pause point). 64 KiB keeps a 1 MiB/s limit smooth: QEMU's 100 ms
 * slice then holds 1.6 chunks.
 *
 * Zero chunks are not written into a fresh file, so sparse files stay sparse; the file is
 * sized at the end. With `compare`, the destination already holds data (mirror's resync):
 * only the chunks that differ are written.
 */
import type { FileHandle } from 'node:fs/promises';
import type { JobContext } from '../handler.js';
import { retrying } from './io-retry.js';

export const CHUNK_SIZE = 64 * 1024;
/** With no speed limit there is nothing to keep smooth: larger chunks, fewer round trips. */
export const UNLIMITED_CHUNK_SIZE = 1024 * 1024;

const ZEROS = Buffer.alloc(UNLIMITED_CHUNK_SIZE);

/** One side of a copy: an open file and the caller's name for it (for error texts). */
export interface CopyEnd {
  file: FileHandle;
  name: string;
}

export interface CopyOptions {
  /** Bytes to copy from the start of `from`; it stops early if `from` turns out shorter. */
  size: number;
  /** `to` holds data: compare and write only what differs. Else `to` is fresh (empty). */
  compare?: boolean;
  /**
   * After each chunk: its length and whether it was written. Report progress here, then
   * `await job.throttle(...)` (the pause point between chunks).
   */
  account(bytes: number, written: boolean): Promise<void>;
}

/** Copy `size` bytes of `from` into `to` (same offsets) and size `to` to match; the bytes copied. */
export async function copyChunks(job: JobContext<unknown>, from: CopyEnd, to: CopyEnd, opts: CopyOptions): Promise<number> {
  const buffer = Buffer.alloc(UNLIMITED_CHUNK_SIZE);
  const theirs = opts.compare ? Buffer.alloc(UNLIMITED_CHUNK_SIZE) : undefined;
  let position = 0;
  while (position < opts.size) {
    // The speed may change between chunks (job-set-speed): pick the chunk size each time.
    const chunkSize = job.speed === 0 ? UNLIMITED_CHUNK_SIZE : CHUNK_SIZE;
    const want = Math.min(chunkSize, opts.size - position);
    const at = position;
    const got = await retrying(job, 'read', 'read', from.name, async () => (await from.file.read(buffer, 0, want, at)).bytesRead);
    if (got === 0) break; // the source shrank meanwhile
    const chunk = buffer.subarray(0, got);
    const current = theirs ? await readPadded(job, to, theirs, got, at) : ZEROS.subarray(0, got);
    const differs = !chunk.equals(current);
    if (differs) await retrying(job, 'write', 'write', to.name, () => writeAll(to.file, chunk, at));
    position += got;
    await opts.account(got, differs);
  }
  const end = position;
  const { size } = await retrying(job, 'read', 'read', to.name, () => to.file.stat());
  if (size !== end) await retrying(job, 'write', 'resize', to.name, () => to.file.truncate(end));
  return end;
}

/** `length` bytes of `end` at `position`, zeros past its end (it is resized at the end of the copy). */
async function readPadded(job: JobContext<unknown>, end: CopyEnd, into: Buffer, length: number, position: number): Promise<Buffer> {
  const got = await retrying(job, 'read', 'read', end.name, async () => (await end.file.read(into, 0, length, position)).bytesRead);
  into.fill(0, got, length);
  return into.subarray(0, length);
}

async function writeAll(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
