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
import { JobsClient } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';
import { ServiceProcess, jobsById, sleep, until } from './helpers.js';

const LONG = { steps: 100_000, 'step-ms': 50 };

describe('late acknowledgements of the job store', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let service: ServiceProcess;
  let alice: JobsClient;
  const prefix = `lateack${process.pid}`;

  before(async () => {
    server = await startNatsServer();
    service = new ServiceProcess(server.url, prefix);
    await service.start();
    alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix, timeoutMs: 20_000 });
  });
  after(async () => {
    server?.thaw();
    await alice?.close();
    await service?.kill();
    await server?.stop();
  });

  test('writes that landed while their acks were late are the service\'s own: jobs go on being saved', async () => {
    const ids = ['cancel', 'dismiss', 'auto', 'pause', 'run0', 'run1'];
    for (const id of ids) await alice.start('test', { id, params: LONG, 'auto-dismiss': id === 'auto' });
    await until('every job to report progress', async () => {
      const jobs = await jobsById(alice);
      return ids.every((id) => (jobs.get(id)?.['current-progress'] ?? 0) > 0) || undefined;
    });

    // Longer than the 2 s the service waits for an acknowledgement: several progress writes
    // (one a second per job) go out, and their retries, all against the revision before.
    server.freeze();
    await sleep(4000);
    server.thaw();

    // Every change is answered as having happened.
    await alice.cancel('cancel');
    await alice.cancel('dismiss');
    await alice.wait('dismiss');
    await alice.dismiss('dismiss');
    await alice.cancel('auto');
    await alice.pause('pause');
    const conflicts = service.lines().filter((l) => String(l.msg).includes('conflict'));
    assert.deepEqual(conflicts, [], 'the service took none of its own writes for another writer\'s');

    const before1 = await jobsById(alice);
    await service.kill();
    await service.start();
    await alice.close();
    alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix, timeoutMs: 20_000 });
    const after1 = await jobsById(alice);
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
