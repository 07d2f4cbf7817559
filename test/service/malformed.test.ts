/**
 * The malformed-payload suite: every command gets hostile payloads as raw NATS requests —
 * bytes that are not UTF-8, text that is not JSON, JSON that is not an object, wrong field
 * types, ~1 MB strings, payloads at and over max_payload, deep nesting, `__proto__` /
 * `constructor` / `prototype` keys, and ids (and owners) with `.`, `*`, `>`, spaces, newlines,
 * unicode, empty or too long. Each must get an error reply (never silence, never a success)
 * with the contract's code and, where the contract names one, its exact text; meanwhile the
 * live jobs keep their state and the service keeps serving.
 */
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { COMMANDS, Command } from '../../src/protocol/subjects.js';
import type { JobInfo } from '../../src/protocol/schemas.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Code = 400 | 404;

interface Case {
  label: string;
  command: Command;
  payload: string | Uint8Array;
  /** The caller token of the subject. @defaultValue 'alice' */
  caller?: string;
  code: Code;
  /** The exact desc, or a pattern when the contract does not name the text. */
  desc: string | RegExp;
}

/** A success a case expects instead of an error (only where the contract calls for one). */
interface SuccessCase {
  label: string;
  command: Command;
  payload: string;
  caller?: string;
  value: Json;
}

const REQUEST_TIMEOUT = 5000;
const BIG = 900 * 1024;
const VERBS = [
  Command.jobPause,
  Command.jobResume,
  Command.jobCancel,
  Command.jobComplete,
  Command.jobFinalize,
  Command.jobDismiss,
  Command.jobSetSpeed,
] as const;
/** Commands that address one job by `id` (and `owner`). */
const BY_ID = [...VERBS, Command.jobWait, Command.jobLog, Command.jobDownloadLog] as const;

const NOT_JSON = /JSON/;
const NOT_OBJECT = /object/;
const TOO_DEEP = /nested deeper than/;

/** The live job every by-id base payload names: a hostile field must keep it untouched. */
const LIVE = 'live-run';

/** A valid payload for each command, into which one hostile thing is put. */
const BASE: Record<Command, { [key: string]: Json }> = {
  [Command.jobStart]: { type: 'test', params: { steps: 0, 'step-ms': 0 } },
  [Command.transaction]: { actions: [{ type: 'test', params: { steps: 0, 'step-ms': 0 } }] },
  [Command.jobPause]: { id: LIVE },
  [Command.jobResume]: { id: LIVE },
  [Command.jobCancel]: { id: LIVE },
  [Command.jobComplete]: { id: LIVE },
  [Command.jobFinalize]: { id: LIVE },
  [Command.jobDismiss]: { id: LIVE },
  [Command.jobSetSpeed]: { id: LIVE, speed: 0 },
  [Command.queryJobs]: {},
  [Command.jobWait]: { id: LIVE, 'timeout-ms': 0 },
  [Command.jobLog]: { id: LIVE },
  [Command.jobDownload]: { type: 'test', params: { steps: 0, 'step-ms': 0 }, filename: 'x.bin' },
  [Command.jobDownloadLog]: { id: LIVE },
  [Command.queryJobTypes]: {},
};

/** QEMU's type names for each field, as `Invalid parameter type for '<f>', expected: <type>` gives them. */
type TypeName = 'string' | 'boolean' | 'integer' | 'object' | 'array';
const JOB_START_FIELDS: Record<string, TypeName> = {
  type: 'string',
  id: 'string',
  params: 'object',
  'auto-finalize': 'boolean',
  'auto-dismiss': 'boolean',
  speed: 'integer',
  'on-error': 'string',
  description: 'string',
  'params.steps': 'integer',
  'params.step-ms': 'integer',
  'params.ready': 'boolean',
  'params.fail': 'string',
  'params.fail-at': 'integer',
};
const REF_FIELDS: Record<string, TypeName> = { id: 'string', owner: 'string' };
const FIELDS: Record<Command, Record<string, TypeName>> = {
  [Command.jobStart]: JOB_START_FIELDS,
  [Command.transaction]: {
    actions: 'array',
    properties: 'object',
    'properties.completion-mode': 'string',
    'actions.0': 'object',
    ...Object.fromEntries(Object.entries(JOB_START_FIELDS).map(([f, t]) => [`actions.0.${f}`, t])),
  },
  [Command.jobPause]: REF_FIELDS,
  [Command.jobResume]: REF_FIELDS,
  [Command.jobCancel]: { ...REF_FIELDS, force: 'boolean' },
  [Command.jobComplete]: REF_FIELDS,
  [Command.jobFinalize]: REF_FIELDS,
  [Command.jobDismiss]: REF_FIELDS,
  [Command.jobSetSpeed]: { ...REF_FIELDS, speed: 'integer' },
  [Command.queryJobs]: { owner: 'string', status: 'string', type: 'string' },
  [Command.jobWait]: { ...REF_FIELDS, 'timeout-ms': 'integer' },
  [Command.jobLog]: REF_FIELDS,
  [Command.jobDownload]: { ...JOB_START_FIELDS, filename: 'string', buffered: 'boolean' },
  [Command.jobDownloadLog]: { ...REF_FIELDS, filename: 'string' },
  [Command.queryJobTypes]: {},
};
const WRONG: Record<TypeName, Json[]> = {
  string: [1, -1.5, true, null, [], ['x'], {}],
  boolean: [0, 1, 'true', '', null, [], {}],
  integer: ['5', '', true, null, [], {}, 1.5],
  object: [1, 'x', true, null, [], [{}]],
  array: [1, 'x', false, null, {}],
};

