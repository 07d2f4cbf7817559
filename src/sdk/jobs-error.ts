/** The SDK's errors: a command's error reply becomes a {@link JobsError}. */
import type { Msg } from '@nats-io/transport-node';
import type { ErrorCode } from '../protocol/errors.js';
import type { Command } from '../protocol/subjects.js';

/** An error reply from the service: QEMU's text in `message`, the header code in `code`. */
export class JobsError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode | number,
    readonly command: Command,
    /** The job the command addressed, if it named one. */
    readonly id?: string,
  ) {
    super(message);
    this.name = 'JobsError';
  }
}

/** A command's `return`; its error reply (or an unreadable one) thrown as a {@link JobsError}. */
export function decodeReply(command: Command, msg: Msg, id: string | undefined): unknown {
  let body: { return?: unknown; error?: { desc?: string } };
  try {
    body = msg.json();
  } catch {
    throw new JobsError(`Unreadable reply to ${command}`, 500, command);
  }
  if (body.error) {
    const code = Number(msg.headers?.get('Nats-Service-Error-Code') ?? 500);
    throw new JobsError(body.error.desc ?? 'Unknown error', code, command, id);
  }
  return body.return;
}
