/**
 * A harness for scenario tests of the statecharts: a transaction actor whose member jobs are
 * driven by hand. The members' work is a fake that does nothing but record the commands it
 * is told, so a test plays the work's part by sending `work.*` events to a member; the
 * `commit`, `abort` and `clean` actions are recorded; `prepare` succeeds (asynchronously, as
 * a type's hook would) unless told to fail.
 *
 * Everything a member emits lands in one flat log, in order:
 * `a:created`, `a:JOB_READY`, `a:JOB_COMPLETED(error=boom)`, `a:refused(<message>)`…
 * Every status a member passes through is also kept per member (and, for the whole test
 * file, in {@link observedStatusPairs}) so that tests can compare them against QEMU's table.
 */
import { createActor } from 'xstate';
import {
  jobMachine,
  statusOf,
  transactionMachine,
  JobEventName,
  JobStatus,
} from '../../machines/index.js';
import { TRANSITIONS, VERBS_ACCEPTED } from '../../src/testing/qemu-tables.js';
import type {
  JobActorRef,
  JobMachineContext,
  JobEmitted,
  JobMachineEvent,
  JobInput,
  JobVerb,
  RefusalReason,
  TransactionActorRef,
  WorkCommand,
  WorkInput,
} from '../../machines/index.js';

/** A member as a test describes it: only `id` is needed (owner `o`, type `test`). */
export type MemberSpec = Partial<JobInput> & { id: string };

export interface HarnessOptions {
  /** The members, in order (the transaction's member order). */
  jobs: MemberSpec[];
  /** Members whose `prepare` fails, with the error text. */
  failPrepare?: Record<string, string>;
  /**
   * How far to take the transaction before handing it to the test:
   * `spawned` (members rest in undefined), `created` (sent `create`), `running` (also `start`).
   * @defaultValue 'running'
   */
  until?: 'spawned' | 'created' | 'running';
  /** @defaultValue 't' */
  txnId?: string;
}

export interface Harness {
  txn: TransactionActorRef;
  /** Everything the members emitted, in order. */
  log: string[];
  /** Calls of the `commit`, `abort` and `clean` actions, in order: `commit:a`, `clean:a`… */
  calls: string[];
  /** Commands the members' work received, in order: `a:pause`, `a:cancel(force)`… */
  work: string[];
  /** Every status each member passed through, starting with `undefined`. */
  statuses: Record<string, JobStatus[]>;
  /** Errors any actor reported (a correct machine reports none). */
  errors: unknown[];
  /** The member job actor with this id. */
  job(id: string): JobActorRef;
  /** Send an event to a member. */
  send(id: string, event: JobMachineEvent): void;
  status(id: string): JobStatus;
  context(id: string): JobMachineContext;
  create(): void;
  start(): void;
  /** The log entries since the last call (or since the start). */
  take(): string[];
}

/** Consecutive status pairs `from>to` seen by every harness of this test file. */
export const observedStatusPairs = new Set<string>();
/** Errors reported by any actor of any harness of this test file. */
export const observedErrors: unknown[] = [];
/** Every refusal any member of any harness of this test file emitted. */
export const observedRefusals: Array<{ id: string; status: JobStatus; verb: JobVerb; reason: RefusalReason }> = [];

/** Let the `prepare` promises settle and their results reach the machines. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How a member's emitted event is written in the log. */
export function describeEmitted(id: string, e: JobEmitted): string {
  switch (e.type) {
    case JobEventName.statusChange:
      return `${id}:${e.data.status}`;
    case JobEventName.completed:
      return e.data.error === undefined ? `${id}:JOB_COMPLETED` : `${id}:JOB_COMPLETED(error=${e.data.error})`;
    case JobEventName.error:
      return `${id}:JOB_ERROR(${e.data.operation},${e.data.action})`;
    case JobEventName.progress:
      return `${id}:JOB_PROGRESS(${e.data['current-progress']}/${e.data['total-progress']})`;
    case 'verb.refused':
      return `${id}:refused(${e.message})`;
    default:
      return `${id}:${e.type}`;
  }
}

function describeCommand(c: WorkCommand): string {
  switch (c.type) {
    case 'cancel':
      return c.force ? 'cancel(force)' : 'cancel(soft)';
    case 'set-speed':
      return `set-speed(${c.speed})`;
    default:
      return c.type;
  }
}

