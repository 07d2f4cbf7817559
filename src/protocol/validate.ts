/**
 * Decoding and validation of command payloads, with QEMU's wording for what is wrong:
 * `Parameter 'x' is missing`, `Parameter 'x' is unexpected`,
 * `Invalid parameter type for 'x', expected: <type>`.
 */
import type { z } from 'zod';
import { BadInputError } from './errors.js';

/** How deep a payload may nest; deeper ones are refused before anything else looks at them. */
export const MAX_DEPTH = 32;

/** Decodes payloads; `fatal`: invalid UTF-8 is an error, not replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse a command payload: a JSON object (an empty payload counts as `{}`), nested at most
 * {@link MAX_DEPTH} levels, with no `__proto__` key anywhere (zod would drop one silently).
 */
export function decodePayload(data: Uint8Array): Record<string, unknown> {
  if (data.length === 0) return {};
  // The decoder would drop a byte-order mark silently; JSON on the wire has none (RFC 8259).
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    throw new BadInputError('Invalid JSON payload: it starts with a byte-order mark (U+FEFF); send UTF-8 without one');
  }
  let value: unknown;
  try {
    value = JSON.parse(UTF8.decode(data));
  } catch {
    throw new BadInputError('Invalid JSON payload: expected a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadInputError('Invalid payload: expected a JSON object');
  }
  checkTree(value);
  return value as Record<string, unknown>;
}

/**
 * Validate `value` against `schema`; throw a {@link BadInputError} with QEMU's text for the
 * first problem. `prefix` names where `value` sits (e.g. `actions[1]`, `params`).
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new BadInputError(describeIssue(issue, value, prefix, schema));
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown, prefix: string, schema: z.ZodType): string {
  const name = (path: readonly PropertyKey[]) => pathName(prefix, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `Parameter '${name([...issue.path, issue.keys[0] ?? ''])}' is unexpected`;
    case 'invalid_type': {
      if (!isPresent(root, issue.path)) return `Parameter '${name(issue.path)}' is missing`;
      // zod reports a non-number given for an integer as `number`; QEMU says `integer`.
      const expected = issue.expected === 'number' && isIntSchema(schemaAt(schema, issue.path)) ? 'int' : issue.expected;
      return `Invalid parameter type for '${name(issue.path)}', expected: ${typeName(expected)}`;
    }
    case 'invalid_value': {
      // A non-string where an enum of strings is due is a wrong type, as QEMU reports it.
      const given = valueAt(root, issue.path);
      if (given !== undefined && typeof given !== 'string' && issue.values.every((v) => typeof v === 'string')) {
        return `Invalid parameter type for '${name(issue.path)}', expected: string`;
      }
      return `Parameter '${name(issue.path)}' expects one of: ${issue.values.map(String).join(', ')}`;
    }
    default:
      // The schemas give their own texts for bad ids and negative speeds; otherwise name the field.
      return OWN_TEXT.test(issue.message) ? issue.message : `Parameter '${name(issue.path)}' is invalid: ${issue.message}`;
  }
}

const OWN_TEXT = /^(Parameter '|Invalid job ID ')/;

function typeName(expected: string): string {
  if (expected === 'int') return 'integer';
  if (expected === 'record') return 'object';
  return expected;
}

/** A field's name in texts; a key from the caller is echoed at most 128 characters long. */
function pathName(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part).length > 128 ? `${String(part).slice(0, 128)}…` : String(part);
      out += out ? `.${key}` : key;
    }
  }
  return out;
}

/** Whether `path` names a value that is present (not a missing key) in `root`. */
function isPresent(root: unknown, path: readonly PropertyKey[]): boolean {
  return valueAt(root, path) !== undefined;
}

/** The value at `path` in `root` (own properties only), or undefined. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part as PropertyKey)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[part as PropertyKey];
  }
  return node;
}

/** The schema that checks the value at `path`, through optional/default wrappers, objects, records and arrays. */
function schemaAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType | undefined {
  let node: z.core.$ZodType | undefined = schema;
  let i = 0;
  while (node) {
    const def = node._zod.def as unknown as Record<string, unknown>;
    if (def.innerType) {
      node = def.innerType as z.core.$ZodType;
      continue;
    }
    if (i === path.length) return node;
    const part = path[i++]!;
    if (def.type === 'object') {
      const shape = def.shape as Record<PropertyKey, z.core.$ZodType>;
      node = Object.hasOwn(shape, part) ? shape[part] : undefined;
    } else if (def.type === 'record') node = def.valueType as z.core.$ZodType;
    else if (def.type === 'array') node = def.element as z.core.$ZodType;
    else return undefined;
  }
  return undefined;
}

function isIntSchema(schema: z.core.$ZodType | undefined): boolean {
  return (schema as { isInt?: unknown } | undefined)?.isInt === true;
}

/** Refuse a decoded payload nested deeper than {@link MAX_DEPTH}, or with a `__proto__` key anywhere. */
function checkTree(value: object): void {
  const stack: Array<[object, PropertyKey[]]> = [[value, []]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (path.length >= MAX_DEPTH) throw new BadInputError(`Invalid payload: nested deeper than ${MAX_DEPTH} levels`);
    const array = Array.isArray(node);
    if (!array && Object.hasOwn(node, '__proto__')) {
      throw new BadInputError(`Parameter '${pathName('', [...path, '__proto__'])}' is unexpected`);
    }
    for (const [key, child] of Object.entries(node)) {
      if (typeof child === 'object' && child !== null) stack.push([child, [...path, array ? Number(key) : key]]);
    }
  }
}
