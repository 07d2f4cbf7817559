/**
 * A stall that makes JetStream's acknowledgements late (issue #12, F1), end to end: the
 * nats-server is frozen (SIGSTOP) for longer than the service waits for an acknowledgement,
 * while jobs report progress, so the service's writes land but their acknowledgements come
 * too late. The service must find its own writes there and go on saving every job: commands
 * answer as usual (never `Internal error` for a change that happened), and after a SIGKILL
 * no cancelled, dismissed or auto-dismissed job comes back running, and paused jobs stay
 * paused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KilledServiceFixture, jobsById, sleep, until } from './helpers.js';

const LONG = { steps: 100_000, 'step-ms': 50 };

describe('late acknowledgements of the job store', () => {
  const fx = new KilledServiceFixture(`lateack${process.pid}`);

  before(() => fx.start());
  after(() => fx.close());

  test('writes that landed while their acks were late are the service\'s own: jobs go on being saved', async () => {
    const ids = ['cancel', 'dismiss', 'auto', 'pause', 'run0', 'run1'];
    for (const id of ids) await fx.alice.start('test', { id, params: LONG, 'auto-dismiss': id === 'auto' });
    await until('every job to report progress', async () => {
      const jobs = await jobsById(fx.alice);
      return ids.every((id) => (jobs.get(id)?.['current-progress'] ?? 0) > 0) || undefined;
    });

    // Longer than the 2 s the service waits for an acknowledgement: several progress writes
    // (one a second per job) go out, and their retries, all against the revision before.
    fx.server.freeze();
    await sleep(4000);
    fx.server.thaw();

    // Every change is answered as having happened.
    await fx.alice.cancel('cancel');
    await fx.alice.cancel('dismiss');
    await fx.alice.wait('dismiss');
    await fx.alice.dismiss('dismiss');
    await fx.alice.cancel('auto');
    await fx.alice.pause('pause');
    const conflicts = fx.service.lines().filter((l) => String(l.msg).includes('conflict'));
    assert.deepEqual(conflicts, [], 'the service took none of its own writes for another writer\'s');

    const before1 = await jobsById(fx.alice);
    await fx.restart();
    const after1 = await jobsById(fx.alice);
    assert.equal(after1.get('cancel')?.status, 'concluded');
    assert.equal(after1.get('cancel')?.error, 'Operation canceled');
    assert.equal(after1.has('dismiss'), false, 'the dismissed job stays gone');
    assert.equal(after1.has('auto'), false, 'the auto-dismissed job stays gone');
    assert.equal(after1.get('pause')?.status, 'paused');
    for (const id of ['run0', 'run1']) {
      assert.equal(after1.get(id)?.status, 'running', id);
      assert.ok(after1.get(id)!['current-progress'] > 0, id);
    }
    assert.equal(before1.get('pause')?.status, 'paused');
  });
});
