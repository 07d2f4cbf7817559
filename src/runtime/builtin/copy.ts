/**
 * The chunked copy every file job uses. Under a speed limit: 64 KiB at a time, one chunk
 * after the other (64 KiB keeps a 1 MiB/s limit smooth: QEMU's 100 ms slice then holds 1.6
 * chunks). Without one: {@link UNLIMITED_LANES} lanes, each reading and then writing 1 MiB
 * chunks of its own at their offsets, so that several chunks are in flight at once (libuv's
 * thread pool does the I/O; one chunk at a time leaves it mostly idle). The speed may change
 * during the copy (job-set-speed): the mode follows at the next chunk boundary.
 *
 * Each chunk's I/O is retried under the on-error policy, and after each chunk comes the
 * caller's accounting (progress, then the rate limit, which ends with a pause point): while
 * the job is paused no chunk starts. An error in one lane, or a cancel, stops the others, and
 * copyChunks throws only once no I/O of the copy is under way (see lanes.ts).
 *
 * Zero chunks are not written into a fresh file, so sparse files stay sparse; the file is
 * sized at the end. With `compare`, the destination already holds data (mirror's resync):
 * only the chunks that differ are written.
 */
import type { FileHandle } from 'node:fs/promises';
import type { JobContext } from '../handler.js';
import { retrying } from './io-retry.js';
import { inLanes } from './lanes.js';
import type { Lane } from './lanes.js';

export const CHUNK_SIZE = 64 * 1024;
/** With no speed limit there is nothing to keep smooth: larger chunks, fewer round trips. */
export const UNLIMITED_CHUNK_SIZE = 1024 * 1024;
/**
 * Chunks in flight at once with no speed limit: as many as libuv's thread pool has threads
 * (4 by default). Memory: one buffer per lane (two when comparing).
 */
export const UNLIMITED_LANES = 4;

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
   * `await job.throttle(...)` (the pause point between chunks). Without a speed limit it is
   * called by several chunks at once, in the order they finish; once one fails, the copy may
   * stop waiting for the others' calls.
   */
  account(bytes: number, written: boolean): Promise<void>;
}

/** Where a copy stands, shared by its lanes. */
interface Copy {
  readonly from: CopyEnd;
  readonly to: CopyEnd;
  readonly opts: CopyOptions;
  /** The offset of the next chunk to start. */
  next: number;
  /** Where the copy ends: `size`, or less where a read found the source's end sooner. */
  end: number;
  /** Each lane's buffers, made on first use: memory stays at one set per lane. */
  readonly ours: Buffer[];
  readonly theirs: Buffer[];
}

/**
 * Copy `size` bytes of `from` into `to` (same offsets) and size `to` to match; resolves to the
 * bytes copied (fewer if the source shrank). Cancel and errors propagate once all of the copy's
 * I/O has ended.
 */
export async function copyChunks(job: JobContext<unknown>, from: CopyEnd, to: CopyEnd, opts: CopyOptions): Promise<number> {
  const copy: Copy = { from, to, opts, next: 0, end: opts.size, ours: [], theirs: [] };
  while (copy.next < copy.end) {
    // Between runs of lanes (a change of speed): no chunk starts while the job is paused.
    if (copy.next > 0) await job.pausePoint();
    const unlimited = job.speed === 0;
    const lanes = unlimited ? Math.min(UNLIMITED_LANES, Math.ceil((copy.end - copy.next) / UNLIMITED_CHUNK_SIZE)) : 1;
    await inLanes(job, lanes, (lane) => copyLane(lane, copy, unlimited));
  }
  const { end } = copy;
  const { size } = await retrying(job, 'read', 'read', to.name, () => to.file.stat());
  if (size !== end) await retrying(job, 'write', 'resize', to.name, () => to.file.truncate(end));
  return end;
}

/** One lane: chunks of the mode's size, one after the other, as long as the job's speed stays in the mode. */
async function copyLane(lane: Lane, copy: Copy, unlimited: boolean): Promise<void> {
  const { job, index } = lane;
  const { from, to, opts } = copy;
  const chunkSize = unlimited ? UNLIMITED_CHUNK_SIZE : CHUNK_SIZE;
  const bufferSize = Math.min(UNLIMITED_CHUNK_SIZE, opts.size);
  // Unsafe (not zero-filled) is fine: only the bytes a read filled are ever looked at.
  const ours = (copy.ours[index] ??= Buffer.allocUnsafe(bufferSize));
  while (copy.next < copy.end && (job.speed === 0) === unlimited) {
    const at = copy.next;
    const want = Math.min(chunkSize, copy.end - at);
    copy.next += want;
    lane.check();
    const got = await retrying(job, 'read', 'read', from.name, () => readFully(from.file, ours, want, at));
    // A short read is the source's end (it shrank meanwhile): the copy ends there. A chunk past
    // it that another lane read before it shrank is dropped (and cut off by the final resize).
    if (got < want) copy.end = Math.min(copy.end, at + got);
    if (got === 0 || at >= copy.end) continue;
    const chunk = ours.subarray(0, got);
    let current: Buffer = ZEROS.subarray(0, got);
    if (opts.compare) {
      const theirs = (copy.theirs[index] ??= Buffer.allocUnsafe(bufferSize));
      lane.check();
      current = await readPadded(job, to, theirs, got, at);
    }
    const differs = !chunk.equals(current);
    if (differs) {
      lane.check();
      await retrying(job, 'write', 'write', to.name, () => writeAll(to.file, chunk, at));
    }
    await lane.wait(() => opts.account(got, differs));
  }
}

/** Read `length` bytes at `position` into `into` unless the file ends sooner; the bytes read. */
async function readFully(file: FileHandle, into: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(into, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** `length` bytes of `end` at `position`, zeros past its end (it is resized at the end of the copy). */
async function readPadded(job: JobContext<unknown>, end: CopyEnd, into: Buffer, length: number, position: number): Promise<Buffer> {
  const got = await retrying(job, 'read', 'read', end.name, () => readFully(end.file, into, length, position));
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
