/**
 * The machine-readable contract, generated from the zod schemas of src/protocol: a JSON
 * Schema for every command's request and reply, for JobInfo and for every event, and an
 * AsyncAPI 3 document that ties them to their subjects.
 */
import { z } from 'zod';
import { JOB_EVENT_NAMES } from '../../machines/index.js';
import { ErrorReply, JobInfo, commandArgs, commandReturns, eventEnvelope } from '../protocol/schemas.js';
import { COMMANDS } from '../protocol/subjects.js';
import type { Command } from '../protocol/subjects.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, id: string, title: string, io: 'input' | 'output'): Json {
  const body = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  const { $schema, ...rest } = body;
  return { $schema, title, description: `jobstate wire protocol v1: ${id}`, ...rest };
}

/** The reply of a command: its `return`, or the error reply. */
function replySchema(command: Command): z.ZodType {
  return z.union([z.strictObject({ return: commandReturns[command] }), ErrorReply]);
}

const file = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function schemaFiles(): Record<string, Json> {
  const files: Record<string, Json> = {};
  for (const command of COMMANDS) {
    files[`commands/${command}.request.json`] = jsonSchema(
      commandArgs[command],
      `commands/${command}.request.json`,
      `${command} request`,
      'input',
    );
    files[`commands/${command}.reply.json`] = jsonSchema(
      replySchema(command),
      `commands/${command}.reply.json`,
      `${command} reply`,
      'output',
    );
  }
  for (const name of JOB_EVENT_NAMES) {
    files[`events/${name}.json`] = jsonSchema(eventEnvelope(name), `events/${name}.json`, `${name} event`, 'output');
  }
  files['job-info.json'] = jsonSchema(JobInfo, 'job-info.json', 'JobInfo', 'output');
  return files;
}

/** AsyncAPI 3.0 document: one channel per command and per event, payloads from the schemas. */
export function asyncApi(): Json {
  const schemas = schemaFiles();
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  const param = (description: string) => ({ description });
  for (const command of COMMANDS) {
    const request = `${command}.request`;
    const reply = `${command}.reply`;
    messages[request] = { name: request, contentType: 'application/json', payload: schemas[`commands/${command}.request.json`] };
    messages[reply] = { name: reply, contentType: 'application/json', payload: schemas[`commands/${command}.reply.json`] };
    channels[command] = {
      address: `{prefix}.cmd.{caller}.${command}`,
      parameters: { prefix: param('The subject prefix (JOBS_PREFIX, default jobs)'), caller: param('The account the request is made as') },
      messages: { request: { $ref: `#/components/messages/${request}` } },
    };
    channels[`${command}.reply`] = {
      address: null,
      description: 'The reply inbox of the request',
      messages: { reply: { $ref: `#/components/messages/${reply}` } },
    };
    operations[command] = {
      action: 'receive',
      channel: { $ref: `#/channels/${command}` },
      summary: `The ${command} command (request/reply)`,
      reply: { channel: { $ref: `#/channels/${command}.reply` } },
    };
  }
  for (const name of JOB_EVENT_NAMES) {
    messages[name] = { name, contentType: 'application/json', payload: schemas[`events/${name}.json`] };
    channels[name] = {
      address: `{prefix}.evt.{owner}.{id}.${name}`,
      parameters: {
        prefix: param('The subject prefix (JOBS_PREFIX, default jobs)'),
        owner: param('The account that started the job'),
        id: param('The job id'),
      },
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`publish-${name}`] = { action: 'send', channel: { $ref: `#/channels/${name}` }, summary: `Publishes ${name}` };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'jobstate',
      version: '1.0.0',
      description: 'Wire protocol v1 of jobstate: QEMU job lifecycle commands in, events out, over NATS. See docs/protocol.md.',
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  };
}

/** Every generated contract file, by repo-relative path, with its content. */
export function schemaDocs(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, schema] of Object.entries(schemaFiles())) out[`docs/schema/${path}`] = file(schema);
  out['docs/asyncapi.json'] = file(asyncApi());
  return out;
}