/**
 * Create and start a transaction of the given members, listen to every member, then (by
 * default) send it `create` and `start`.
 *
 * @example
 * const h = harness({ jobs: [{ id: 'a' }] });
 * h.send('a', { type: 'work.done' });
 * await settle();
 * assert.deepEqual(h.log, ['a:created', 'a:running', 'a:waiting', 'a:pending', 'a:JOB_COMPLETED', 'a:concluded', 'a:null']);
 */
export function harness(options: HarnessOptions): Harness {
  const log: string[] = [];
  const calls: string[] = [];
  const work: string[] = [];
  const errors: unknown[] = [];
  const statuses: Record<string, JobStatus[]> = {};
  let taken = 0;

  const failPrepare = options.failPrepare ?? {};
  const job = jobMachine.provide({
    actions: {
      tellWork: ({ context }, command: WorkCommand) => void work.push(`${context.job.id}:${describeCommand(command)}`),
      // As a type's prepare hook would: asynchronously, failing for the members told to.
      prepare: ({ context, self }) => {
        const error = failPrepare[context.job.id];
        void Promise.resolve().then(() => self.send(error === undefined ? { type: 'prepare.done' } : { type: 'prepare.failed', error }));
      },
      commit: (_, params: { id: string }) => void calls.push(`commit:${params.id}`),
      abort: (_, params: { id: string }) => void calls.push(`abort:${params.id}`),
      clean: (_, params: { id: string }) => void calls.push(`clean:${params.id}`),
    },
  });
  const machine = transactionMachine.provide({ actors: { job } });

  const txn = createActor(machine, {
    input: {
      id: options.txnId ?? 't',
      jobs: options.jobs.map((j) => ({ owner: 'o', type: 'test', ...j })),
    },
  });
  const onError = (err: unknown) => {
    errors.push(err);
    observedErrors.push(err);
  };
  txn.subscribe({ error: onError });
  txn.start();

  const members = new Map<string, JobActorRef>();
  for (const { id } of options.jobs) {
    const child = txn.getSnapshot().children[id] as JobActorRef | undefined;
    if (!child) throw new Error(`no member '${id}'`);
    members.set(id, child);
    statuses[id] = [JobStatus.undefined];
    child.subscribe({ error: onError });
    child.on('*', (e) => {
      log.push(describeEmitted(id, e));
      if (e.type === 'verb.refused') observedRefusals.push({ id, status: e.status, verb: e.verb, reason: e.reason });
      if (e.type === JobEventName.statusChange) {
        const seen = statuses[id]!;
        observedStatusPairs.add(`${seen[seen.length - 1]}>${e.data.status}`);
        seen.push(e.data.status);
      }
    });
  }

  const member = (id: string): JobActorRef => {
    const m = members.get(id);
    if (!m) throw new Error(`no member '${id}'`);
    return m;
  };

  const h: Harness = {
    txn,
    log,
    calls,
    work,
    statuses,
    errors,
    job: member,
    send: (id, event) => member(id).send(event),
    status: (id) => statusOf(member(id).getSnapshot()),
    context: (id) => member(id).getSnapshot().context,
    create: () => txn.send({ type: 'create' }),
    start: () => txn.send({ type: 'start' }),
    take: () => {
      const entries = log.slice(taken);
      taken = log.length;
      return entries;
    },
  };

  const until = options.until ?? 'running';
  if (until !== 'spawned') h.create();
  if (until === 'running') h.start();
  return h;
}

/** The status pairs `from>to` among `pairs` that QEMU's transition table does not allow. */
export function transitionsOutsideTable(pairs: Iterable<string>): string[] {
  return [...pairs].filter((pair) => {
    const [from, to] = pair.split('>') as [JobStatus, JobStatus];
    return !TRANSITIONS[from]?.includes(to);
  });
}

/**
 * The refusals among `refusals` that disagree with QEMU's verb table: a refusal "by the
 * table" of a verb the table accepts, or a refusal for another reason of a verb the table
 * rejects (only resume's "not paused" check comes before the table).
 */
export function refusalsAgainstTable(refusals: typeof observedRefusals): string[] {
  return refusals
    .filter(({ status, verb, reason }) => {
      const accepted = VERBS_ACCEPTED[status].includes(verb);
      if (reason === 'state') return accepted;
      if (reason === 'not-paused') return verb !== 'resume';
      return !accepted;
    })
    .map(({ id, status, verb, reason }) => `${id}: ${verb} in ${status} (${reason})`);
}

/** Everything this test file's harnesses saw that QEMU's tables forbid, and any actor error. */
export function qemuTableViolations() {
  return {
    transitions: transitionsOutsideTable(observedStatusPairs),
    refusals: refusalsAgainstTable(observedRefusals),
    errors: observedErrors.map(String),
  };
}