/** Ids no job can have: the contract's pattern is `^[A-Za-z][A-Za-z0-9_-]{0,127}$`. */
const BAD_IDS = [
  'a.b',
  '.',
  'a.',
  '*',
  'a*',
  'a.*',
  '>',
  'a.>',
  'a b',
  ' a',
  'a ',
  'a\tb',
  'a\nb',
  'a\r\nb',
  '\n',
  'a\u0000b',
  'jöb',
  '日本',
  'a😀',
  '\u2028',
  'a\u202eb',
  '',
  'a'.repeat(129),
  'a'.repeat(1000),
  '1abc',
  '-a',
  '_a',
  'a/b',
  'a\\b',
  'a"b',
  "a'b",
  '$SRV',
  '__proto__',
];
/** Valid ids that name properties of every JS object: they must not find anything either. */
const OBJECT_IDS = ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
/** Owners that cannot be an account name (`^[A-Za-z0-9_-]{1,64}$`) but fit the 64-character bound. */
const BAD_OWNERS = BAD_IDS.filter((id) => id.length <= 64 && !/^[A-Za-z0-9_-]{1,64}$/.test(id));
const POISON_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  '__lookupSetter__',
];

// ---------------------------------------------------------------------------------------
// Payload building. Keys like `__proto__` cannot be written as object literals (they would set
// the prototype), so hostile keys and values are spliced into the JSON text.

const J = (value: Json): string => JSON.stringify(value);

/** `object` (as JSON) with one more key whose value is the JSON text `valueJson`. */
function withRawKey(object: { [key: string]: Json }, key: string, valueJson: string): string {
  const text = J(object);
  return `${text.slice(0, -1)}${text === '{}' ? '' : ','}${J(key)}:${valueJson}}`;
}

/** A deep copy of `object` with the value at `path` (dot-separated, numbers index arrays) replaced. */
function withValue(object: { [key: string]: Json }, path: string, valueJson: string): string {
  const marker = '\u0000<<value>>\u0000';
  const copy = structuredClone(object) as { [key: string]: Json };
  const parts = path.split('.');
  let node: Json = copy;
  for (const part of parts.slice(0, -1)) {
    let next: Json | undefined = (node as { [key: string]: Json })[part];
    if (next === undefined) next = (node as { [key: string]: Json })[part] = {};
    node = next;
  }
  (node as { [key: string]: Json })[parts.at(-1)!] = marker;
  return J(copy).replace(J(marker), valueJson);
}

/** How the service names a field path in its texts: `actions[0].params.steps`. */
function fieldName(path: string): string {
  return path.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
}

const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const bytes = (...b: number[]) => new Uint8Array(b);
const utf8 = (text: string) => new TextEncoder().encode(text);

/** The service's echo of a job id: at most 128 characters, then an ellipsis. */
function echoedId(id: string): string {
  return id.length > 128 ? `${id.slice(0, 128)}…` : id;
}

// ---------------------------------------------------------------------------------------
// The cases.

