/**
 * The paths the machine bench measures: jobs driven through their success path, transactions
 * of one, actors left resting, and a trivial two-state machine as the floor.
 */
import { performance } from 'node:perf_hooks';
import { createActor, createMachine, fromPromise, toPromise } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { jobMachine, statusOf, transactionMachine } from '../machines/index.js';
import type { JobActorRef, JobEvent, JobInput, TransactionActorRef, WorkInput } from '../machines/index.js';

/** The job, with a prepare that never settles: the bench sends its done event itself. */
const drivenJob = jobMachine.provide({
  actors: { prepare: fromPromise<void, WorkInput>(() => new Promise<void>(() => undefined)) },
});

/** The prepare actor's done event; not one of JobEvent, so it is sent through an AnyActorRef. */
const PREPARED = { type: 'xstate.done.actor.prepare' } as const;

/** The success path, from `undefined` to `null` (autoFinalize and autoDismiss by default). */
const SUCCESS_PATH: readonly (JobEvent | typeof PREPARED)[] = [
  { type: 'create' },
  { type: 'start' },
  { type: 'work.done' },
  { type: 'txn.pending' },
  { type: 'txn.finalize' },
  PREPARED,
  { type: 'txn.commit' },
];

/** The steps of {@link jobSteps}, in order. */
export const JOB_STEPS = ['createActor', 'start()', ...SUCCESS_PATH.map((e) => e.type), 'stop()'] as const;

/** The least an xstate actor costs: two states and an event that toggles them. */
const toggle = createMachine({
  initial: 'a',
  states: { a: { on: { go: 'b' } }, b: { on: { go: 'a' } } },
});

/** As many events as the job's success path sends. */
export const FLOOR_EVENTS = SUCCESS_PATH.length;

function jobInput(i: number): JobInput {
  return { id: `job-${i}`, owner: 'bench', type: 'backup' };
}

/** Runs `n` jobs one after the other through the success path; returns how many reached `null`. */
export function runJobs(n: number): number {
  let reached = 0;
  for (let i = 0; i < n; i++) {
    const job: AnyActorRef = createActor(drivenJob, { input: jobInput(i) }).start();
    for (const event of SUCCESS_PATH) job.send(event);
    if (statusOf(job.getSnapshot()) === 'null') reached++;
    job.stop();
  }
  return reached;
}

/** The same as {@link runJobs}, timing each step: summed milliseconds per step of {@link JOB_STEPS}. */
export function jobSteps(n: number): number[] {
  const sums = JOB_STEPS.map(() => 0);
  for (let i = 0; i < n; i++) {
    let step = 0;
    let last = performance.now();
    const lap = () => {
      const now = performance.now();
      sums[step] = (sums[step] ?? 0) + now - last;
      step++;
      last = now;
    };
    const job: AnyActorRef = createActor(drivenJob, { input: jobInput(i) });
    lap();
    job.start();
    lap();
    for (const event of SUCCESS_PATH) {
      job.send(event);
      lap();
    }
    job.stop();
    lap();
  }
  return sums;
}

/** Starts `n` transactions of one job each (real async prepare), then awaits them all. */
export async function runTransactions(n: number): Promise<void> {
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const txn = createActor(transactionMachine, { input: { id: `txn-${i}`, jobs: [jobInput(i)] } }).start();
    txn.send({ type: 'create' });
    txn.send({ type: 'start' });
    txn.getSnapshot().context.members[0]?.send({ type: 'work.done' });
    done.push(toPromise(txn));
  }
  await Promise.all(done);
}

/** Runs `n` toggle actors through `events` events each. */
export function runToggles(n: number, events: number): void {
  for (let i = 0; i < n; i++) {
    const actor = createActor(toggle).start();
    for (let e = 0; e < events; e++) actor.send({ type: 'go' });
    actor.stop();
  }
}

/** A started toggle actor, resting. */
export function restingToggle(): AnyActorRef {
  return createActor(toggle).start();
}

/** A started job resting in `undefined`: one actor, no children. */
export function restingJob(i: number): JobActorRef {
  return createActor(drivenJob, { input: jobInput(i) }).start();
}

/** A job resting in `running`, as the service holds it while its work runs (with its `work` child). */
export function runningJob(i: number): JobActorRef {
  const job = restingJob(i);
  job.send({ type: 'create' });
  job.send({ type: 'start' });
  return job;
}

/** A transaction of one, its job resting in `running`. */
export function runningTransaction(i: number): TransactionActorRef {
  const txn = createActor(transactionMachine, { input: { id: `txn-${i}`, jobs: [jobInput(i)] } }).start();
  txn.send({ type: 'create' });
  txn.send({ type: 'start' });
  return txn;
}

/** The persisted snapshot of a job in `running` (what the service would store), its actor stopped. */
export function persistedRunningJob(i: number): { snapshot: unknown } {
  const job = runningJob(i);
  const snapshot = job.getPersistedSnapshot();
  job.stop();
  return { snapshot };
}
