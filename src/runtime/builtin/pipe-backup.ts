/**
 * `backup` with a pipe at either end: `"source": "pipe:input"` copies the caller's upload into
 * the data directory (aside, put in place at finalize, like any backup), `"target":
 * "pipe:output"` copies a file to the caller (a download), and both together pass the upload
 * through. Progress and speed are in bytes; there is a pause point after every chunk.
 */
import type { FileHandle } from 'node:fs/promises';
import type { JobContext, PipeInput, PipeOutput } from '../handler.js';
import { openAside } from './aside.js';
import { retrying } from './io-retry.js';
import { openSource } from './source.js';

export const PIPE_INPUT = 'pipe:input';
/** How much of a source file is read at once for the output pipe (it goes out in the pipe's own chunks). */
const READ_BYTES = 1024 * 1024;
export const PIPE_OUTPUT = 'pipe:output';

interface Ends {
  source: string;
  target: string;
}

/** Where the bytes go: the output pipe, or a file (aside) at `name`. */
interface Sink {
  write(data: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

/** The backup of `source` to `target` when at least one of them is a pipe. */
export async function pipeBackup(job: JobContext<Ends>, dataDir: string): Promise<void> {
  const { source, target } = job.params;
  const sink = target === PIPE_OUTPUT ? outputSink(job) : await fileSink(job, dataDir, target);
  try {
    if (source === PIPE_INPUT) await fromInput(job, sink);
    else await fromFile(job, dataDir, source, sink);
  } finally {
    await sink.close();
  }
}

async function fromInput(job: JobContext<Ends>, sink: Sink): Promise<void> {
  const input = job.pipes.input as PipeInput;
  let done = 0;
  job.progress(0, input.size ?? 0);
  for await (const chunk of input) {
    await sink.write(chunk, done);
    done += chunk.length;
    job.progress(done, Math.max(done, input.size ?? 0));
    await job.throttle(chunk.length);
  }
  job.progress(done, done);
}

async function fromFile(job: JobContext<Ends>, dataDir: string, source: string, sink: Sink): Promise<void> {
  const src = await openSource(job, dataDir, source);
  try {
    let position = 0;
    job.progress(0, src.size);
    while (position < src.size) {
      // A fresh buffer each time: the output pipe keeps it until NATS has sent it.
      const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, src.size - position));
      const at = position;
      const got = await retrying(job, 'read', 'read', source, async () => (await src.file.read(buffer, 0, buffer.length, at)).bytesRead);
      if (got === 0) break; // the source shrank meanwhile
      await sink.write(buffer.subarray(0, got), at);
      position += got;
      job.progress(position, src.size);
      await job.throttle(got);
    }
  } finally {
    await src.file.close();
  }
}

function outputSink(job: JobContext<Ends>): Sink {
  const output = job.pipes.output as PipeOutput;
  return { write: (data) => output.write(data), close: async () => undefined };
}

async function fileSink(job: JobContext<Ends>, dataDir: string, target: string): Promise<Sink> {
  const out = await openAside(job, dataDir, target);
  return {
    write: (data, position) => retrying(job, 'write', 'write', target, () => writeAll(out.file, data, position)),
    close: async () => {
      try {
        await retrying(job, 'write', 'write', target, () => out.file.datasync());
      } finally {
        await out.file.close();
      }
    },
  };
}

async function writeAll(file: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