/** Payloads that are not a JSON object: the same error for every command. */
function notAnObjectCases(command: Command): Case[] {
  const base = J(BASE[command]);
  const notUtf8: Array<[string, Uint8Array]> = [
    ['a lone 0xff', bytes(0xff)],
    ['0xff 0xfe 0xfd', bytes(0xff, 0xfe, 0xfd)],
    ['a truncated sequence in a string', new Uint8Array([...utf8('{"id":"'), 0xc3, ...utf8('"}')])],
    ['an overlong encoding', new Uint8Array([...utf8('{"id":"'), 0xc0, 0xaf, ...utf8('"}')])],
    ['a UTF-8 encoded surrogate', new Uint8Array([...utf8('{"id":"'), 0xed, 0xa0, 0x80, ...utf8('"}')])],
    ['UTF-16', new Uint8Array([...utf8(base)].flatMap((b) => [b, 0]))],
    ['a valid payload then 0xff', new Uint8Array([...utf8(base), 0xff])],
  ];
  const notJson = [
    'not json',
    '{',
    '}',
    '{"id":',
    '{"id":"x"',
    "{'id':'x'}",
    '{id:"x"}',
    '{"id":"x",}',
    '{"a":1}{"b":2}',
    `${base}x`,
    'NaN',
    'undefined',
    ' ',
    '\n',
    '\u0000',
    '{"a":"\u0001"}',
    '{"a":"\\x41"}',
    '{"a":01}',
  ];
  const scalars = ['1', '-0', '1.5e3', '1e999', '"x"', '""', J(base), 'true', 'false', 'null', '[]', '[{}]', '[1,2]', `[${base}]`];
  return [
    ...notUtf8.map(([label, payload]): Case => ({ label: `not UTF-8: ${label}`, command, payload, code: 400, desc: NOT_JSON })),
    ...notJson.map((payload): Case => ({ label: `not JSON: ${J(payload)}`, command, payload, code: 400, desc: NOT_JSON })),
    ...scalars.map((payload): Case => ({ label: `not an object: ${payload}`, command, payload, code: 400, desc: NOT_OBJECT })),
  ];
}

function missingFieldCases(command: Command): Case[] {
  const required: Partial<Record<Command, string>> = {
    [Command.jobStart]: 'type',
    [Command.transaction]: 'actions',
    [Command.jobWait]: 'id',
    [Command.jobLog]: 'id',
    ...Object.fromEntries(VERBS.map((v) => [v, 'id'])),
  };
  const name = required[command];
  if (!name) return [];
  const cases: Case[] = [
    { label: 'an empty payload', command, payload: '', code: 400, desc: `Parameter '${name}' is missing` },
    { label: '{}', command, payload: '{}', code: 400, desc: `Parameter '${name}' is missing` },
  ];
  if (command === Command.jobSetSpeed) {
    cases.push({ label: 'no speed', command, payload: J({ id: LIVE }), code: 400, desc: "Parameter 'speed' is missing" });
  }
  if (command === Command.transaction) {
    cases.push({
      label: 'an action without type',
      command,
      payload: J({ actions: [{ id: 'tx1' }] }),
      code: 400,
      desc: "Parameter 'actions[0].type' is missing",
    });
  }
  return cases;
}

function wrongTypeCases(command: Command): Case[] {
  const cases: Case[] = [];
  for (const [path, type] of Object.entries(FIELDS[command])) {
    for (const value of WRONG[type]) {
      cases.push({
        label: `${path} = ${J(value)}`,
        command,
        payload: withValue(BASE[command], path, J(value)),
        code: 400,
        desc: `Invalid parameter type for '${fieldName(path)}', expected: ${type}`,
      });
    }
  }
  // A number too large for a double parses as Infinity: still not an integer.
  for (const [path, type] of Object.entries(FIELDS[command])) {
    if (type !== 'integer') continue;
    cases.push({
      label: `${path} = 1e999`,
      command,
      payload: withValue(BASE[command], path, '1e999'),
      code: 400,
      desc: `Invalid parameter type for '${fieldName(path)}', expected: integer`,
    });
  }
  // Enums given a string outside the set: not a wrong type, but bad input all the same.
  const enums: Partial<Record<Command, string[]>> = {
    [Command.jobStart]: ['on-error'],
    [Command.transaction]: ['properties.completion-mode', 'actions.0.on-error'],
    [Command.queryJobs]: ['status'],
  };
  for (const path of enums[command] ?? []) {
    for (const value of ['', 'bogus', 'REPORT', 'report ']) {
      cases.push({
        label: `${path} = ${J(value)}`,
        command,
        payload: withValue(BASE[command], path, J(value)),
        code: 400,
        desc: new RegExp(`^Parameter '${escapeRe(fieldName(path))}' `),
      });
    }
  }
  return cases;
}

