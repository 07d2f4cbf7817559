/**
 * The job statechart as a test model: `createTestModel` from `xstate/graph` over the job
 * machine, the events a job can be sent, a finite abstraction of its snapshot, and the paths
 * that reach every abstract state and then try every event there. The paths are plain data
 * (events and the statuses the model predicts), so that the machine tests and, later, tests
 * against the live service can replay them.
 *
 * The job of the model is a member of a transaction the test plays (its `txn.*` events are
 * model events); its `prepare` step does nothing by itself, so that its outcome
 * (`prepare.done` / `prepare.failed`) is a model event too. Traversal is pure (actions run on
 * an inert actor scope).
 */
import { adjacencyMapToArray, createTestModel } from 'xstate/graph';
import { jobMachine, statusOf, JOB_VERBS, JobStatus, OnError } from '../../machines/index.js';
import type { JobMachineEvent, JobInput, JobSnapshot, JobVerb, PrepareReport, VerbEvent } from '../../machines/index.js';

export type ModelEvent = JobMachineEvent;

/** The job machine of the model: its prepare step ends only when the model says so. */
export const modelMachine = jobMachine.provide({ actions: { prepare: () => undefined } });

/**
 * The input of the model's job: a member of transaction `t` (played by the test), with
 * auto-finalize and auto-dismiss off, so that pending and concluded are resting states where
 * the verbs can be tried.
 */
export const MODEL_INPUT: JobInput = { id: 'j', owner: 'o', type: 't', txn: 't', autoFinalize: false, autoDismiss: false };

/** Every verb, with the variants that take a different branch (soft cancel, negative speed). */
export const VERB_EVENTS: readonly VerbEvent[] = [
  { type: 'cancel', force: true },
  { type: 'cancel', force: false },
  { type: 'pause' },
  { type: 'resume' },
  { type: 'set-speed', speed: 5 },
  { type: 'set-speed', speed: -1 },
  { type: 'complete' },
  { type: 'finalize' },
  { type: 'dismiss' },
];

/** What the transaction sends its members (the test plays the transaction). */
export const LIFECYCLE_EVENTS: readonly ModelEvent[] = [
  { type: 'create' },
  { type: 'start' },
  { type: 'txn.pending' },
  { type: 'txn.finalize' },
  { type: 'txn.commit' },
  { type: 'txn.abort' },
  { type: 'txn.conclude' },
];

/** What the work reports (the test plays the work). */
export const WORK_EVENTS: readonly ModelEvent[] = [
  { type: 'work.ready' },
  { type: 'work.done' },
  { type: 'work.failed', error: 'boom' },
  { type: 'work.error', operation: 'write', action: OnError.stop },
];

/** How the `prepare` step ends. */
export const PREPARE_EVENTS: readonly PrepareReport[] = [
  { type: 'prepare.done' },
  { type: 'prepare.failed', error: 'prepare failed' },
];

/** Every event the model explores, in every state it can reach ({@link possible}). */
export const MODEL_EVENTS: readonly ModelEvent[] = [...VERB_EVENTS, ...LIFECYCLE_EVENTS, ...WORK_EVENTS, ...PREPARE_EVENTS];

const MODEL_EVENT_TYPES: ReadonlySet<string> = new Set(MODEL_EVENTS.map((e) => e.type));

/** The verb an event carries, if it is a verb. */
export function verbOf(event: ModelEvent): JobVerb | undefined {
  return (JOB_VERBS as readonly string[]).includes(event.type) ? (event.type as JobVerb) : undefined;
}

/** How an event is written in messages: `cancel(force=false)`, `set-speed(-1)`, `work.failed`. */
export function describeEvent(event: ModelEvent): string {
  switch (event.type) {
    case 'cancel':
      return event.force === undefined ? 'cancel' : `cancel(force=${event.force})`;
    case 'set-speed':
      return `set-speed(${event.speed})`;
    case 'work.error':
      return `work.error(${event.action})`;
    default:
      return event.type;
  }
}

