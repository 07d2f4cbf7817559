/**
 * Uploading a job's inputs and downloading its output or log, for the SDK and jobctl. The
 * bytes go straight between this client and JetStream (the caller's own pipe stream), with
 * the same writer and reader as the service: bounded memory, flow control, digests checked.
 * While a transfer waits, the job's state is checked every `checkEveryMs`, so a job that ended
 * or a service that went away ends the transfer with a clear error instead of a hang.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { PipeName, inputPipe, pipeStream, pipeSubjects } from '../pipes/names.js';
import { PipeReader } from '../pipes/reader.js';
import { PipeError } from '../pipes/wire.js';
import { PipeWriter } from '../pipes/writer.js';
import type { JobInfo } from '../protocol/schemas.js';
import { JobsError } from './jobs-error.js';

/** What arrived or was sent: the size and `SHA-256=<base64url>` digest, checked end to end. */
export interface Transferred {
  size: number;
  digest: string;
}

export interface TransferOptions {
  /** How often the job is checked while nothing moves. @defaultValue 2000 */
  checkEveryMs?: number;
  /** Called as bytes go, with the total so far. */
  onProgress?: (bytes: number) => void;
  /** Aborting ends the transfer with the signal's reason. */
  signal?: AbortSignal;
}

export interface UploadOptions extends TransferOptions {
  /** The largest message sent. @defaultValue 524288 (capped by the server's max_payload) */
  chunkBytes?: number;
  /** How far ahead of the job the upload may run. @defaultValue 16777216 */
  windowBytes?: number;
}

export interface DownloadOptions extends TransferOptions {
  /** Bytes pulled ahead of the sink at most. @defaultValue 4194304 */
  bufferBytes?: number;
}

/** Where downloaded bytes go: a Node writable (its backpressure is honoured) or a function. */
export type Sink = Writable | ((chunk: Uint8Array) => void | Promise<void>);

const CHECK_EVERY_MS = 2000;

/** What a transfer needs of a {@link JobsClient}: its connection and address, and `wait` to check the job. */
export interface TransferClient {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly user: string;
  wait(id: string, opts: { timeoutMs?: number }): Promise<JobInfo>;
}

/**
 * Upload input `index` (from 0) of job `id`, started with `pipes.inputs`. Resolves once every
 * byte is stored and the end is written; the job checks the digest as it reads.
 * @example
 * const id = await client.start('backup', { params: { source: 'pipe:input', target: 'a.img' }, pipes: { inputs: [{ name: 'a.img' }] } });
 * await uploadInput(client, id, 0, createReadStream('./a.img'));
 */
export async function uploadInput(
  client: TransferClient,
  id: string,
  index: number,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: UploadOptions = {},
): Promise<Transferred> {
  const { nc, prefix, user } = client;
  const pipe = inputPipe(index);
  const label = `Input ${index + 1} of job '${id}'`;
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const writer = new PipeWriter({
    nc,
    js: jetstream(nc),
    subject: pipeSubjects.data(prefix, user, id, pipe),
    readSubject: pipeSubjects.read(prefix, user, id, pipe),
    label,
    chunkBytes: Math.min(opts.chunkBytes ?? 512 * 1024, maxPayload - 1024),
    windowBytes: opts.windowBytes ?? 16 * 1024 * 1024,
    idle: {
      everyMs: opts.checkEveryMs ?? CHECK_EVERY_MS,
      check: async () => {
        const state = await jobState(client, id);
        if (state.kind === 'live') return;
        throw new PipeError(state.kind === 'gone' ? state.error : `Job '${id}' ended before reading ${label.split(' of ')[0]}${state.error ? `: ${state.error}` : ''}`);
      },
    },
    ...(opts.signal && { signal: opts.signal }),
  });
  let writing = false;
  try {
    for await (const chunk of source) {
      writing = true;
      await writer.write(chunk);
      writing = false;
      opts.onProgress?.(writer.size);
    }
    writing = true;
    const { size, digest } = await writer.end();
    return { size, digest };
  } catch (err) {
    if (writing) writer.abandon();
    else {
      // The source failed (a file that could not be read, an HTTP client gone): the pipe ends
      // with its error, so the job fails with it at once instead of waiting for more.
      const why = err instanceof Error ? err.message : String(err);
      await writer.end(`${label.split(' of ')[0]} was not uploaded completely: ${why}`).catch(() => writer.abandon());
    }
    throw err;
  }
}