function unexpectedKeyCases(command: Command): Case[] {
  const cases: Case[] = [];
  const base = BASE[command];
  const values = ['{"polluted":1}', '1', 'null', '{"prototype":{"polluted":1}}'];
  for (const key of [...POISON_KEYS, 'x', 'params.steps', 'ID', 'Id', 'id ', '']) {
    for (const value of values) {
      cases.push({
        label: `${J(key)}: ${value}`,
        command,
        payload: withRawKey(base, key, value),
        code: 400,
        desc: `Parameter '${key}' is unexpected`,
      });
    }
  }
  // Inside the nested objects: params, properties, each action (and its params).
  const nested: Partial<Record<Command, Array<[string, string]>>> = {
    [Command.jobStart]: [['params', 'params']],
    [Command.transaction]: [
      ['properties', 'properties'],
      ['actions.0', 'actions[0]'],
      ['actions.0.params', 'actions[0].params'],
    ],
  };
  for (const [path, name] of nested[command] ?? []) {
    for (const key of POISON_KEYS) {
      for (const value of values) {
        const inner = withRawKey(pathValue(base, path) ?? {}, key, value);
        cases.push({
          label: `${path}.${J(key)}: ${value}`,
          command,
          payload: withValue(base, path, inner),
          code: 400,
          desc: `Parameter '${name}.${key}' is unexpected`,
        });
      }
    }
  }
  if (command === Command.jobStart || command === Command.transaction) {
    // `__proto__` anywhere, even inside a free-form value, is refused rather than stripped.
    const where = command === Command.jobStart ? 'params' : 'actions.0.params';
    const name = fieldName(where);
    for (const value of ['{"__proto__":{"polluted":1}}', '[{"__proto__":{"polluted":1}}]']) {
      cases.push({
        label: `${where}.result = ${value}`,
        command,
        payload: withValue(base, `${where}.result`, value),
        code: 400,
        desc: value.startsWith('[')
          ? `Parameter '${name}.result[0].__proto__' is unexpected`
          : `Parameter '${name}.result.__proto__' is unexpected`,
      });
    }
  }
  // An owner on job-start, which has none.
  if (command === Command.jobStart) {
    cases.push({ label: 'owner', command, payload: withRawKey(base, 'owner', '"alice"'), code: 400, desc: "Parameter 'owner' is unexpected" });
  }
  return cases;
}

function pathValue(object: { [key: string]: Json }, path: string): { [key: string]: Json } | undefined {
  let node: Json | undefined = object;
  for (const part of path.split('.')) node = (node as { [key: string]: Json } | undefined)?.[part];
  return node as { [key: string]: Json } | undefined;
}

function deepCases(command: Command): Case[] {
  const base = BASE[command];
  const cases: Case[] = [
    { label: 'a 10,000-deep array at top level', command, payload: deepArray(10_000), code: 400, desc: NOT_OBJECT },
    { label: 'a 10,000-deep object at top level', command, payload: deepObject(10_000), code: 400, desc: TOO_DEEP },
    { label: 'a 10,000-deep array in a field', command, payload: withRawKey(base, 'x', deepArray(10_000)), code: 400, desc: TOO_DEEP },
    { label: 'a 10,000-deep object in a field', command, payload: withRawKey(base, 'x', deepObject(10_000)), code: 400, desc: TOO_DEEP },
    { label: 'a 400,000-deep array in a field', command, payload: withRawKey(base, 'x', deepArray(400_000)), code: 400, desc: TOO_DEEP },
    { label: 'a 100-deep mix in a field', command, payload: withRawKey(base, 'x', '[{"a":'.repeat(50) + '1' + '}]'.repeat(50)), code: 400, desc: TOO_DEEP },
  ];
  const known = Object.keys(FIELDS[command])[0];
  if (known) {
    cases.push({
      label: `a 10,000-deep object as ${known}`,
      command,
      payload: withValue(base, known, deepObject(10_000)),
      code: 400,
      desc: TOO_DEEP,
    });
  }
  if (command === Command.jobStart || command === Command.transaction) {
    const where = command === Command.jobStart ? 'params' : 'actions.0.params';
    cases.push(
      { label: `${where}.result 10,000 deep`, command, payload: withValue(base, `${where}.result`, deepObject(10_000)), code: 400, desc: TOO_DEEP },
      { label: `${where}.result 40 deep`, command, payload: withValue(base, `${where}.result`, deepArray(40)), code: 400, desc: TOO_DEEP },
      { label: `${where} nested objects`, command, payload: withValue(base, where, deepObject(1000)), code: 400, desc: TOO_DEEP },
    );
  }
  return cases;
}

