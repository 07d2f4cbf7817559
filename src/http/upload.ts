/**
 * `POST /_upload`, TrueNAS's shape: the multipart's first part `data` is the JSON of a job start
 * (`method` is another name for `type`), the `file` parts that follow are streamed, in order,
 * into the job's inputs. Reply `{"job_id": "<id>"}` once every file is stored.
 *
 * Nothing is buffered beyond the pipe writer's chunks in flight: a file part is read as the
 * job's input takes it (the socket is paused meanwhile). An upload that goes wrong after the
 * job started ends the inputs not yet complete with its error, so the job fails with it.
 */
import multipart from '@fastify/multipart';
import type { MultipartFile, MultipartValue, Multipart } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JobsClient } from '../sdk/client.js';
import { JobsError } from '../sdk/jobs-error.js';
import type { StartOptions } from '../sdk/client.js';
import { failInput } from '../sdk/pipes.js';
import { HttpError } from './server.js';
import type { HttpContext, HttpPlugin } from './server.js';

interface StartArgs {
  type: string;
  pipes?: { inputs?: unknown[]; output?: string };
  [arg: string]: unknown;
}

export const uploadRoutes: HttpPlugin = async (app: FastifyInstance, ctx: HttpContext) => {
  await app.register(multipart, {
    limits: {
      fieldNameSize: 100,
      fieldSize: ctx.limits.maxDataBytes,
      fields: 1,
      files: ctx.limits.maxFiles,
      fileSize: ctx.limits.maxFileBytes,
      headerPairs: 100,
      parts: ctx.limits.maxFiles + 1,
    },
    throwFileSizeLimit: true,
  });
  app.post('/_upload', async (request, reply) => {
    if (!request.isMultipart()) throw new HttpError(400, "Not a multipart upload: send multipart/form-data with a 'data' part (the job start's JSON) and 'file' parts (curl -F)");
    const id = await ctx.asCaller(request, (client) => upload(ctx, request, client));
    return reply.send({ job_id: id });
  });
};

async function upload(ctx: HttpContext, request: FastifyRequest, client: JobsClient): Promise<string> {
  const parts = request.parts()[Symbol.asyncIterator]();
  const first = await nextPart(parts, ctx.limits);
  if (first === undefined) throw new HttpError(400, "The upload has no parts: the first part must be 'data', the job start's JSON");
  if (first.type !== 'field' || first.fieldname !== 'data') {
    if (first.type === 'file') first.file.resume();
    throw new HttpError(400, `The first part must be 'data' (the job start's JSON), not '${first.fieldname}'`);
  }
  const start = parseStart(first as MultipartValue);
  const { id, inputs } = await startJob(client, start);
  const log = ctx.logger.child({ job: id, owner: client.user });
  log.info({ type: start.type, inputs }, 'upload: job started');
  let done = 0;
  try {
    for (;;) {
      const part = await nextPart(parts, ctx.limits);
      if (part === undefined) break;
      if (part.type !== 'file' || part.fieldname !== 'file') {
        if (part.type === 'file') part.file.resume();
        throw new HttpError(400, `Unexpected part '${part.fieldname}': after 'data' come only 'file' parts`);
      }
      if (done >= inputs) {
        part.file.resume();
        throw new HttpError(400, `Too many files: job '${id}' reads ${inputs} input${inputs === 1 ? '' : 's'}`);
      }
      const name = safeName(part.filename);
      const sent = await client.upload(id, done, limitedFile(part, name, ctx.limits));
      log.info({ input: done + 1, name, size: sent.size, digest: sent.digest }, 'upload: input stored');
      done++;
    }
    if (done < inputs) throw new HttpError(400, `Too few files: job '${id}' reads ${inputs} input${inputs === 1 ? '' : 's'}, the upload had ${done}`);
    return id;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    log.warn({ err: why, uploaded: done }, 'upload failed: the job fails with its error');
    if (err instanceof HttpError) err.jobId = id;
    if (done >= inputs) {
      // Every input is stored (too many files): the job would go on with an upload that was refused.
      await client.cancel(id).catch(() => undefined);
    } else {
      // The input being written was ended with the error (the SDK does that); the ones after it get it too.
      for (let i = done + 1; i < inputs; i++) await failInput(client, id, i, `The upload stopped before Input ${i + 1}: ${why}`).catch(() => undefined);
      if (err instanceof HttpError) await failInput(client, id, done, `The upload was refused: ${why}`).catch(() => undefined);
    }
    throw err;
  }
}

/** The next part; multipart errors (limits, a client gone) become HTTP errors. */
async function nextPart(parts: AsyncIterator<Multipart>, limits: HttpContext['limits']): Promise<Multipart | undefined> {
  try {
    const { value, done } = await parts.next();
    return done ? undefined : value;
  } catch (err) {
    throw multipartError(err, limits);
  }
}

