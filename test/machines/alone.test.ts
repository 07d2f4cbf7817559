/**
 * A job started alone is a transaction of one: it coordinates itself instead of having a
 * transaction actor. These tests replay the job model's paths on both — a job alone, and a
 * transaction machine holding that one job — sending each only what a user and the work can
 * send (verbs, work reports; the `txn.*` events and the outcome of `prepare` come by
 * themselves), and require the very same log: every status change, every event, every
 * refusal, every finalize call, in the same order, until the job is dismissed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
import { jobMachine } from '../../machines/index.js';
import type { JobMachineEvent, JobInput } from '../../machines/index.js';
import { describeEmitted, harness, settle } from '../support/harness.js';
import { jobModel } from '../../src/testing/job-model.js';
import type { ModelEvent } from '../../src/testing/job-model.js';

/** What a transaction (or the prepare step) sends: a job alone does without. */
const AUTOMATIC = new Set(['txn.pending', 'txn.finalize', 'txn.commit', 'txn.abort', 'txn.conclude', 'prepare.done', 'prepare.failed']);

/** The user's and the work's events of every plausible model path, each sequence once. */
function sequences(input: Partial<JobInput>): ModelEvent[][] {
  const seen = new Map<string, ModelEvent[]>();
  for (const path of jobModel({ input, plausibleOnly: true }).paths) {
    const events = path.events.filter((e) => !AUTOMATIC.has(e.type));
    seen.set(JSON.stringify(events), events);
  }
  return [...seen.values()];
}

/** A job alone with the harness's fakes: finalize calls recorded, prepare asynchronous. */
function aloneJob(input: JobInput) {
  const log: string[] = [];
  const calls: string[] = [];
  const machine = jobMachine.provide({
    actions: {
      prepare: ({ self }) => void Promise.resolve().then(() => self.send({ type: 'prepare.done' })),
      commit: (_, params: { id: string }) => void calls.push(`commit:${params.id}`),
      abort: (_, params: { id: string }) => void calls.push(`abort:${params.id}`),
      clean: (_, params: { id: string }) => void calls.push(`clean:${params.id}`),
    },
  });
  const job = createActor(machine, { input });
  job.on('*', (e) => void log.push(describeEmitted(input.id, e)));
  job.start();
  return { job, log, calls };
}

async function compare(flags: Partial<JobInput>): Promise<number> {
  let compared = 0;
  for (const events of sequences(flags)) {
    const member = harness({ jobs: [{ id: 'j', ...flags }], until: 'spawned' });
    const alone = aloneJob({ id: 'j', owner: 'o', type: 'test', ...flags });
    for (const event of events) {
      // A dismissed member is stopped with its transaction (and the service forgets a dismissed job).
      if (member.log.includes('j:null')) break;
      if (event.type === 'create') member.create();
      else if (event.type === 'start') member.start();
      else member.send('j', event as JobMachineEvent);
      alone.job.send(event as JobMachineEvent);
      await settle();
    }
    const trail = events.map((e) => e.type).join(' → ');
    assert.deepEqual(alone.log, member.log, `the logs differ after ${trail}`);
    assert.deepEqual(alone.calls, member.calls, `the finalize calls differ after ${trail}`);
    assert.deepEqual(member.errors, []);
    compared++;
  }
  return compared;
}

describe('a job alone is a transaction of one', () => {
  test('the same log as a transaction of one, on every model path (auto-finalize and auto-dismiss off)', async () => {
    const n = await compare({ autoFinalize: false, autoDismiss: false });
    assert.ok(n > 100, `only ${n} paths compared`);
  });

  test('the same log as a transaction of one, on every model path (the defaults)', async () => {
    const n = await compare({ autoFinalize: true, autoDismiss: true });
    assert.ok(n > 100, `only ${n} paths compared`);
  });
});
