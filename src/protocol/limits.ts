/**
 * The service's own limits on what one caller may send and keep: the size of a command's
 * payload, of a job's description and params, and how many live jobs one owner may have.
 * The broker's max_payload stays the outer bound; these hold whatever the broker allows.
 */
import { BadInputError, TooManyJobsError } from './errors.js';
import { DEFAULT_BOUNDS } from './validate.js';
import type { PayloadBounds } from './validate.js';

export interface Limits {
  /** Largest command payload, in bytes. @defaultValue 1048576 (nats.conf's max_payload) */
  maxPayload: number;
  /** Most live (not yet dismissed) jobs per owner. @defaultValue 1000 */
  maxJobsPerOwner: number;
  /** Longest job description, in characters. @defaultValue 1024 */
  maxDescription: number;
  /** Largest `params` of a job, in bytes of JSON. @defaultValue 65536 */
  maxParamsBytes: number;
  /** Most object keys in one command payload, at every level, counted before it is parsed. @defaultValue 10000 */
  maxPayloadKeys: number;
  /** Most array elements in one command payload, at every level, counted before it is parsed. @defaultValue 10000 */
  maxPayloadItems: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxPayload: 1024 * 1024,
  maxJobsPerOwner: 1000,
  maxDescription: 1024,
  maxParamsBytes: 64 * 1024,
  maxPayloadKeys: DEFAULT_BOUNDS.maxKeys,
  maxPayloadItems: DEFAULT_BOUNDS.maxItems,
};

/** `limits` with the defaults filled in. */
export function resolveLimits(limits: Partial<Limits> = {}): Limits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/** What a payload may hold, as {@link decodePayload} counts it. */
export function payloadBounds(limits: Limits): PayloadBounds {
  return { maxKeys: limits.maxPayloadKeys, maxItems: limits.maxPayloadItems };
}

/** Refuse a payload over `max` bytes, before anything decodes it. */
export function checkPayload(data: Uint8Array, max: number): void {
  if (data.length > max) throw new BadInputError(`Payload is too large (max ${max} bytes)`);
}

/** What a job-start (or one action of a transaction) asks for, as far as limits go. */
export interface StartRequest {
  description?: string | undefined;
  params?: Record<string, unknown> | undefined;
  /** Where the request sits in the payload (`actions[1]`), for the error texts. */
  where?: string | undefined;
}

/** Refuse a job start whose description or params are over a limit, with QEMU-style texts naming the field. */
export function checkStart(limits: Limits, req: StartRequest): void {
  const name = (field: string) => (req.where ? `${req.where}.${field}` : field);
  if (req.description !== undefined && req.description.length > limits.maxDescription) {
    throw new BadInputError(`Parameter '${name('description')}' is too long (max ${limits.maxDescription} characters)`);
  }
  if (req.params !== undefined && Buffer.byteLength(JSON.stringify(req.params)) > limits.maxParamsBytes) {
    throw new BadInputError(`Parameter '${name('params')}' is too large (max ${limits.maxParamsBytes} bytes)`);
  }
}

/** Refuse one more live job for `owner`, who has `live` (counting those of the same request), past the limit. */
export function checkRoom(limits: Limits, owner: string, live: number): void {
  if (live >= limits.maxJobsPerOwner) throw new TooManyJobsError(owner, limits.maxJobsPerOwner);
}
