/**
 * The cheap bounds on a command payload: its object keys and array elements are counted on
 * its bytes before it is parsed, so that a hostile payload (100,000 keys, 300,000 small
 * objects) is refused for one pass over it, with an error naming the limit — before JSON.parse,
 * zod or any measurement of params does work per key. What sits inside strings never counts,
 * and the limits are exact: at the limit is accepted, one more is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from '@nats-io/transport-node';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

const KEYS = /^Invalid payload: too many object keys \(max (\d+) in one payload, counting every level\)$/;
const ITEMS = /^Invalid payload: too many array elements \(max (\d+) in one payload, counting every level\)$/;

const keys = (n: number, value = '1') => Array.from({ length: n }, (_, i) => `"${i.toString(36)}":${value}`).join(',');
const items = (n: number, item = '1') => Array.from({ length: n }, () => item).join(',');

describe('payload bounds: keys and array elements counted before parsing', () => {
  let defaults: Stack;
  let small: Stack;
  let nc: NatsConnection;
  before(async () => {
    defaults = await startStack({ persistence: false });
    small = await startStack({ server: defaults.server, persistence: false, limits: { maxPayloadKeys: 100, maxPayloadItems: 100 } });
    nc = (await defaults.client('alice')).nc;
  });
  after(async () => {
    await small?.close();
    await defaults?.close();
  });

  const request = async (stack: Stack, command: string, payload: string) => {
    const msg = await nc.request(`${stack.prefix}.cmd.alice.${command}`, payload, { timeout: 10_000 });
    const body = msg.json<{ return?: unknown; error?: { desc: string } }>();
    return { code: msg.headers?.get('Nats-Service-Error-Code') ?? '200', desc: body.error?.desc, value: body.return };
  };

  test('a job-start whose params hold 100,000 keys is refused, naming the key limit (10,000 by default)', async () => {
    const r = await request(defaults, 'job-start', `{"type":"test","params":{${keys(100_000)}}}`);
    assert.equal(r.code, '400');
    assert.match(r.desc!, KEYS);
    assert.equal(KEYS.exec(r.desc!)![1], '10000');
    // At the top level too, and made of small objects.
    assert.match((await request(defaults, 'job-start', `{${keys(100_000)}}`)).desc!, KEYS);
    assert.match((await request(defaults, 'job-start', `{"type":"test","params":{${keys(60_000, '{}')}}}`)).desc!, KEYS);
  });

  test('arrays of 100,000 small objects or numbers are refused, naming the element limit', async () => {
    const objects = await request(defaults, 'job-start', `{"type":"test","params":{"result":[${items(100_000, '{}')}]}}`);
    assert.equal(objects.code, '400');
    assert.match(objects.desc!, ITEMS);
    assert.match((await request(defaults, 'job-start', `{"type":"test","params":{"result":[${items(100_000)}]}}`)).desc!, ITEMS);
    assert.match((await request(defaults, 'transaction', `{"actions":[${items(50_000, '{}')}]}`)).desc!, ITEMS);
  });

  test('at the limit is accepted, one more is refused (keys at every level, elements of every array)', async () => {
    // "type", "params", "steps", "result": 4 keys, then the result's own.
    const withKeys = (n: number) => `{"type":"test","params":{"steps":0,"result":{${keys(n)}}}}`;
    assert.equal((await request(small, 'job-start', withKeys(96))).code, '200');
    const over = await request(small, 'job-start', withKeys(97));
    assert.equal(over.code, '400');
    assert.equal(over.desc, 'Invalid payload: too many object keys (max 100 in one payload, counting every level)');

    // Elements of nested arrays count as well: 50 + 1 (the inner array) + 49 = 100.
    const withItems = (n: number) => `{"type":"test","params":{"steps":0,"result":[${items(50)},[${items(n)}]]}}`;
    assert.equal((await request(small, 'job-start', withItems(49))).code, '200');
    assert.equal((await request(small, 'job-start', withItems(50))).desc, 'Invalid payload: too many array elements (max 100 in one payload, counting every level)');
    // Empty arrays and objects hold nothing.
    assert.equal((await request(small, 'job-start', `{"type":"test","params":{"steps":0,"result":[${items(99, '[]')}]}}`)).code, '200');
  });

  test('colons, commas and brackets inside strings (escaped quotes too) do not count', async () => {
    const text = `a\\":[{,}]`.repeat(500);
    const r = await request(small, 'job-start', `{"type":"test","params":{"steps":0,"result":"${text}"},"description":"x\\\\"}`);
    assert.equal(r.code, '200', r.desc);
  });

  test('nesting is still refused with its own text, before parsing', async () => {
    const deep = `{"type":"test","params":{"result":${'['.repeat(40)}${']'.repeat(40)}}}`;
    assert.equal((await request(defaults, 'job-start', deep)).desc, 'Invalid payload: nested deeper than 32 levels');
    const atLimit = `{"type":"test","params":{"steps":0,"result":${'['.repeat(30)}${']'.repeat(30)}}}`;
    assert.equal((await request(defaults, 'job-start', atLimit)).code, '200');
  });
});