/**
 * The abstract state of a job: what matters to its lifecycle and nothing else (no progress,
 * times, ids, speed). Pending and aborting keep their substate. This is finite: the pause
 * count never exceeds 1 with the events above (the user's pause and error-stop share one count).
 */
export function modelState(snapshot: JobSnapshot): string {
  const status = statusOf(snapshot);
  const c = snapshot.context;
  const where = status === JobStatus.pending || status === JobStatus.aborting ? JSON.stringify(snapshot.value) : status;
  const started = c.startedAt !== undefined;
  const outcome = c.outcome === undefined ? 'none' : c.outcome.ok ? 'ok' : 'failed';
  return [
    where,
    c.userPaused ? 'user-paused' : '-',
    `pauses=${c.pauseCount}`,
    `cancel=${c.cancel}`,
    c.converged ? 'converged' : '-',
    started ? 'started' : '-',
    `outcome=${outcome}`,
    // A job actor that failed (status 'error') must not pass for the state it failed in.
    ...(snapshot.status === 'active' ? [] : [snapshot.status]),
  ].join(' ');
}

/**
 * Whether `event` can reach a job in `snapshot` at all: the outcome of `prepare` only while
 * it runs (in `pending.preparing`), and work reports only while there is work (from start
 * until the job concludes). Everything else, verbs and `txn.*` included, may come at any time
 * and is explored everywhere the machine has a handler for it.
 */
export function possible(snapshot: JobSnapshot, event: ModelEvent): boolean {
  if (event.type === 'prepare.done' || event.type === 'prepare.failed') {
    return snapshot.matches({ pending: 'preparing' });
  }
  if (event.type.startsWith('work.')) {
    const status = statusOf(snapshot);
    return snapshot.context.startedAt !== undefined && status !== JobStatus.concluded && status !== JobStatus.null;
  }
  return true;
}

/**
 * Whether the job's surroundings could really send `event` to a job in `snapshot`: a job
 * type that reports work only while working, and a transaction that sends each `txn.*` only
 * where it can arrive. Verbs are always plausible (a user can send anything). The machine
 * tests explore every {@link possible} event; a replay against the live service, which
 * drives everything but verbs through job types, wants only these.
 */
export function plausible(snapshot: JobSnapshot, event: ModelEvent): boolean {
  if (verbOf(event) !== undefined) return true;
  if (!possible(snapshot, event)) return false;
  const status = statusOf(snapshot);
  const c = snapshot.context;
  const working = c.startedAt !== undefined && c.outcome === undefined;
  const stopping = snapshot.matches({ aborting: 'stopping' });
  switch (event.type) {
    case 'create':
      return status === JobStatus.undefined;
    case 'start':
      return status === JobStatus.created;
    case 'txn.pending':
      return status === JobStatus.waiting;
    case 'txn.finalize':
      return snapshot.matches({ pending: 'held' });
    case 'txn.commit':
      return snapshot.matches({ pending: 'prepared' });
    case 'txn.abort': // another member failed, or this one did and the abort comes back to it
      return status !== JobStatus.undefined && status !== JobStatus.concluded && status !== JobStatus.null;
    case 'txn.conclude':
      return snapshot.matches({ aborting: 'stopped' });
    case 'prepare.done':
    case 'prepare.failed':
      return snapshot.matches({ pending: 'preparing' });
    case 'work.ready':
      return working && status === JobStatus.running;
    case 'work.done':
    case 'work.failed':
      return working && (status === JobStatus.running || status === JobStatus.ready || stopping);
    case 'work.error':
      return working && (status === JobStatus.running || status === JobStatus.ready);
    default:
      return false;
  }
}

/** One generated path: the events to send to a fresh job, and what the model predicts. */
export interface ModelPath {
  /** The events, in order, from a job actor just started (status `undefined`). */
  events: ModelEvent[];
  /** The status the model predicts after each event (same length as `events`). */
  statuses: JobStatus[];
  /** The model state ({@link modelState}) it predicts after each event. */
  states: string[];
  /** The status the path ends in. */
  status: JobStatus;
}

