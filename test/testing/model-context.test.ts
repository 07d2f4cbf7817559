/**
 * The test model's work knowledge lives in the job machine's context under a key the machine
 * does not declare (`work`), set through src/testing/model-context.ts, the one untyped
 * `assign`. If xstate stops keeping such a key in the context (or in the snapshot), the
 * model can no longer tell what a job's work owes: these tests say so.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, setup } from 'xstate';
import { wireJobMachine, workKey } from '../../src/testing/work.js';
import { assignExtra } from '../../src/testing/model-context.js';

describe('a key the machine does not declare, kept in its context', () => {
  test('assignExtra sets it from its value so far and the params, and undefined leaves it', () => {
    const machine = setup({
      types: { context: {} as { n: number }, events: {} as { type: 'add'; by: number } | { type: 'keep' } },
      actions: { note: (_: unknown, _by: number) => undefined },
    })
      .createMachine({
        context: { n: 0 },
        on: {
          add: { actions: { type: 'note', params: ({ event }) => event.by } },
          keep: { actions: { type: 'note', params: () => -1 } },
        },
      })
      .provide({ actions: { note: assignExtra('sum', (sum: number | undefined, by: number) => (by < 0 ? undefined : (sum ?? 0) + by)) } });
    const actor = createActor(machine).start();
    actor.send({ type: 'add', by: 2 });
    actor.send({ type: 'add', by: 3 });
    actor.send({ type: 'keep' });
    assert.deepEqual(actor.getSnapshot().context, { n: 0, sum: 5 }, 'xstate keeps the undeclared key `sum` in the context');
    const persisted = actor.getPersistedSnapshot();
    assert.ok('context' in persisted, 'a persisted snapshot has a context');
    assert.deepEqual(persisted.context, { n: 0, sum: 5 }, 'and in its persisted snapshot');
  });

  test("the wire job machine records what its work was told in the snapshot's context", () => {
    const job = createActor(wireJobMachine, { input: { id: 'j', owner: 'model', type: 'test', params: {} } }).start();
    assert.equal(workKey(job.getSnapshot()), 'work=none', 'nothing before the work starts');
    job.send({ type: 'create' });
    job.send({ type: 'start' });
    assert.equal(workKey(job.getSnapshot()), 'work=going/none', 'startWork recorded the work');
    job.send({ type: 'pause' });
    assert.equal(workKey(job.getSnapshot()), 'work=paused/none', 'tellWork recorded the pause');
    job.send({ type: 'cancel', force: true });
    assert.match(workKey(job.getSnapshot()), /\/force$/, 'tellWork recorded the forced cancel');
    job.stop();
  });
});
