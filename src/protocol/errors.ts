/**
 * Errors of the protocol: one class per situation, carrying QEMU's text and a code, and one
 * function that turns any error into the wire reply. Anything unexpected becomes a 500.
 */

/**
 * The codes of the `Nats-Service-Error-Code` header: the contract's 400, 404, 409 and 500,
 * plus HTTP's 408 for a wait that ran out of time, 413 for a reply larger than the broker's
 * max_payload, and 503 for a service shutting down or a partition moving between instances.
 */
export const ErrorCode = { badInput: 400, notFound: 404, timeout: 408, refused: 409, tooLarge: 413, internal: 500, unavailable: 503 } as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: malformed payload, missing/unexpected/mistyped field, bad id, unknown type… */
export class BadInputError extends ProtocolError {
  constructor(message: string) {
    super(message, ErrorCode.badInput);
  }
}

/** No such job, or not the caller's: the two are indistinguishable on purpose. */
export class JobNotFoundError extends ProtocolError {
  constructor() {
    super('Job not found', ErrorCode.notFound);
  }
}

/** A verb the job refuses in its current state (QEMU's verb table and extra checks). */
export class VerbRefusedError extends ProtocolError {
  constructor(message: string) {
    super(message, ErrorCode.refused);
  }
}

/** The id is taken by a live or concluded, undismissed job of the same owner. */
export class JobIdInUseError extends ProtocolError {
  constructor(id: string) {
    super(`Job ID '${id}' already in use`, ErrorCode.refused);
  }
}

/** The owner already has as many live (not yet dismissed) jobs as the service allows. */
export class TooManyJobsError extends ProtocolError {
  constructor(owner: string, max: number) {
    super(`Too many jobs for owner '${owner}' (max ${max})`, ErrorCode.refused);
  }
}

/** job-wait ran out of time. */
export class WaitTimeoutError extends ProtocolError {
  constructor(id: string) {
    super(`Timed out waiting for job '${id}'`, ErrorCode.timeout);
  }
}

/**
 * A reply that would be larger than the connection's max_payload, which the broker would not
 * carry: the caller gets this instead of silence. `hint` says how to ask for less.
 */
export class ReplyTooLargeError extends ProtocolError {
  constructor(what: string, bytes: number | undefined, max: number, hint: string) {
    const size = bytes === undefined ? '' : ` (${bytes} bytes)`;
    super(`The reply to ${what} would be larger${size} than the server's max_payload (${max} bytes): ${hint}`, ErrorCode.tooLarge);
  }
}

/** The service is shutting down and takes no new commands. */
export class ShuttingDownError extends ProtocolError {
  constructor() {
    super('The service is shutting down', ErrorCode.unavailable);
  }
}

/** The owner's partition is served by no instance (yet): it is changing hands. */
export class PartitionMovingError extends ProtocolError {
  constructor(readonly partition: number) {
    super(`Partition ${partition} is moving between instances; retry the command`, ErrorCode.unavailable);
  }
}

/**
 * A forwarded change whose instance gave no answer in time: it may have gone with the command,
 * done or not. Unlike {@link PartitionMovingError}, retrying blindly could do it twice.
 */
export class ForwardUnansweredError extends ProtocolError {
  constructor(readonly partition: number) {
    super(`Partition ${partition}: the instance serving it gave no answer in time; the command may have been done: query before retrying`, ErrorCode.unavailable);
  }
}

/** An admin's query-jobs across partitions heard from no instance serving these: no partial list. */
export class PartitionsMissingError extends ProtocolError {
  constructor(readonly missing: readonly number[]) {
    const which = missing.length === 1 ? `partition ${missing[0]}` : `partitions ${missing.join(', ')}`;
    super(`No instance answered for ${which} (moving between instances); retry the query`, ErrorCode.unavailable);
  }
}

export interface ErrorReply {
  error: { class: 'GenericError'; desc: string };
}

/** The reply and headers for any error; `unexpected` is true for errors that are bugs. */
export function toErrorReply(err: unknown): { code: ErrorCode; reply: ErrorReply; unexpected: boolean } {
  const known = err instanceof ProtocolError;
  const desc = known ? err.message : 'Internal error';
  return {
    code: known ? err.code : ErrorCode.internal,
    reply: { error: { class: 'GenericError', desc } },
    unexpected: !known,
  };
}
