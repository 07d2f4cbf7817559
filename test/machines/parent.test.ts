/**
 * `machines/parent.ts` reads XState's private `_parent`: a member job tells its transaction
 * through it. These tests fail loudly if an XState upgrade stops providing it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, createMachine } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { parentOf, transaction } from '../../machines/parent.js';
import { harness } from '../support/harness.js';

describe('XState still gives an actor its parent (machines/parent.ts)', () => {
  test('a spawned child, and an actor created with a parent, know it; a root actor has none', () => {
    const child = createMachine({});
    const parent = createActor(createMachine({ context: ({ spawn }) => ({ child: spawn(child, { id: 'c' }) }) })).start();
    const spawned = parent.getSnapshot().children['c'] as AnyActorRef | undefined;
    assert.ok(spawned, 'the child was spawned');
    assert.ok('_parent' in spawned, 'XState actors no longer have _parent: machines/parent.ts must change');
    assert.equal(parentOf(spawned), parent);
    assert.equal(transaction({ self: spawned }), parent);

    const given = createActor(child, { parent }).start();
    assert.equal(parentOf(given), parent);

    assert.equal(parentOf(parent), undefined);
    assert.equal(transaction({ self: parent }), parent, 'a job alone is its own transaction');
    parent.stop();
  });

  test("a member job's notices reach its transaction", () => {
    const h = harness({ jobs: [{ id: 'a' }, { id: 'b' }] });
    h.send('a', { type: 'work.done' });
    assert.deepEqual(h.txn.getSnapshot().context.reached.waiting, ['a']);
    h.send('b', { type: 'work.done' });
    assert.equal(h.txn.getSnapshot().value, 'finalizing', 'both waiting notices arrived: every member prepares');
  });
});