/** Bad ids where an id is asked for, and bad owners where an owner is. */
function idCases(command: Command): Case[] {
  const cases: Case[] = [];
  if (command === Command.jobStart || command === Command.jobDownload) {
    for (const id of BAD_IDS) {
      cases.push({ label: `id ${J(id)}`, command, payload: J({ ...BASE[command], id }), code: 400, desc: `Invalid job ID '${echoedId(id)}'` });
    }
  }
  if (command === Command.transaction) {
    for (const id of BAD_IDS) {
      cases.push({
        label: `actions[1].id ${J(id)}`,
        command,
        payload: J({ actions: [{ type: 'test', id: 'tx-ok' }, { type: 'test', id }] }),
        code: 400,
        desc: `actions[1]: Invalid job ID '${echoedId(id)}'`,
      });
    }
  }
  if ((BY_ID as readonly Command[]).includes(command)) {
    // No job can have such an id: exactly the reply for a job that does not exist.
    for (const id of [...BAD_IDS, ...OBJECT_IDS]) {
      cases.push({ label: `id ${J(id)}`, command, payload: J({ ...BASE[command], id }), code: 404, desc: 'Job not found' });
    }
    // An owner that is not an account owns no job: not found, as for any other owner.
    for (const owner of BAD_OWNERS) {
      cases.push({ label: `owner ${J(owner)}`, command, payload: J({ ...BASE[command], owner }), code: 404, desc: 'Job not found' });
      cases.push({
        label: `owner ${J(owner)}, as admin`,
        command,
        caller: 'admin',
        payload: J({ ...BASE[command], owner }),
        code: 404,
        desc: 'Job not found',
      });
    }
    cases.push({ label: 'owner over 64 characters', command, payload: J({ ...BASE[command], owner: 'a'.repeat(65) }), code: 400, desc: /^Parameter 'owner' / });
  }
  return cases;
}

/** Caller tokens that are not account names. */
function callerCases(command: Command): Case[] {
  return ['jöb', '日本', 'a%b', '$x', 'a'.repeat(65), '"', "'"].map((caller) => ({
    label: `caller ${J(caller)}`,
    command,
    caller,
    payload: J(BASE[command]),
    code: 400,
    desc: /caller/,
  }));
}

/** ~1 MB strings (the whole payload under max_payload) in every string field and as keys. */
function bigCases(command: Command): Case[] {
  const big = 'a'.repeat(BIG);
  const bigUnicode = 'é'.repeat(BIG / 2);
  const base = BASE[command];
  const cases: Case[] = [
    { label: '900 KB of not-JSON', command, payload: 'x'.repeat(BIG), code: 400, desc: NOT_JSON },
    { label: '900 KB of spaces', command, payload: ' '.repeat(BIG), code: 400, desc: NOT_JSON },
    { label: '900 KB JSON string', command, payload: J(big), code: 400, desc: NOT_OBJECT },
    { label: '900 KB JSON array', command, payload: J(Array.from({ length: BIG / 2 }, () => 0)), code: 400, desc: NOT_OBJECT },
    { label: 'a 900 KB unknown key', command, payload: withRawKey(base, big, '1'), code: 400, desc: unexpectedBig(big) },
    { label: 'a 450 K-character unicode unknown key', command, payload: withRawKey(base, bigUnicode, '1'), code: 400, desc: unexpectedBig(bigUnicode) },
    { label: 'a 900 KB value of an unknown key', command, payload: withRawKey(base, 'x', J(big)), code: 400, desc: "Parameter 'x' is unexpected" },
  ];
  for (const [path, type] of Object.entries(FIELDS[command])) {
    if (type !== 'string') continue;
    const name = fieldName(path);
    let code: Code = 400;
    let desc: string | RegExp = new RegExp(`^Parameter '${escapeRe(name)}' `);
    if (path === 'id' && (command === Command.jobStart || command === Command.jobDownload)) desc = `Invalid job ID '${echoedId(big)}'`;
    if (path === 'actions.0.id') desc = `actions[0]: Invalid job ID '${echoedId(big)}'`;
    if (path === 'id' && command !== Command.jobStart && command !== Command.jobDownload) [code, desc] = [404, 'Job not found'];
    cases.push({ label: `a 900 KB ${path}`, command, payload: withValue(base, path, J(big)), code, desc });
  }
  return cases;
}

