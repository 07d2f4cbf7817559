/**
 * Jobs survive restarts (issue #8): 200 jobs spread over every status a job rests in, the
 * service SIGKILLed and started again — every job comes back with its id and status (a
 * running job of a resumable type goes on; one of a type that cannot resume fails with
 * `Interrupted by service restart`), query-jobs lists them, and the event stream holds every
 * job's complete history in order. Then the same across a nats-server restart (its store
 * kept), with jobs concluding while it is down, and one more SIGKILL after that.
 *
 * Not at rest, and so not in the mix: `undefined` and `created` (a job is started as soon as
 * it exists) and `aborting` (the built-in types stop at once when cancelled).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobStatus } from '../../machines/index.js';
import { Kvm } from '@nats-io/kv';
import { storeNames } from '../../src/persist/names.js';
import { JobsClient } from '../../src/sdk/index.js';
import type { JobInfo } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';
import { ServiceProcess, assertHistory, historyFromStream, jobsById, sleep, until } from './helpers.js';

const INTERRUPTED = 'Interrupted by service restart';
const LONG = { steps: 100_000, 'step-ms': 50 };

/** What a job is started as, and the status it rests in before the first kill. */
interface Planned {
  id: string;
  status: JobStatus;
}

describe('jobs across restarts', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let service: ServiceProcess;
  let alice: JobsClient;
  const prefix = `durable${process.pid}`;
  const planned: Planned[] = [];
  let before1: Map<string, JobInfo>;

  before(async () => {
    server = await startNatsServer();
    service = new ServiceProcess(server.url, prefix);
    service.writeFile('src.img', 512 * 1024);
    await service.start();
    alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix, timeoutMs: 10_000 });
  });
  after(async () => {
    await alice?.close();
    await service?.kill();
    await server?.stop();
  });

  async function reconnect(): Promise<void> {
    await alice.close();
    alice = await JobsClient.connect({ servers: server.url, user: 'alice', prefix, timeoutMs: 10_000 });
  }

  test('200 jobs in every resting status come back after a SIGKILL, with their whole history', async () => {
    const start = async (id: string, status: JobStatus, type: string, opts: Record<string, unknown>) => {
      await alice.start(type, { id, ...opts });
      planned.push({ id, status });
    };
    for (let i = 0; i < 40; i++) await start(`run-${i}`, 'running', 'test', { params: LONG });
    // A type that cannot resume: a slow backup.
    for (let i = 0; i < 20; i++) {
      await start(`bk-${i}`, 'running', 'backup', { params: { source: 'src.img', target: `bk-${i}.img` }, speed: 1024, 'auto-dismiss': false });
    }
    for (let i = 0; i < 25; i++) await start(`paused-${i}`, 'paused', 'test', { params: LONG });
    for (let i = 0; i < 25; i++) await start(`ready-${i}`, 'ready', 'test', { params: { steps: 0, ready: true } });
    for (let i = 0; i < 20; i++) await start(`standby-${i}`, 'standby', 'test', { params: { steps: 0, ready: true } });
    for (let i = 0; i < 20; i++) await start(`pending-${i}`, 'pending', 'test', { params: { steps: 0 }, 'auto-finalize': false });
    for (let i = 0; i < 10; i++) {
      await alice.transaction(
        [
          { type: 'test', id: `waiting-${i}`, params: { steps: 0 } },
          { type: 'test', id: `partner-${i}`, params: LONG },
        ],
        'grouped',
      );
      planned.push({ id: `waiting-${i}`, status: 'waiting' }, { id: `partner-${i}`, status: 'running' });
    }
    for (let i = 0; i < 10; i++) await start(`done-${i}`, 'concluded', 'test', { params: { steps: 0, result: { n: i } }, 'auto-dismiss': false });
    for (let i = 0; i < 5; i++) await start(`failed-${i}`, 'concluded', 'test', { params: { steps: 0, fail: 'boom' }, 'auto-dismiss': false });
    for (let i = 0; i < 5; i++) await start(`cancelled-${i}`, 'concluded', 'test', { params: LONG, 'auto-dismiss': false });
    for (let i = 0; i < 10; i++) await start(`gone-${i}`, 'null', 'test', { params: { steps: 0 } });
    assert.equal(planned.length, 200);

    for (let i = 0; i < 25; i++) await alice.pause(`paused-${i}`);
    for (let i = 0; i < 5; i++) await alice.cancel(`cancelled-${i}`);
    await until('every job in its status', async () => {
      const jobs = await jobsById(alice);
      return planned.every((p) => (p.status === 'null' ? !jobs.has(p.id) : jobs.get(p.id)?.status === (p.status === 'standby' ? 'ready' : p.status))) || undefined;
    });
    for (let i = 0; i < 20; i++) await alice.pause(`standby-${i}`);
    before1 = await jobsById(alice);
    for (const p of planned) assert.equal(before1.get(p.id)?.status ?? 'null', p.status, p.id);

    await service.kill();
    await service.start();
    await reconnect();
    const restoredLine = service.lines().find((l) => l.msg === 'jobs restored');
    assert.equal(restoredLine?.restored, 190, 'every live job restored');

    // The backups cannot resume: they fail, saying why; everything else is as it was.
    const after1 = await until('the interrupted backups to conclude', async () => {
      const jobs = await jobsById(alice);
      return [...Array(20).keys()].every((i) => jobs.get(`bk-${i}`)?.status === 'concluded') ? jobs : undefined;
    });
    for (const p of planned) {
      const info = after1.get(p.id);
      if (p.id.startsWith('bk-')) {
        assert.equal(info?.error, INTERRUPTED, p.id);
        continue;
      }
      assert.equal(info?.status ?? 'null', p.status, `${p.id} came back in its status`);
      const was = before1.get(p.id);
      if (!info || !was) continue;
      assert.equal(info.error, was.error, p.id);
      assert.deepEqual(info.result, was.result, p.id);
      assert.equal(info['time-started'], was['time-started'], p.id);
      // Progress alone is saved once a second at most, but no job comes back with less than a
      // client was told (here: in query-jobs before the kill).
      assert.ok(info['current-progress'] >= was['current-progress'], `${p.id}: progress ${info['current-progress']}, was ${was['current-progress']}`);
    }
    assert.deepEqual(after1.get('failed-0')?.error, 'boom');
    // The interrupted backups' abort removed what they had written aside.
    assert.deepEqual(readdirSync(join(service.dataDir, 'alice')).filter((f) => f.endsWith('.part')), []);
    assert.deepEqual(after1.get('done-3')?.result, { n: 3 });

    // The resumable jobs go on from where they were.
    const run0 = before1.get('run-0')!['current-progress'];
    await until('run-0 to make progress', async () => ((await jobsById(alice)).get('run-0')!['current-progress'] > run0 ? true : undefined));

    // The event stream holds each job's complete history, in order, across the restart.
    const history = await historyFromStream(alice.nc, prefix, 'alice');
    const now = await jobsById(alice);
    for (const p of planned) assertHistory(p.id, history.get(p.id), (now.get(p.id)?.status ?? 'null') as JobStatus);
    assert.deepEqual(history.get('bk-0'), ['created', 'running', 'aborting', 'concluded']);

    // And they go on being driven.
    await alice.resume('paused-0');
    const done = alice.wait('ready-0', { timeoutMs: 10_000 });
    await alice.complete('ready-0');
    assert.equal((await done).error, undefined);
    await alice.finalize('pending-0');
    assert.equal((await alice.wait('pending-0')).status, 'concluded');
    await alice.resume('standby-0');
    assert.equal((await jobsById(alice)).get('standby-0')?.status, 'ready');
  });

  test('a nats-server restart (its store kept) loses nothing: jobs that conclude meanwhile are saved and their events kept', async () => {
    // Jobs that end while the nats-server is down: their events and state wait in the service.
    for (let i = 0; i < 5; i++) await alice.start('test', { id: `outage-${i}`, params: { steps: 4, 'step-ms': 150 }, 'auto-dismiss': false });
    const before2 = await jobsById(alice);
    await server.restart();
    await sleep(200);
    await reconnect();
    const after2 = await until('the outage jobs to conclude', async () => {
      const jobs = await jobsById(alice).catch(() => undefined);
      return jobs && [...Array(5).keys()].every((i) => jobs.get(`outage-${i}`)?.status === 'concluded') ? jobs : undefined;
    });
    for (const [id, was] of before2) {
      if (id.startsWith('outage-')) continue;
      assert.equal(after2.get(id)?.status, was.status, `${id} kept its status`);
    }
    // Their events go out once their state is saved (events after the save): JetStream takes
    // the writes a moment after it is back.
    const history = await until('the outage jobs\' events', async () => {
      const h = await historyFromStream(alice.nc, prefix, 'alice');
      return [...Array(5).keys()].every((i) => h.get(`outage-${i}`)?.at(-1) === 'concluded') ? h : undefined;
    }, 5000).catch(() => historyFromStream(alice.nc, prefix, 'alice'));
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(history.get(`outage-${i}`), ['created', 'running', 'waiting', 'pending', 'concluded'], `outage-${i}`);
    }

    // Once JetStream answers again, the service saves what changed meanwhile; then that
    // survives a SIGKILL too.
    const kv = await new Kvm(alice.nc).open(storeNames(prefix).bucket);
    await until('the outage jobs to be saved as concluded', async () => {
      for (let i = 0; i < 5; i++) {
        const entry = await kv.get(`job.alice.outage-${i}`);
        if (entry?.json<{ snapshot: { value: unknown } }>().snapshot.value !== 'concluded') return undefined;
      }
      return true;
    });
    await service.kill();
    await service.start();
    await reconnect();
    const after3 = await jobsById(alice);
    for (const [id, info] of after2) {
      if (id.startsWith('run-') || id.startsWith('partner-') || id === 'paused-0') continue; // still running: resumed
      assert.equal(after3.get(id)?.status, info.status, `${id} after the second SIGKILL`);
    }
    for (let i = 0; i < 5; i++) assert.deepEqual(after3.get(`outage-${i}`)?.['current-progress'], 4);
    const final = await historyFromStream(alice.nc, prefix, 'alice');
    for (const [id, info] of after3) assertHistory(id, final.get(id), info.status as JobStatus);
  });
});