/**
 * End input `index` of job `id` with an error, without data: the job fails with `error` when it
 * comes to read it (e.g. an upload of several files that stopped before this one).
 */
export async function failInput(client: TransferClient, id: string, index: number, error: string): Promise<void> {
  const { nc, prefix, user } = client;
  const pipe = inputPipe(index);
  const writer = new PipeWriter({
    nc,
    js: jetstream(nc),
    subject: pipeSubjects.data(prefix, user, id, pipe),
    readSubject: pipeSubjects.read(prefix, user, id, pipe),
    label: `Input ${index + 1} of job '${id}'`,
    chunkBytes: 1024,
    windowBytes: 1024,
  });
  await writer.end(error);
}

/**
 * Download the output of job `id` into `sink`, while the job runs or after it concluded (within
 * the service's retention time). Rejects with the job's error if it failed or was cancelled,
 * and with `Job not found` if there is no such job and nothing kept.
 */
export function downloadOutput(client: TransferClient, id: string, sink: Sink, opts: DownloadOptions = {}): Promise<Transferred> {
  return download(client, id, PipeName.output, `Output of job '${id}'`, sink, opts);
}

/**
 * Download the log of job `id` (every line it wrote), as far as it is written; with `follow`,
 * until the job concludes.
 */
export function downloadLog(client: TransferClient, id: string, sink: Sink, opts: DownloadOptions & { follow?: boolean } = {}): Promise<Transferred | undefined> {
  return download(client, id, PipeName.log, `Log of job '${id}'`, sink, opts, !opts.follow);
}

async function download(client: TransferClient, id: string, pipe: string, label: string, sink: Sink, opts: DownloadOptions, soFar = false): Promise<Transferred> {
  const { nc, prefix, user } = client;
  let endedChecks = 0;
  const reader = new PipeReader({
    nc,
    js: jetstream(nc),
    stream: pipeStream(prefix, user),
    subject: pipeSubjects.data(prefix, user, id, pipe),
    readSubject: pipeSubjects.read(prefix, user, id, pipe),
    label,
    bufferBytes: Math.max(opts.bufferBytes ?? 8 * 1024 * 1024, 2 * (nc.info?.max_payload ?? 1024 * 1024) + 65_536),
    reportEveryBytes: 1024 * 1024,
    untilCaughtUp: soFar,
    idle: {
      everyMs: opts.checkEveryMs ?? CHECK_EVERY_MS,
      check: async (caughtUp) => {
        const state = await jobState(client, id);
        // A live job writes on; a concluded one has its end on the way. Give up only when
        // everything kept has been read and the job is gone, or ended a while ago.
        if (state.kind === 'live') return;
        if (state.kind === 'concluded' && ++endedChecks < 3) return;
        if (!(await caughtUp())) return;
        if (state.kind === 'gone') throw new PipeError(state.error);
        if (state.error !== undefined) throw new PipeError(state.error);
        throw new PipeError(reader.size === 0 ? `${label} is not kept (any more)` : `${label} ended without its end`);
      },
    },
    ...(opts.signal && { signal: opts.signal }),
  });
  const write = sinkWriter(sink);
  try {
    for await (const chunk of reader) {
      await write(chunk);
      opts.onProgress?.(reader.size);
    }
  } catch (err) {
    // No stream yet for this user: nothing was ever kept, so the job decides the error.
    if (err instanceof PipeError && /stream not found/i.test(err.message)) {
      const state = await jobState(client, id);
      throw new PipeError(state.kind === 'gone' ? state.error : `${label}: nothing is kept`);
    }
    throw err;
  }
  return reader.end ? { size: reader.end.size, digest: reader.end.digest } : { size: reader.size, digest: '' };
}

type JobState = { kind: 'live' } | { kind: 'concluded'; error?: string } | { kind: 'gone'; error: string };

/** Whether the job still runs, has concluded, or is gone (or the service is). */
async function jobState(client: TransferClient, id: string): Promise<JobState> {
  try {
    const info = await client.wait(id, { timeoutMs: 0 });
    return { kind: 'concluded', ...(info.error !== undefined && { error: info.error }) };
  } catch (err) {
    if (err instanceof JobsError && err.code === 408) return { kind: 'live' };
    return { kind: 'gone', error: err instanceof Error ? err.message : String(err) };
  }
}

function sinkWriter(sink: Sink): (chunk: Uint8Array) => Promise<void> {
  if (typeof sink === 'function') return async (chunk) => void (await sink(chunk));
  return async (chunk) => {
    if (!sink.write(chunk)) await once(sink, 'drain');
  };
}
