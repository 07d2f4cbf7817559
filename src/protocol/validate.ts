/**
 * Decoding and validation of command payloads, with QEMU's wording for what is wrong:
 * `Parameter 'x' is missing`, `Parameter 'x' is unexpected`,
 * `Invalid parameter type for 'x', expected: <type>`.
 */
import type { z } from 'zod';
import { BadInputError } from './errors.js';

/** How deep a payload may nest; deeper ones are refused before anything else looks at them. */
export const MAX_DEPTH = 32;

/** Parse a command payload: a JSON object (an empty payload counts as `{}`). */
export function decodePayload(data: Uint8Array): Record<string, unknown> {
  if (data.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new BadInputError('Invalid JSON payload: expected a JSON object');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadInputError('Invalid payload: expected a JSON object');
  }
  if (depthExceeds(value, MAX_DEPTH)) throw new BadInputError(`Invalid payload: nested deeper than ${MAX_DEPTH} levels`);
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
  throw new BadInputError(describeIssue(issue, value, prefix));
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown, prefix: string): string {
  const name = (path: readonly PropertyKey[]) => pathName(prefix, path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return `Parameter '${name([...issue.path, issue.keys[0] ?? ''])}' is unexpected`;
    case 'invalid_type':
      if (!isPresent(root, issue.path)) return `Parameter '${name(issue.path)}' is missing`;
      return `Invalid parameter type for '${name(issue.path)}', expected: ${typeName(issue.expected)}`;
    case 'invalid_value':
      return `Parameter '${name(issue.path)}' expects one of: ${issue.values.map(String).join(', ')}`;
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

function pathName(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Whether `path` names a value that is present (not a missing key) in `root`. */
function isPresent(root: unknown, path: readonly PropertyKey[]): boolean {
  let node: unknown = root;
  for (const part of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, part as PropertyKey)) return false;
    node = (node as Record<PropertyKey, unknown>)[part as PropertyKey];
  }
  return node !== undefined;
}

function depthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
