/**
 * Decoding and validation of command payloads, with QEMU's wording for what is wrong:
 * `Parameter 'x' is missing`, `Parameter 'x' is unexpected`,
 * `Invalid parameter type for 'x', expected: <type>`.
 */
import type { z } from 'zod';
import { BadInputError } from './errors.js';

/** How deep a payload may nest; deeper ones are refused before anything else looks at them. */
export const MAX_DEPTH = 32;

/**
 * What one payload may hold, counted over its bytes before it is parsed, so that refusing a
 * hostile payload costs one pass over it, never work per key (docs/security.md, Limits).
 */
export interface PayloadBounds {
  /** Object keys in all, at every level. @defaultValue 10000 */
  maxKeys: number;
  /** Array elements in all, at every level. @defaultValue 10000 */
  maxItems: number;
}

export const DEFAULT_BOUNDS: Readonly<PayloadBounds> = { maxKeys: 10_000, maxItems: 10_000 };

/** Decodes payloads; `fatal`: invalid UTF-8 is an error, not replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parse a command payload: a JSON object (an empty payload counts as `{}`), nested at most
 * {@link MAX_DEPTH} levels, with at most `bounds` keys and array elements (counted on the
 * bytes, before parsing), and no `__proto__` key anywhere (zod would drop one silently).
 */
export function decodePayload(data: Uint8Array, bounds: PayloadBounds = DEFAULT_BOUNDS): Record<string, unknown> {
  if (data.length === 0) return {};
  // The decoder would drop a byte-order mark silently; JSON on the wire has none (RFC 8259).
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
    throw new BadInputError('Invalid JSON payload: it starts with a byte-order mark (U+FEFF); send UTF-8 without one');
  }
  try {
    scanPayload(data, bounds);
  } catch (err) {
    // Whatever else it is, a payload that does not open with `{` is not an object: say that.
    if (!opensObject(data)) throw new BadInputError('Invalid payload: expected a JSON object');
    throw err;
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

const TOO_DEEP = `Invalid payload: nested deeper than ${MAX_DEPTH} levels`;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Space, tab, line feed, carriage return: JSON's whitespace. */
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * One pass over a payload's bytes, allocating nothing: refuse it if it nests deeper than
 * {@link MAX_DEPTH} or holds more keys or array elements than `bounds` allow. Keys are the
 * colons outside strings; elements are an array's commas plus one if it is not empty. It does
 * not check that the payload is JSON (JSON.parse does, after); for JSON it counts exactly.
 */
export function scanPayload(data: Uint8Array, bounds: PayloadBounds): void {
  // Per level: 1 for an array, 2 for an array that has an element, 0 for an object.
  const kinds = new Uint8Array(MAX_DEPTH + 1);
  let depth = 0;
  let keys = 0;
  let items = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    if (isSpace(b)) continue;
    // The first element of an array counts when anything but its end follows its `[`.
    if (depth > 0 && kinds[depth] === 1 && b !== CLOSE_ARRAY) {
      kinds[depth] = 2;
      if (++items > bounds.maxItems) throw tooMany('array elements', bounds.maxItems);
    }
    if (b === QUOTE) i = stringEnd(data, i);
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > MAX_DEPTH) throw new BadInputError(TOO_DEEP);
      kinds[depth] = b === OPEN_ARRAY ? 1 : 0;
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (depth > 0) depth--;
    } else if (b === COLON) {
      if (++keys > bounds.maxKeys) throw tooMany('object keys', bounds.maxKeys);
    } else if (b === COMMA && depth > 0 && kinds[depth] !== 0) {
      if (++items > bounds.maxItems) throw tooMany('array elements', bounds.maxItems);
    }
  }
}

/**
 * Where the string opened at `open` ends: its closing quote, found natively (indexOf), the
 * first not escaped by an odd run of backslashes. `data.length` if it never ends.
 */
function stringEnd(data: Uint8Array, open: number): number {
  for (let from = open + 1; ; ) {
    const quote = data.indexOf(QUOTE, from);
    if (quote < 0) return data.length;
    let backslashes = 0;
    while (data[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** Whether the first byte that is not whitespace is `{`. */
function opensObject(data: Uint8Array): boolean {
  for (const b of data) if (!isSpace(b)) return b === OPEN_OBJECT;
  return false;
}

function tooMany(what: string, max: number): BadInputError {
  return new BadInputError(`Invalid payload: too many ${what} (max ${max} in one payload, counting every level)`);
}

/** A node of the tree walk, with the way back to the root (its path is built only for an error). */
interface Frame {
  node: object;
  parent: Frame | undefined;
  key: PropertyKey;
  depth: number;
}

function pathOf(frame: Frame): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) path.unshift(f.key);
  return path;
}

/**
 * Refuse a decoded payload nested deeper than {@link MAX_DEPTH}, or with a `__proto__` key
 * anywhere. Linear: each object or array is visited once, and no path is built unless refused.
 */
function checkTree(value: object): void {
  const stack: Frame[] = [{ node: value, parent: undefined, key: '', depth: 0 }];
  const visit = (frame: Frame, key: PropertyKey, child: unknown) => {
    if (typeof child === 'object' && child !== null) stack.push({ node: child, parent: frame, key, depth: frame.depth + 1 });
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth >= MAX_DEPTH) throw new BadInputError(TOO_DEEP);
    const node = frame.node;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) visit(frame, i, node[i]);
      continue;
    }
    if (Object.hasOwn(node, '__proto__')) {
      throw new BadInputError(`Parameter '${pathName('', [...pathOf(frame), '__proto__'])}' is unexpected`);
    }
    for (const key in node) visit(frame, key, (node as Record<string, unknown>)[key]);
  }
}
