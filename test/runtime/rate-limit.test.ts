/**
 * The rate limiter's wake-up: raising the speed or lifting the limit wakes every caller that
 * sleeps in it (a copy without a speed limit has several chunks accounting at once), and a
 * lower speed wakes none.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from '../../src/runtime/rate-limit.js';

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);

describe('RateLimiter', () => {
  test('lifting the limit wakes every sleeping caller', async () => {
    const limiter = new RateLimiter(10); // 1 unit per 100 ms slice: 100 units is 10 s of sleep each
    const woke: number[] = [];
    const sleepers = [1, 2, 3].map((n) => limiter.consume(100).then(() => void woke.push(n)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(woke, [], 'over the quota: asleep');
    limiter.setSpeed(0);
    await within(Promise.all(sleepers), 2000, 'the sleepers waking');
    assert.deepEqual(woke.sort(), [1, 2, 3]);
  });

  test('a higher speed wakes every sleeping caller; a lower one none', async () => {
    const limiter = new RateLimiter(10);
    let woke = 0;
    const sleepers = [1, 2].map(() => limiter.consume(100).then(() => void woke++));
    limiter.setSpeed(5);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(woke, 0, 'slower: still asleep');
    limiter.setSpeed(1_000_000);
    await within(Promise.all(sleepers), 2000, 'the sleepers waking');
    assert.equal(woke, 2);
  });
});
