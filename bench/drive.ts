/**
 * The paths the machine bench measures: jobs driven through their success path, grouped
 * transactions, actors left resting, and a trivial two-state machine as the floor.
 */
import { performance } from 'node:perf_hooks';
import { createActor, createMachine, toPromise } from 'xstate';
import type { AnyActorRef } from 'xstate';
import { jobMachine, statusOf, transactionMachine } from '../machines/index.js';
import type { JobActorRef, JobMachineEvent, JobInput, TransactionActorRef } from '../machines/index.js';
import { createActorParent, stopJobs } from '../src/service/actor-parent.js';

/**
 * The success path of a job alone (as the service starts one), from `undefined` to `null`:
 * `work.done` takes it through waiting, pending, finalize (nothing to prepare), commit,
 * concluded and null in one step (auto-finalize and auto-dismiss by default).
 */
const SUCCESS_PATH: readonly JobMachineEvent[] = [{ type: 'create' }, { type: 'start' }, { type: 'work.done' }];

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

/** Members of a grouped transaction: their prepare step settles asynchronously, as a hook's would. */
const asyncPrepareJob = jobMachine.provide({
  actions: { prepare: ({ self }) => void Promise.resolve().then(() => self.send({ type: 'prepare.done' })) },
});
const groupedTransaction = transactionMachine.provide({ actors: { job: asyncPrepareJob } });

/** Runs `n` jobs alone one after the other through the success path; returns how many reached `null`. */
export function runJobs(n: number): number {
  let reached = 0;
  for (let i = 0; i < n; i++) {
    const job = createActor(jobMachine, { input: jobInput(i) }).start();
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
    const job: AnyActorRef = createActor(jobMachine, { input: jobInput(i) });
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

/** Members per grouped transaction in {@link runTransactions}. */
export const GROUP_SIZE = 2;

/** A grouped transaction of {@link GROUP_SIZE} jobs, started; its members are running. */
function runningGroup(i: number): TransactionActorRef {
  const jobs = Array.from({ length: GROUP_SIZE }, (_, m) => jobInput(i * GROUP_SIZE + m));
  const txn = createActor(groupedTransaction, { input: { id: `txn-${i}`, jobs } }).start();
  txn.send({ type: 'create' });
  txn.send({ type: 'start' });
  return txn;
}

/** Starts `n` jobs in grouped transactions of {@link GROUP_SIZE}, all in flight, each member's work done; awaits them all. */
export async function runTransactions(n: number): Promise<void> {
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < n / GROUP_SIZE; i++) {
    const txn = runningGroup(i);
    for (const member of txn.getSnapshot().context.members) member.send({ type: 'work.done' });
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

/** A started job resting in `undefined`. */
export function restingJob(i: number): JobActorRef {
  return createActor(jobMachine, { input: jobInput(i) }).start();
}

/** A job alone resting in `running`, as the service holds it while its work runs. */
export function runningJob(i: number): JobActorRef {
  const job = restingJob(i);
  job.send({ type: 'create' });
  job.send({ type: 'start' });
  return job;
}

const hub = createActorParent();

/** A job alone resting in `running` in the actor system it shares with every other (the jobs' actor parent). */
export function runningJobInHub(i: number): JobActorRef {
  const job = createActor(jobMachine, { input: jobInput(i), parent: hub }).start();
  job.send({ type: 'create' });
  job.send({ type: 'start' });
  return job;
}

/** Stop a job of {@link runningJobInHub}. */
export function stopInHub(job: unknown): void {
  stopJobs(hub, [job as JobActorRef]);
}

/** A grouped transaction holding its jobs in `running` (measured per job). */
export function runningTransaction(i: number): TransactionActorRef {
  return runningGroup(i);
}

/** The persisted snapshot of a running job (what the service would store), its actor stopped. */
export function persistedRunningJob(i: number): { snapshot: unknown } {
  const job = runningJob(i);
  const snapshot = job.getPersistedSnapshot();
  job.stop();
  return { snapshot };
}