/** A desc that names a huge key: bounded, but recognisably that key. */
function unexpectedBig(key: string): RegExp {
  return new RegExp(`^Parameter '${escapeRe(key.slice(0, 64))}[^']{0,1000}' is unexpected$`);
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Payloads of exactly max_payload bytes whose error text would echo almost all of them. */
function atLimitCases(command: Command, maxPayload: number): Case[] {
  const base = BASE[command];
  const frame = withRawKey(base, '', '1').length;
  const key = 'k'.repeat(maxPayload - frame);
  const payload = withRawKey(base, key, '1');
  assert.equal(utf8(payload).length, maxPayload);
  const jsonFrame = J({ x: '' }).length;
  return [
    { label: `an unknown key filling max_payload (${maxPayload} bytes)`, command, payload, code: 400, desc: unexpectedBig(key) },
    { label: 'a string filling max_payload', command, payload: J({ x: 'y'.repeat(maxPayload - jsonFrame) }), code: 400, desc: /unexpected|missing/ },
    { label: 'not-JSON filling max_payload', command, payload: 'x'.repeat(maxPayload), code: 400, desc: NOT_JSON },
  ];
}

/** Where the contract calls for a success: a filter that matches nothing is an empty list. */
function successCases(): SuccessCase[] {
  return BAD_OWNERS.flatMap((owner) => [
    { label: `query-jobs owner ${J(owner)}`, command: Command.queryJobs, payload: J({ owner }), value: [] },
    { label: `query-jobs owner ${J(owner)}, as admin`, command: Command.queryJobs, caller: 'admin', payload: J({ owner }), value: [] },
  ]);
}

/**
 * Announce a publish of `size` bytes to `subject` over a bare socket, ignoring the server's
 * max_payload as a non-nats.js client might; resolves with the server's `-ERR` line. (The
 * server judges the size from the PUB line, so the body is sent only if it has not answered.)
 */
function rawOversize(url: string, subject: string, size: number): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let text = '';
    let sent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no -ERR from the server, got ${J(text.slice(0, 200))}`));
    }, REQUEST_TIMEOUT);
    socket.on('error', () => undefined); // the server may reset the socket after its -ERR
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (!sent && text.includes('\r\n')) {
        sent = true;
        socket.write(`CONNECT {"verbose":false,"pedantic":false}\r\nPUB ${subject} _INBOX.oversize ${size}\r\n`);
        setTimeout(() => {
          if (!socket.destroyed) socket.write(Buffer.concat([Buffer.alloc(size, 0x78), Buffer.from('\r\n')]));
        }, 200);
      }
      const err = /-ERR [^\r\n]*/.exec(text);
      if (err) {
        clearTimeout(timer);
        socket.destroy();
        resolve(err[0]);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------

interface Reply {
  code: string | undefined;
  header: string | undefined;
  body: unknown;
}

/** The header the service sends: the desc on one line, bounded. */
function headerOf(desc: string): string {
  const line = desc.replace(/[\r\n\0]+/g, ' ');
  return line.length > 512 ? `${line.slice(0, 512)}…` : line;
}

describe('malformed payloads', () => {
  let stack: Stack;
  let alice: JobsClient;
  /** The connection the hostile traffic goes over (not the service's own). */
  let raw: NatsConnection;
  let heapBefore = 0;
  let casesRun = 0;
  const liveBefore = new Map<string, JobInfo>();

  async function send(command: Command, payload: string | Uint8Array, caller = 'alice'): Promise<Reply> {
    const msg = await raw.request(`${stack.prefix}.cmd.${caller}.${command}`, payload, { timeout: REQUEST_TIMEOUT });
    let body: unknown;
    try {
      body = msg.json();
    } catch {
      body = { unparsable: msg.string() };
    }
    return { code: msg.headers?.get('Nats-Service-Error-Code') || undefined, header: msg.headers?.get('Nats-Service-Error'), body };
  }

  /** What is wrong with `reply` as the reply to `c`, or undefined. */
  function problem(c: Case, reply: Reply): string | undefined {
    const body = reply.body as { error?: { class?: unknown; desc?: unknown } };
    if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).join() !== 'error') {
      return `not an error reply: ${J(body as Json).slice(0, 300)}`;
    }
    const { error } = body;
    if (typeof error !== 'object' || error === null || Object.keys(error).sort().join() !== 'class,desc') return `bad error object: ${J(error as Json)}`;
    if (error.class !== 'GenericError') return `class ${J(error.class as Json)}`;
    if (typeof error.desc !== 'string' || error.desc === '') return `desc ${J(error.desc as Json)}`;
    const desc = error.desc;
    const wanted = typeof c.desc === 'string' ? desc === c.desc : c.desc.test(desc);
    if (!wanted) return `desc ${J(desc.slice(0, 300))}, want ${typeof c.desc === 'string' ? J(c.desc.slice(0, 300)) : String(c.desc).slice(0, 300)}`;
    if (reply.code !== String(c.code)) return `code ${reply.code}, want ${c.code} (desc ${J(desc.slice(0, 200))})`;
    if (reply.header === undefined) return 'no Nats-Service-Error header';
    if (/[\r\n]/.test(reply.header)) return `multi-line Nats-Service-Error header ${J(reply.header.slice(0, 200))}`;
    if (reply.header !== headerOf(desc)) return `Nats-Service-Error ${J(reply.header.slice(0, 200))} is not the desc ${J(desc.slice(0, 200))}`;
    if (desc.length > 4096) return `desc of ${desc.length} characters echoes too much input`;
    return undefined;
  }

  /** Send every case (a few at a time); fail with the list of cases whose reply is wrong or missing. */
  async function expectErrors(cases: Case[]): Promise<void> {
    const failures: string[] = [];
    const queue = [...cases];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const where = `${c.command} as ${c.caller ?? 'alice'}: ${c.label.slice(0, 120)}`;
        try {
          const p = problem(c, await send(c.command, c.payload, c.caller));
          if (p) failures.push(`${where}: ${p}`);
        } catch (err) {
          failures.push(`${where}: ${(err as Error).message}`);
        }
        casesRun++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} cases failed`);
  }

  before(async () => {
    stack = await startStack();
    alice = await stack.client('alice');
    raw = await connect({ servers: stack.server.url });
    // Live jobs, in the statuses a hostile payload could disturb.
    await alice.start('test', { id: LIVE, params: { steps: 100_000, 'step-ms': 20 } });
    await alice.start('test', { id: 'live-paused', params: { steps: 100_000, 'step-ms': 20 } });
    await alice.pause('live-paused');
    await alice.start('test', { id: 'live-ready', params: { steps: 2, 'step-ms': 5, ready: true } });
    await alice.start('test', { id: 'live-done', 'auto-dismiss': false, params: { steps: 1, 'step-ms': 1, result: { ok: 1 } } });
    await alice.wait('live-done', { timeoutMs: REQUEST_TIMEOUT });
    const deadline = Date.now() + REQUEST_TIMEOUT;
    for (;;) {
      const jobs = await alice.query();
      if (jobs.find((j) => j.id === 'live-ready')?.status === 'ready') {
        for (const job of jobs) liveBefore.set(job.id, job);
        break;
      }
      assert.ok(Date.now() < deadline, 'live-ready never got ready');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(
      Object.fromEntries([...liveBefore].map(([id, j]) => [id, j.status])),
      { [LIVE]: 'running', 'live-paused': 'paused', 'live-ready': 'ready', 'live-done': 'concluded' },
    );
    heapBefore = process.memoryUsage().heapUsed;
  });

  after(async () => {
    await raw?.close();
    await stack?.close();
  });

  for (const command of COMMANDS) {
    describe(command, () => {
      test('bytes that are not UTF-8, text that is not JSON, JSON that is not an object', () => expectErrors(notAnObjectCases(command)));
      test('missing fields', () => expectErrors(missingFieldCases(command)));
      test('every field with every wrong type', () => expectErrors(wrongTypeCases(command)));
      test('__proto__, constructor, prototype and other unexpected keys, at top level and nested', async () => {
        await expectErrors(unexpectedKeyCases(command));
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
        assert.equal(({} as Record<string, unknown>).prototype, undefined);
      });
      test('deep nesting', () => expectErrors(deepCases(command)));
      test('ids and owners with . * > spaces newlines unicode, empty and too long', () => expectErrors(idCases(command)));
      test('callers that are not account names', () => expectErrors(callerCases(command)));
      test('~1 MB strings in every string field and as keys', () => expectErrors(bigCases(command)));
      test('payloads of exactly max_payload bytes, and one byte more', async () => {
        const max = raw.info?.max_payload;
        assert.ok(max !== undefined && max > BIG, `max_payload ${max}`);
        await expectErrors(atLimitCases(command, max));
        // One byte over: nats.js refuses to send it, so the caller gets an error, not a hang.
        const over = withRawKey(BASE[command], 'k'.repeat(max - withRawKey(BASE[command], '', '1').length + 1), '1');
        assert.equal(utf8(over).length, max + 1);
        const started = Date.now();
        await assert.rejects(send(command, over), /max_payload/);
        assert.ok(Date.now() - started < REQUEST_TIMEOUT, 'the over-size request hung until the timeout');
        casesRun++;
      });
    });
  }

  test('a client that ignores max_payload is cut off by the server, and the service carries on', async () => {
    const max = raw.info!.max_payload;
    const err = await rawOversize(stack.server.url, `${stack.prefix}.cmd.alice.${Command.jobStart}`, max + 1);
    assert.match(err, /Maximum Payload/i);
    casesRun++;
    const reply = await send(Command.queryJobs, '{}');
    assert.equal(reply.code, undefined);
    assert.ok(Array.isArray((reply.body as { return: unknown }).return));
  });

  test('a filter that names an owner no account can have matches nothing', async () => {
    const failures: string[] = [];
    for (const c of successCases()) {
      const reply = await send(c.command, c.payload, c.caller);
      casesRun++;
      if (reply.code !== undefined || !isDeepStrictEqual(reply.body, { return: c.value })) failures.push(`${c.label}: ${J(reply.body as Json)}`);
    }
    assert.deepEqual(failures, []);
  });

  test('no prototype was polluted', () => {
    for (const proto of [Object.prototype, Array.prototype, Function.prototype]) {
      assert.equal((proto as unknown as Record<string, unknown>).polluted, undefined);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(typeof ({} as Record<string, unknown>).constructor, 'function');
  });

  test('afterwards the live jobs are as they were, or progressed normally', async () => {
    const now = new Map((await alice.query()).map((j) => [j.id, j]));
    for (const [id, before] of liveBefore) {
      const job = now.get(id);
      assert.ok(job, `live job ${id} is gone`);
      assert.equal(job.status, before.status, `${id}'s status`);
      assert.equal(job.speed, before.speed, `${id}'s speed`);
      assert.equal(job['auto-finalize'], before['auto-finalize']);
      assert.equal(job['auto-dismiss'], before['auto-dismiss']);
      assert.ok(job['current-progress'] >= before['current-progress'], `${id}'s progress went back`);
      assert.equal(job['total-progress'], before['total-progress']);
    }
    assert.ok(now.get(LIVE)!['current-progress'] > liveBefore.get(LIVE)!['current-progress'], 'the running job stopped progressing');
    assert.equal(now.get('live-paused')!['current-progress'], liveBefore.get('live-paused')!['current-progress'], 'the paused job moved');
    assert.deepEqual(now.get('live-done')!.result, { ok: 1 });
    // No hostile request started a job.
    assert.deepEqual([...now.keys()].sort(), [...liveBefore.keys()].sort());
    // And the live jobs still take verbs.
    await alice.resume('live-paused');
    await alice.complete('live-ready');
    const done = await alice.wait('live-ready', { timeoutMs: REQUEST_TIMEOUT });
    assert.equal(done.status, 'concluded');
    assert.equal(done.error, undefined);
  });

  test('afterwards the service answers $SRV.PING and runs a new job to the end', async () => {
    const ping = (await raw.request('$SRV.PING.jobstate', '', { timeout: REQUEST_TIMEOUT })).json<{ name: string }>();
    assert.equal(ping.name, 'jobstate');
    const id = await alice.start('test', { params: { steps: 3, 'step-ms': 1, result: 'fine' } });
    const info = await alice.wait(id, { timeoutMs: REQUEST_TIMEOUT });
    assert.equal(info.status, 'concluded');
    assert.equal(info.result, 'fine');
  });

  test('afterwards the heap has not ballooned', (t) => {
    const grown = process.memoryUsage().heapUsed - heapBefore;
    t.diagnostic(`${casesRun} hostile requests; heap grew by ${(grown / 2 ** 20).toFixed(1)} MB`);
    assert.ok(grown < 200 * 2 ** 20, `heap grew by ${grown} bytes`);
  });
});

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}
