/**
 * Generated ids have the documented form (docs/protocol.md, job-start and transaction):
 * `job-` / `txn-` and 16 base-36 characters from 80 random bits, a fresh draw for each id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateId } from '../../src/service/ids.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

const FORM = /^job-[0-9a-z]{16}$/;

/** How many leading characters two strings share. */
const common = (a: string, b: string) => {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
};

describe('generated ids', () => {
  test('job- and 16 base-36 characters, none repeated, none derived from the one before', () => {
    const ids = Array.from({ length: 20_000 }, () => generateId('job'));
    for (const id of ids) assert.match(id, FORM);
    assert.equal(new Set(ids).size, ids.length);
    // Sequential ids (a fixed part and a counter) share all but their last characters.
    const shared = ids.slice(1).map((id, i) => common(id.slice(4), ids[i]!.slice(4)));
    assert.ok(Math.max(...shared) < 8, `consecutive ids share at most a few leading characters (max ${Math.max(...shared)})`);
    // Every character position takes many values: the 80 bits are spread over all 16.
    for (let pos = 1; pos < 16; pos++) assert.ok(new Set(ids.map((id) => id[4 + pos])).size >= 30, `position ${pos} varies`);
  });

  describe('from the service', () => {
    let stack: Stack;
    let alice: JobsClient;
    before(async () => {
      stack = await startStack();
      alice = await stack.client('alice');
    });
    after(() => stack.close());

    test('job-start without an id and a grouped transaction get ids of the documented form', async () => {
      const a = await alice.start('test', { params: { steps: 0 } });
      const b = await alice.start('test', { params: { steps: 0 } });
      assert.match(a, FORM);
      assert.match(b, FORM);
      assert.ok(common(a.slice(4), b.slice(4)) < 8, `${a} and ${b} are not sequential`);
      const kept = { type: 'test', params: { steps: 0 }, 'auto-dismiss': false };
      const members = await alice.transaction([kept, kept], 'grouped');
      for (const id of members) assert.match(id, FORM);
      const info = (await alice.query()).find((j) => j.id === members[0]);
      assert.match(String(info?.txn), /^txn-[0-9a-z]{16}$/);
    });
  });
});
