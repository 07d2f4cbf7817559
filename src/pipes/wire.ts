/**
 * What travels on a pipe. Data messages carry bytes and no headers. The last message of a pipe
 * has the header `Jobs-Pipe: end` and a JSON body, {@link PipeEnd}: the size and SHA-256 of
 * everything sent (as nats.js Object Store writes digests), and for a pipe that ended in failure
 * the error — a failed job's output ends with the job's error, never with an empty success.
 * Readers report progress on the pipe's read subject with a {@link ReadReport}.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

export const END_HEADER = 'Jobs-Pipe';
export const END_VALUE = 'end';

/** The end of a pipe. */
export interface PipeEnd {
  /** Bytes sent before the end. */
  size: number;
  /** `SHA-256=<base64url, padded>` of those bytes. */
  digest: string;
  /** Present when the pipe ended in failure (the job failed or was cancelled; the writer gave up). */
  error?: string;
}

/** What a reader reports: how many bytes it has read; `done` once it read the end, `error` if it gave up. */
export interface ReadReport {
  read: number;
  done?: boolean;
  error?: string;
}

/** A pipe that failed: stalled, cut short, corrupted, or ended with an error. */
export class PipeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PipeError';
  }
}

/** A running SHA-256 and byte count over what a pipe carries. */
export class PipeDigest {
  readonly #hash: Hash = createHash('sha256');
  size = 0;

  update(data: Uint8Array): void {
    this.#hash.update(data);
    this.size += data.length;
  }

  /** `SHA-256=<base64url, padded>`; the hash cannot be updated after this. */
  digest(): string {
    const b64 = this.#hash.digest('base64');
    return `SHA-256=${b64.replaceAll('+', '-').replaceAll('/', '_')}`;
  }
}

/** Parse a pipe's end body; undefined when it is not one. */
export function parseEnd(body: Uint8Array): PipeEnd | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    if (typeof value !== 'object' || value === null) return undefined;
    const { size, digest, error } = value as Record<string, unknown>;
    if (typeof size !== 'number' || typeof digest !== 'string') return undefined;
    if (error !== undefined && typeof error !== 'string') return undefined;
    return { size, digest, ...(error !== undefined && { error }) };
  } catch {
    return undefined;
  }
}

/** Parse a read report; undefined when it is not one. */
export function parseReport(body: Uint8Array): ReadReport | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(body));
    if (typeof value !== 'object' || value === null) return undefined;
    const { read, done, error } = value as Record<string, unknown>;
    if (typeof read !== 'number' || !Number.isFinite(read)) return undefined;
    return { read, ...(done === true && { done }), ...(typeof error === 'string' && { error }) };
  } catch {
    return undefined;
  }
}
