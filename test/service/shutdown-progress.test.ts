/**
 * A progress event held back by the rate limit must not be published once the service's
 * connection drains: the timer that would publish it fired during `nc.drain()` and threw
 * DrainingConnectionError from a timer — an uncaught exception in whoever ran the service.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startStack } from '../support/stack.js';

test('closing the service while jobs report progress: no event is published into a draining connection', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    for (let round = 0; round < 5; round++) {
      const stack = await startStack();
      const alice = await stack.client('alice');
      // Progress every millisecond: there is always one held back, its timer due within 100 ms.
      for (let i = 0; i < 20; i++) await alice.start('test', { params: { steps: 1_000_000, 'step-ms': 1 } });
      await new Promise((r) => setTimeout(r, 50));
      await alice.close();
      await stack.service.close();
      const draining = stack.nc.drain();
      await new Promise((r) => setTimeout(r, 150)); // past every held event's timer
      await draining;
      await stack.close();
    }
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught.map(String), []);
});
