/**
 * No event is published for a state that a crash can take back (issue #18, point 5): the
 * job store's writes are made to fail (the KV stream no longer listens on its subjects, while
 * core NATS, and so every event, goes on), verbs change the jobs, and the service is
 * SIGKILLed before any of it is saved. After the restart every job is where its last
 * JOB_STATUS_CHANGE a subscriber saw put it: never behind its last event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { JobStatus } from '../../machines/index.js';
import { storeNames } from '../../src/persist/names.js';
import { TRANSITIONS } from '../../src/testing/qemu-tables.js';
import { KilledServiceFixture, jobsById, sleep, until } from './helpers.js';

const LONG = { steps: 100_000, 'step-ms': 50 };

describe('events wait for the save', () => {
  const prefix = `evsave${process.pid}`;
  const fx = new KilledServiceFixture(prefix);
  let nc: NatsConnection;
  let sub: Subscription;
  const seen = new Map<string, JobStatus[]>();

  before(async () => {
    await fx.start();
    nc = await connect({ servers: fx.server.url });
    sub = nc.subscribe(`${prefix}.evt.alice.*.JOB_STATUS_CHANGE`, {
      callback: (_err, m) => {
        const { data } = m.json<{ data: { id: string; status: JobStatus } }>();
        seen.set(data.id, [...(seen.get(data.id) ?? []), data.status]);
      },
    });
    await nc.flush();
  });
  after(async () => {
    sub?.unsubscribe();
    await nc?.close();
    await fx.close();
  });

  /** The job store's stream stops (or starts again) taking writes: its subjects are moved away (or back). */
  async function storeWrites(on: boolean): Promise<void> {
    const jsm = await jetstreamManager(nc);
    const { bucket } = storeNames(prefix);
    const name = `KV_${bucket}`;
    const info = await jsm.streams.info(name);
    await jsm.streams.update(name, { ...info.config, subjects: [on ? `$KV.${bucket}.>` : `$KV.${bucket}-off.>`] });
  }

  test('after a crash, no job is behind the last JOB_STATUS_CHANGE published for it', async () => {
    const ids = ['p0', 'p1', 'p2', 'c0', 'c1', 'r0'];
    for (const id of ids) await fx.alice.start('test', { id, params: LONG, 'auto-dismiss': false });
    await until('every job to be seen running', async () => (ids.every((id) => seen.get(id)?.at(-1) === 'running') ? true : undefined));

    await storeWrites(false);
    // Changes that cannot be saved: their replies would wait (and answer 503); nobody waits.
    for (const id of ['p0', 'p1', 'p2']) void fx.alice.pause(id).catch(() => undefined);
    for (const id of ['c0', 'c1']) void fx.alice.cancel(id).catch(() => undefined);
    await sleep(1000);
    await fx.service.kill();
    await storeWrites(true);
    await fx.restart();
    await sleep(1000); // events saved but not yet published would be published by now

    const jobs = await jobsById(fx.alice);
    for (const id of ids) {
      const history = seen.get(id) ?? [];
      for (let i = 1; i < history.length; i++) {
        assert.ok(TRANSITIONS[history[i - 1]!].includes(history[i]!), `${id}: ${history.join(' → ')} is not a path of QEMU's table`);
      }
      assert.equal(jobs.get(id)?.status, history.at(-1), `${id} came back ${jobs.get(id)?.status}, behind its last event (${history.join(' → ')})`);
    }
  });
});
