/**
 * A bug that makes a job's actors fail (here: an action that throws inside the statechart)
 * must not leave the job answering commands from a stopped actor: waiters get an error, and
 * the job is gone (`Job not found`), with the failure in the log. With a job store, the job
 * leaves the store too (it would come back at the next start), and the service lives on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import { JobNotFoundError, ProtocolError } from '../../src/protocol/errors.js';
import { defineJob } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';
import { JobRuntime } from '../../src/runtime/runtime.js';
import { JobStore } from '../../src/persist/job-store.js';
import { JobManager } from '../../src/service/jobs.js';
import { jobKey } from '../../src/persist/records.js';
import { startNatsServer } from '../support/stack.js';
import { connect } from '@nats-io/transport-node';

/** A runtime whose commit action throws from inside the statechart (not through a hook) for job `j1`. */
class BrokenRuntime extends JobRuntime {
  override jobMachine() {
    const machine = super.jobMachine();
    const commit = machine.implementations.actions.commit;
    return machine.provide({
      actions: {
        commit: (args, params) => {
          if (args.context.job.id === 'j1') throw new Error('boom');
          (commit as (a: typeof args, p: typeof params) => void)(args, params);
        },
      },
    }) as ReturnType<JobRuntime['jobMachine']>;
  }
}

describe('a job whose actors fail', () => {
  /** j1's actor fails at commit; j2, started after, must go on. `store`: the manager keeps jobs there. */
  async function scenario(store?: JobStore): Promise<void> {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const types = new JobTypes().register(
      defineJob('gated', { params: z.strictObject({}) }, async () => {
        await gate;
      }),
    );
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const jobs = new JobManager({ runtime: new BrokenRuntime(types, { logger }), admins: new Set(), publish: () => undefined, logger, ...(store && { store }) });
    const { id } = jobs.startJob('alice', { type: 'gated', id: 'j1' });
    const waited = jobs.waitJob('alice', { id });
    open();
    await assert.rejects(waited, (err: ProtocolError) => err.code === 500 && err.message === "Job 'j1' failed inside the service");
    assert.throws(() => jobs.verb('alice', 'pause', { id }), JobNotFoundError);
    assert.equal(jobs.query('alice', {}).count, 0);
    assert.ok(lines.some((l) => l.includes('job actor failed') && l.includes('"job":"j1"') && l.includes('"owner":"alice"')));

    // The other jobs alone, which share j1's actor system, are untouched.
    const j2 = jobs.startJob('alice', { type: 'gated', id: 'j2' });
    const info = await jobs.waitJob('alice', { id: j2.id });
    assert.equal(info.status, 'concluded');
    assert.equal(info.error, undefined);
  }

  test('its waiters get an error and it is dropped, never a silent success', async () => {
    await scenario();
  });

  test('with a job store: the same, the service lives on, and the job leaves the store', async () => {
    await using server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      const store = await JobStore.open(nc, 'lost_store', { logger: pino({ level: 'silent' }) });
      await scenario(store);
      await store.flush();
      assert.equal((await store.kv.get(jobKey('alice', 'j1')))?.operation ?? 'DEL', 'DEL', 'j1 left the store');
      store.close();
    } finally {
      await nc.close();
    }
  });
});