/** What went wrong with the multipart body, said plainly. */
function multipartError(err: unknown, limits: HttpContext['limits']): unknown {
  switch ((err as { code?: string }).code) {
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return new HttpError(413, `Too many files: at most ${limits.maxFiles} in one upload`);
    case 'FST_FIELDS_LIMIT':
      return new HttpError(400, "Unexpected part: only one 'data' part, then 'file' parts");
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HttpError(413, `A file is larger than allowed (at most ${limits.maxFileBytes} bytes)`);
    case 'FST_MP_PREMATURE_CLOSE':
      return new HttpError(400, CLIENT_GONE);
    default:
      if (err instanceof Error && (/^aborted$|terminated early|Unexpected end of (multipart|form)/i.test(err.message) || (err as NodeJS.ErrnoException).code === 'ECONNRESET')) return new HttpError(400, CLIENT_GONE);
      if (err instanceof Error && !(err instanceof HttpError)) return new HttpError(400, `The multipart body is malformed: ${err.message}`);
      return err;
  }
}

/** The size of the messages an upload is sent in (the SDK's and the service's). */
const CHUNK_BYTES = 512 * 1024;

const CLIENT_GONE = 'The HTTP client disconnected before the upload ended';

function parseStart(part: MultipartValue): StartArgs {
  let value: unknown;
  try {
    value = JSON.parse(String(part.value));
  } catch (err) {
    throw new HttpError(400, `Part 'data' is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, "Part 'data' must be a JSON object: the job start's arguments");
  const { method, ...rest } = value as Record<string, unknown>;
  if (method !== undefined && rest.type !== undefined) throw new HttpError(400, "Part 'data' names both 'type' and 'method' (another name for it): give one");
  const type = rest.type ?? method;
  if (typeof type !== 'string') throw new HttpError(400, "Part 'data' must name the job type: 'type' (or TrueNAS's 'method')");
  return { ...rest, type } as StartArgs;
}

/**
 * Start the job with as many inputs as its type reads with these params: the job start's own
 * `pipes.inputs` if given, else what the service says it needs (a job start without inputs is
 * refused, and nothing starts, naming the number).
 */
async function startJob(client: JobsClient, start: StartArgs): Promise<{ id: string; inputs: number }> {
  const { type, ...rest } = start;
  // The service validates the arguments (and names what is wrong).
  const args = rest as StartOptions;
  try {
    if (start.pipes?.inputs !== undefined) return { id: await client.start(type, args), inputs: start.pipes.inputs.length };
    try {
      return { id: await client.start(type, args), inputs: 0 };
    } catch (err) {
      const m = err instanceof JobsError ? /^Parameter 'pipes\.inputs' is missing: job type '[^']*' reads (\d+) inputs? with these params$/.exec(err.message) : null;
      if (!m) throw err;
      const inputs = Number(m[1]);
      const pipes = { ...args.pipes, inputs: Array.from({ length: inputs }, () => ({})) };
      return { id: await client.start(type, { ...args, pipes }), inputs };
    }
  } catch (err) {
    if (err instanceof JobsError) throw new HttpError(err.code === 403 ? 403 : err.code >= 500 ? 502 : 400, err.message);
    throw err;
  }
}

/** The file's bytes as they come, refused once past the size allowed. */
async function* limitedFile(part: MultipartFile, name: string, limits: HttpContext['limits']): AsyncGenerator<Uint8Array> {
  // The socket's chunks (64 KiB) gathered into the pipes' 512 KiB messages: a few large
  // messages in flight instead of many small ones (a fresh buffer each: NATS keeps it until acked).
  let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let filled = 0;
  try {
    for await (const chunk of part.file as AsyncIterable<Buffer>) {
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, CHUNK_BYTES - filled);
        chunk.copy(buffer, filled, at, at + n);
        filled += n;
        at += n;
        if (filled === CHUNK_BYTES) {
          yield buffer;
          buffer = Buffer.allocUnsafe(CHUNK_BYTES);
          filled = 0;
        }
      }
    }
    if (filled > 0 && !part.file.truncated) yield buffer.subarray(0, filled);
  } catch (err) {
    throw multipartError(err, limits);
  }
  if (part.file.truncated) throw new HttpError(413, `File '${name}' is larger than allowed (at most ${limits.maxFileBytes} bytes)`);
}

/** A file name for logs and errors: its last path component, printable. */
function safeName(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? '';
  return base.replace(/[^\x20-\x7e]/g, '?').slice(0, 255) || 'file';
}