export interface JobModelOptions {
  /** Changes to {@link MODEL_INPUT} (e.g. the defaults: `{ autoFinalize: true, autoDismiss: true }`). */
  input?: Partial<JobInput>;
  /**
   * Explore only {@link plausible} events besides verbs; otherwise every {@link possible} one.
   * @defaultValue false
   */
  plausibleOnly?: boolean;
  /**
   * Explore only the events this also allows, on top of {@link plausible} / {@link possible}
   * (e.g. only what a live service can realise, so that shortest paths go through it).
   * @defaultValue every event those allow
   */
  filter?: (snapshot: JobSnapshot, event: ModelEvent) => boolean;
}

export interface JobModel {
  input: JobInput;
  /** How many abstract states the model reaches, and how many (state, event) pairs it tries. */
  states: number;
  transitions: number;
  /**
   * For every abstract state, its shortest path extended by every event explored there
   * (every (state, event) pair once); a path that is the shortest path of another state is
   * left out, since the paths extending that one contain it.
   */
  paths: ModelPath[];
}

/**
 * Build the test model of the job machine and generate its paths.
 *
 * @example
 * const { paths } = jobModel();
 * for (const path of paths) {
 *   const job = createActor(machine, { input: MODEL_INPUT }).start();
 *   for (const event of path.events) job.send(event as JobMachineEvent);
 *   assert.equal(statusOf(job.getSnapshot()), path.status);
 * }
 */
export function jobModel(options: JobModelOptions = {}): JobModel {
  const input: JobInput = { ...MODEL_INPUT, ...options.input };
  const model = createTestModel(modelMachine, {
    input,
    events: [...MODEL_EVENTS],
    serializeState: (snapshot) => modelState(snapshot),
    // createTestModel offers every event the state has a handler for; the model explores only its own.
    filterEvents: (snapshot, event) =>
      MODEL_EVENT_TYPES.has(event.type) &&
      (options.plausibleOnly ? plausible : possible)(snapshot, event) &&
      (options.filter?.(snapshot, event) ?? true),
  });

  // The adjacency map, keyed by model state: for each, the state every event leads to.
  const adjacencyMap = model.getAdjacencyMap();
  const adjacency = new Map<string, Array<{ event: ModelEvent; state: JobSnapshot }>>();
  for (const { state, event, nextState } of adjacencyMapToArray(adjacencyMap)) {
    const from = modelState(state);
    const next = adjacency.get(from) ?? [];
    next.push({ event, state: nextState });
    adjacency.set(from, next);
  }
  const shortest = model.getShortestPaths({ allowDuplicatePaths: true });

  const toPath = (steps: ReadonlyArray<{ event: ModelEvent; state: JobSnapshot }>): ModelPath => {
    const last = steps[steps.length - 1];
    if (!last) throw new Error('empty path');
    return {
      events: steps.map((s) => s.event),
      statuses: steps.map((s) => statusOf(s.state)),
      states: steps.map((s) => modelState(s.state)),
      status: statusOf(last.state),
    };
  };
  const key = (events: readonly ModelEvent[]) => JSON.stringify(events);
  // Each step of a path holds the event and the state after it; the first is a synthetic `xstate.init`.
  const reaching = new Set(shortest.map((p) => key(p.steps.slice(1).map((s) => s.event))));

  const paths: ModelPath[] = [];
  let transitions = 0;
  for (const path of shortest) {
    const head = path.steps.slice(1);
    const next = adjacency.get(modelState(path.state)) ?? [];
    if (next.length === 0 && head.length > 0) paths.push(toPath(head));
    for (const { event, state } of next) {
      transitions++;
      const steps = [...head, { event, state }];
      if (reaching.has(key(steps.map((s) => s.event)))) continue;
      paths.push(toPath(steps));
    }
  }
  return { input, states: Object.keys(adjacencyMap).length, transitions, paths };
}
