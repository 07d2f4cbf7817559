/**
 * A payload starting with a UTF-8 byte-order mark (EF BB BF) is refused with an error that
 * says so: JSON (RFC 8259) forbids one on the wire, and a decoder that silently strips it
 * would accept bytes other JSON parsers refuse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodePayload } from '../../src/protocol/validate.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { errorReply, rawRequest } from './helpers.js';

const BOM = [0xef, 0xbb, 0xbf];
const DESC = 'Invalid JSON payload: it starts with a byte-order mark (U+FEFF); send UTF-8 without one';
const withBom = (text: string) => new Uint8Array([...BOM, ...new TextEncoder().encode(text)]);

describe('a payload with a byte-order mark', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  test('decodePayload refuses it, and only at the start', () => {
    assert.throws(() => decodePayload(withBom('{}')), { message: DESC });
    assert.throws(() => decodePayload(new Uint8Array(BOM)), { message: DESC });
    assert.deepEqual(decodePayload(new TextEncoder().encode('{"description":"\uFEFF"}')), { description: '\uFEFF' });
  });

  test('the service answers it with a 400 naming the mark, and starts nothing', async () => {
    const payload = withBom(JSON.stringify({ type: 'test', id: 'bom', params: { steps: 1, 'step-ms': 1 } }));
    assert.deepEqual(await rawRequest(stack.nc, stack.prefix, 'alice', 'job-start', payload), errorReply(400, DESC));
    assert.deepEqual(await rawRequest(stack.nc, stack.prefix, 'alice', 'query-jobs', withBom('{}')), errorReply(400, DESC));
    assert.equal((await rawRequest(stack.nc, stack.prefix, 'alice', 'query-jobs', '{}')).body, '{"return":[]}');
  });
});
