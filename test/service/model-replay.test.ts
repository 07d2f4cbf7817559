/**
 * The model-based paths of the job statechart (`src/testing/job-model.ts`), replayed against
 * the live service over NATS: every path becomes commands (job-start, the verbs) and
 * instructions to a test-only job type (`scripted`), and after every step the service must
 * report what the model predicts — the status `query-jobs` gives, every JOB_STATUS_CHANGE
 * published for the job so far, and for verbs: refused exactly when the model refuses, with
 * the same text (QEMU's), as a `JobsError` 409 (400 for a negative speed).
 *
 * From model paths to live ones:
 * - In the service every job is a transaction of one, so the `txn.*` events and the outcome
 *   of `prepare` come by themselves: each is *due* in one state ({@link due}) and follows at
 *   once there. A path is kept only if every such event it sends is the one due where it is
 *   sent, and it sends the due event whenever one is due; it is then cut into steps, each a
 *   controllable event with the automatic events that follow it. A path that ends where an
 *   automatic event is due gets the automatic tail the service will play.
 * - `create` + `start` is one job-start: a path must begin with them (the service starts a
 *   job at once, no verb can reach it in `created`).
 * - `txn.finalize` in `pending` (auto-finalize off) only ever follows job-finalize; a path
 *   that sends it without a `finalize` just before gets one (the verb changes nothing in the
 *   model: the job only tells its transaction).
 * - Work reports are instructions to the job's handler: `work.ready` → `ready`, `work.done`
 *   → `done`, `work.failed` → `fail`; only while the work is going (started, no outcome yet).
 *   `work.error`, `work.progress`, `work.description`, `internal.*` and a failing `prepare`
 *   are left out (the scripted type does not produce them).
 * - Once a job is `null` it is gone: the model refuses every verb there with the verb table's
 *   text, the service answers `Job not found` (404), and `query-jobs` no longer lists it.
 *
 * The paths come from the main model run of `test/machines/job-model.test.ts` (auto-finalize
 * and auto-dismiss off) and from the same model restricted to what the service can realise
 * (option `filter`), whose shortest paths reach `paused` by a pause after start rather than
 * before it (the main run reaches it only by a pause in `created`).
 *
 * Expectations come from a *model twin*: a bare job actor with the live job's id and owner,
 * sent the same events (automatic ones included) step by step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createActor } from 'xstate';
import { z } from 'zod';
import {
  jobMachine,
  statusOf,
  JOB_STATUSES,
  JOB_VERBS,
  JobEventName,
  JobStatus,
  JobVerb,
  RefusalReason,
} from '../../machines/index.js';
import type { JobEmitted, JobMachineEvent, JobInput, JobSnapshot } from '../../machines/index.js';
import { defineJob } from '../../src/runtime/handler.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobsError } from '../../src/sdk/index.js';
import type { JobsClient } from '../../src/sdk/index.js';
import type { JobInfo } from '../../src/protocol/schemas.js';
import { describeEvent, jobModel, MODEL_INPUT, modelMachine, modelState, verbOf } from '../../src/testing/job-model.js';
import type { ModelEvent, ModelPath } from '../../src/testing/job-model.js';
import { TRANSITIONS } from '../../src/testing/qemu-tables.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';

/** Paths replayed at once, each job on its own id; each slot is one user with one connection. */
const CONCURRENCY = 20;
/**
 * At most this many paths are replayed (chosen deterministically, every coverage item first);
 * `MODEL_REPLAY_MAX_PATHS` overrides it.
 */
const MAX_PATHS = Number(process.env.MODEL_REPLAY_MAX_PATHS ?? 700);
/** How long a step may take to settle (asynchronous steps: work reports, resume of a parked handler). */
const SETTLE_MS = 3000;
/** The error the model's `work.failed` carries, thrown by the scripted handler. */
const FAIL_MESSAGE = 'boom';
const JOB_TYPE = 'scripted';

// ─── the scripted job type ──────────────────────────────────────────────────────────────

type Instruction = 'ready' | 'done' | 'fail';

/** Instructions from the test to one job's handler, in order. */
class Script {
  readonly #queue: Instruction[] = [];
  #waiter: ((instruction: Instruction) => void) | undefined;

  give(instruction: Instruction): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter(instruction);
    else this.#queue.push(instruction);
  }

  next(): Promise<Instruction> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

/** The scripts of the live jobs, by job id (ids are unique in this file). */
const scripts = new Map<string, Script>();

/**
 * A handler that does only what the test tells it:
 * - `ready`: `job.ready()`, which reports `work.ready` after a pause point: while the job is
 *   paused the report is parked until resume (the model converges while paused and enters
 *   ready on resume: the same statuses). Not awaited, so the handler keeps taking
 *   instructions while the job is ready (as a mirror can still fail there);
 * - `done` / `fail`: return / throw `boom` at once, even while paused or cancelled: the report
 *   is the model's event, when the model sends it. (Parking these at a pause point too would
 *   put two reports in a row after a resume — `work.ready` then `work.done` — where the
 *   model, which got both while paused, goes from running straight to waiting.)
 * The handler never reacts to a cancel by itself: a force-cancelled job rests in
 * `aborting` until the test says `done` or `fail`, as in the model.
 */
const scripted = defineJob(JOB_TYPE, { params: z.strictObject({}) }, async (job) => {
  const script = scripts.get(job.id);
  if (!script) throw new Error(`no script for job '${job.id}'`);
  for (;;) {
    switch (await script.next()) {
      case 'ready':
        job.ready().catch(() => undefined); // a cancel ends it; the handler goes on
        break;
      case 'done':
        return { scripted: true };
      case 'fail':
        throw new Error(FAIL_MESSAGE);
    }
  }
});

const INSTRUCTION: Partial<Record<ModelEvent['type'], Instruction>> = {
  'work.ready': 'ready',
  'work.done': 'done',
  'work.failed': 'fail',
};

// ─── from model paths to live paths ─────────────────────────────────────────────────────

/** The model's job: the real machine; its `prepare` step never ends by itself, the path ends it. */
const twinLogic = modelMachine;

/** Events the service sends by itself (the transaction of one, the prepare step). */
const AUTOMATIC = new Set<string>([
  'create',
  'start',
  'txn.pending',
  'txn.finalize',
  'txn.commit',
  'txn.abort',
  'txn.conclude',
  'prepare.done',
  'prepare.failed',
  'internal.pause',
  'internal.resume',
]);

/** Events the live service cannot be made to produce here, and why. */
const UNREALISABLE: Record<string, string> = {
  'work.error': 'the scripted type reports no I/O errors',
  'work.progress': 'the scripted type reports no progress',
  'work.description': 'the scripted type sets no description',
  'internal.pause': 'no drain or internal pause over NATS',
  'internal.resume': 'no drain or internal pause over NATS',
  'prepare.failed': 'prepare cannot fail here (the scripted type has no prepare hook)',
};

/**
 * The automatic event due in a model state, if any, given the event before (a job-finalize in
 * pending makes the transaction send `txn.finalize` at once). With auto-finalize and
 * auto-dismiss off, nothing is due in `pending.held`, `aborting.stopping` or `concluded`.
 */
function due(state: string, previous: ModelEvent | undefined): ModelEvent | undefined {
  const where = state.split(' ')[0];
  switch (where) {
    case JobStatus.waiting:
      return { type: 'txn.pending' };
    case '{"pending":"held"}':
      return previous?.type === 'finalize' ? { type: 'txn.finalize' } : undefined;
    case '{"pending":"preparing"}':
      return { type: 'prepare.done' };
    case '{"pending":"prepared"}':
      return { type: 'txn.commit' };
    case '{"aborting":"stopped"}':
      return { type: 'txn.conclude' };
    default:
      return undefined;
  }
}

/** The work is going: a handler is there to report (started, no outcome, not concluded). */
function working(snapshot: JobSnapshot): boolean {
  const status = statusOf(snapshot);
  return (
    snapshot.context.startedAt !== undefined &&
    snapshot.context.outcome === undefined &&
    status !== JobStatus.concluded &&
    status !== JobStatus.null
  );
}

/**
 * What the live service can realise, as a filter for the model's exploration: job-start
 * (create then start), then verbs anywhere, work reports while the work goes, `txn.finalize`
 * in pending (by job-finalize), and only the due event where one is due.
 */
function liveFilter(snapshot: JobSnapshot, event: ModelEvent): boolean {
  const status = statusOf(snapshot);
  if (status === JobStatus.undefined) return event.type === 'create';
  if (status === JobStatus.created) return event.type === 'start';
  const dueHere = due(modelState(snapshot), undefined);
  if (dueHere) return event.type === dueHere.type;
  if (event.type in UNREALISABLE) return false;
  if (verbOf(event) !== undefined) return true;
  if (event.type === 'txn.finalize') return snapshot.matches({ pending: 'held' });
  if (INSTRUCTION[event.type]) return working(snapshot);
  return false;
}

type StepKind = 'start' | 'verb' | 'work';

interface LiveStep {
  kind: StepKind;
  /** The controllable event first (for `start`: `create`), then the automatic ones after it. */
  events: ModelEvent[];
}

interface LivePath {
  /** Where it came from: `main` (the main model run) or `live` (the restricted model), with its index. */
  source: string;
  events: ModelEvent[];
  steps: LiveStep[];
  /** What it covers in the model: statuses, status changes, status × verb variant (for {@link choose}). */
  features: Set<string>;
}

type Realised = { path: LivePath } | { dropped: string };

function stepsOf(events: readonly ModelEvent[]): LiveStep[] {
  const steps: LiveStep[] = [];
  events.forEach((event, i) => {
    if (i === 0) steps.push({ kind: 'start', events: [event] });
    else if (AUTOMATIC.has(event.type)) steps[steps.length - 1]!.events.push(event);
    else steps.push({ kind: verbOf(event) !== undefined ? 'verb' : 'work', events: [event] });
  });
  return steps;
}

const variantOf = (event: ModelEvent): string => {
  if (event.type === 'cancel') return event.force === false ? 'cancel(soft)' : 'cancel(force)';
  if (event.type === 'set-speed') return event.speed < 0 ? 'set-speed(<0)' : 'set-speed';
  return event.type;
};

/**
 * Turn one model path into a live one, or say why it cannot be. The model is stepped along
 * (a bare actor with the model's input) to know the state every event is sent in.
 */
function realise(source: string, events: readonly ModelEvent[]): Realised {
  if (events[0]?.type !== 'create') return { dropped: 'does not begin with create' };
  if (events[1]?.type !== 'start') return { dropped: 'something before start (job-start creates and starts at once)' };
  const job = createActor(twinLogic, { input: MODEL_INPUT });
  const features = new Set<string>();
  let last: JobStatus = JobStatus.undefined;
  job.on(JobEventName.statusChange, ({ data }) => {
    features.add(`status ${data.status}`);
    features.add(`transition ${last}>${data.status}`);
    last = data.status;
  });
  job.start();
  const out: ModelEvent[] = [];
  const send = (event: ModelEvent) => {
    if (verbOf(event) !== undefined) features.add(`pair ${statusOf(job.getSnapshot())}>${variantOf(event)}`);
    job.send(event as JobMachineEvent);
    out.push(event);
  };
  try {
    send(events[0]);
    send(events[1]);
    for (const event of events.slice(2)) {
      const snapshot = job.getSnapshot();
      const status = statusOf(snapshot);
      const reason = UNREALISABLE[event.type];
      if (reason !== undefined) return { dropped: `${event.type} (${reason})` };
      const dueHere = due(modelState(snapshot), out[out.length - 1]);
      if (dueHere) {
        if (event.type !== dueHere.type) return { dropped: `another event where ${dueHere.type} is due (it comes at once)` };
      } else if (event.type === 'txn.finalize' && snapshot.matches({ pending: 'held' })) {
        send({ type: 'finalize' }); // the only way a transaction of one sends it: job-finalize
      } else if (AUTOMATIC.has(event.type)) {
        return { dropped: `${event.type} where the service does not send it` };
      } else if (INSTRUCTION[event.type] && !working(snapshot)) {
        return { dropped: `a work report in ${status} after the work ended` };
      }
      send(event);
    }
    // The service plays the automatic tail of a path that stops where an event is due.
    for (let next = due(modelState(job.getSnapshot()), out[out.length - 1]); next; ) {
      send(next);
      next = due(modelState(job.getSnapshot()), out[out.length - 1]);
    }
  } finally {
    job.stop();
  }
  return { path: { source, events: out, steps: stepsOf(out), features } };
}

interface Selection {
  /** Paths of each source, and why the others were dropped. */
  sources: Array<{ name: string; paths: number; kept: number; dropped: Map<string, number> }>;
  /** How many distinct live paths (after the automatic tails and job-finalize were made explicit). */
  unique: number;
  /** The distinct live paths no other one begins with. */
  maximal: LivePath[];
  chosen: LivePath[];
}

function selectPaths(): Selection {
  const runs: Array<{ name: string; paths: ModelPath[] }> = [
    { name: 'main', paths: jobModel({}).paths },
    { name: 'live', paths: jobModel({ filter: liveFilter }).paths },
  ];
  const unique = new Map<string, LivePath>();
  const sources: Selection['sources'] = [];
  for (const run of runs) {
    const dropped = new Map<string, number>();
    let kept = 0;
    run.paths.forEach((p, i) => {
      const r = realise(`${run.name}#${i}`, p.events);
      if ('dropped' in r) {
        dropped.set(r.dropped, (dropped.get(r.dropped) ?? 0) + 1);
        return;
      }
      kept++;
      const key = JSON.stringify(r.path.events);
      if (!unique.has(key)) unique.set(key, r.path);
    });
    sources.push({ name: run.name, paths: run.paths.length, kept, dropped });
  }
  // A path that another one begins with is replayed, step by step, as part of that one.
  const keys = [...unique.keys()];
  const longer = (key: string) => keys.some((k) => k.length > key.length && k.startsWith(`${key.slice(0, -1)},`));
  const all = keys.filter((k) => !longer(k)).map((k) => unique.get(k)!);
  return { sources, unique: unique.size, maximal: all, chosen: choose(all, MAX_PATHS) };
}

/**
 * At most `cap` paths, deterministically: first, greedily, paths that cover every coverage
 * item (status, transition, status × verb variant) — the one adding most new items, the
 * shorter on a tie — even if that takes more than `cap`; then others, evenly spread.
 */
function choose(paths: readonly LivePath[], cap: number): LivePath[] {
  if (paths.length <= cap) return [...paths];
  const chosen = new Set<LivePath>();
  const uncovered = new Set(paths.flatMap((p) => [...p.features]));
  while (uncovered.size > 0) {
    let best: LivePath | undefined;
    let gain = 0;
    for (const p of paths) {
      const g = [...p.features].filter((f) => uncovered.has(f)).length;
      if (g > gain || (g === gain && g > 0 && best && p.steps.length < best.steps.length)) [best, gain] = [p, g];
    }
    if (!best) break;
    chosen.add(best);
    for (const f of best.features) uncovered.delete(f);
  }
  const rest = paths.filter((p) => !chosen.has(p));
  const room = cap - chosen.size;
  for (let i = 0; i < room && rest.length > 0; i++) chosen.add(rest[Math.floor((i * rest.length) / room)]!);
  return paths.filter((p) => chosen.has(p));
}

// ─── the live replay ────────────────────────────────────────────────────────────────────

interface Coverage {
  paths: number;
  /** Commands and instructions sent (job-start, verbs, handler instructions). */
  steps: number;
  /** Model events they stand for (automatic ones included). */
  events: number;
  statuses: Set<JobStatus>;
  transitions: Set<string>;
  /** `status>verb` → how each was answered. */
  pairs: Map<string, { accepted: number; refused: number; notFound: number; variants: Set<string> }>;
}

const newCoverage = (): Coverage => ({
  paths: 0,
  steps: 0,
  events: 0,
  statuses: new Set(),
  transitions: new Set(),
  pairs: new Map(),
});

type Refusal = Extract<JobEmitted, { type: 'verb.refused' }>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The job as query-jobs lists it, or undefined once it is gone. */
async function queried(client: JobsClient, id: string): Promise<JobInfo | undefined> {
  return (await client.query({})).find((info) => info.id === id);
}

/** Send a verb over NATS; the error reply if it is refused. */
async function sendVerb(client: JobsClient, id: string, event: ModelEvent): Promise<JobsError | undefined> {
  try {
    switch (event.type) {
      case 'cancel':
        await client.cancel(id, event.force === undefined ? {} : { force: event.force });
        break;
      case 'set-speed':
        await client.setSpeed(id, event.speed);
        break;
      case 'pause':
        await client.pause(id);
        break;
      case 'resume':
        await client.resume(id);
        break;
      case 'complete':
        await client.complete(id);
        break;
      case 'finalize':
        await client.finalize(id);
        break;
      case 'dismiss':
        await client.dismiss(id);
        break;
      default:
        throw new Error(`not a verb: ${event.type}`);
    }
    return undefined;
  } catch (err) {
    if (err instanceof JobsError) return err;
    throw err;
  }
}

/** Take a job out of the way after its path: cancel it, let its handler end, dismiss it. */
async function dispose(client: JobsClient, id: string, script: Script): Promise<void> {
  await sendVerb(client, id, { type: 'cancel', force: true });
  script.give('fail');
  for (let i = 0; i < 400; i++) {
    const info = await queried(client, id);
    if (!info) return;
    if (info.status === JobStatus.concluded) await sendVerb(client, id, { type: 'dismiss' });
    else await sleep(5);
  }
}

class Replayer {
  constructor(
    readonly coverage: Coverage,
    readonly prefix: string,
  ) {}

  /** Replay one path on a fresh live job `id` of `client`'s user; throws on the first difference. */
  async replay(path: LivePath, client: JobsClient, id: string): Promise<void> {
    const input: JobInput = { ...MODEL_INPUT, id, owner: client.user, type: JOB_TYPE };
    const twin = createActor(twinLogic, { input });
    const emitted: JobEmitted[] = [];
    twin.on('*', (e) => void emitted.push(e));
    twin.start();

    const script = new Script();
    scripts.set(id, script);
    const published: JobStatus[] = [];
    const sub = client.nc.subscribe(`${this.prefix}.evt.${client.user}.${id}.${JobEventName.statusChange}`, {
      callback: (err, msg) => {
        if (!err) published.push(msg.json<{ data: { status: JobStatus } }>().data.status);
      },
    });
    await client.nc.flush();

    const expected: JobStatus[] = [];
    let current = 0;
    try {
      for (const [i, step] of path.steps.entries()) {
        current = i;
        // What the model says.
        const before = statusOf(twin.getSnapshot());
        emitted.length = 0;
        for (const event of step.events) twin.send(event as JobMachineEvent);
        const after = twin.getSnapshot();
        assert.equal(after.status, 'active', `the model's actor is ${after.status}`);
        const status = statusOf(after);
        for (const e of emitted) if (e.type === JobEventName.statusChange) expected.push(e.data.status);
        const refusals = emitted.filter((e): e is Refusal => e.type === 'verb.refused');

        // What the service does.
        const event = step.events[0]!;
        this.coverage.steps++;
        this.coverage.events += step.events.length;
        if (step.kind === 'start') {
          await client.start(JOB_TYPE, { id, 'auto-finalize': false, 'auto-dismiss': false });
        } else if (step.kind === 'work') {
          script.give(INSTRUCTION[event.type]!);
        } else {
          const error = await sendVerb(client, id, event);
          this.#checkVerb(event, before, refusals, error);
        }

        // Settled: the status query-jobs gives and the events published for the job.
        const deadline = performance.now() + SETTLE_MS;
        let info = await queried(client, id);
        const settled = () => published.length >= expected.length && (info?.status ?? JobStatus.null) === status;
        while (!settled() && performance.now() < deadline) {
          await sleep(3);
          info = await queried(client, id);
        }
        assert.deepEqual(published, expected, 'the JOB_STATUS_CHANGE events published differ from the model');
        assert.equal(info?.status ?? JobStatus.null, status, 'query-jobs reports another status than the model');
        if (status === JobStatus.null) assert.equal(info, undefined, 'a null job is still listed');
        else assert.equal(info?.error, after.context.error, "query-jobs' error differs from the model");
      }
      // Nothing more happens by itself after the last step.
      await sleep(20);
      const info = await queried(client, id);
      assert.deepEqual(published, expected, 'more JOB_STATUS_CHANGE events came after the last step');
      assert.equal(info?.status ?? JobStatus.null, statusOf(twin.getSnapshot()), 'the job moved on after the last step');
    } catch (err) {
      const trail = path.steps
        .map((s, j) => {
          const text = s.kind === 'start' ? 'job-start' : describeEvent(s.events[0]!);
          return j === current ? `[${text}]` : text;
        })
        .join(' → ');
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${path.source} step ${current + 1}: ${message}\n    path: ${trail}`, { cause: err });
    } finally {
      sub.unsubscribe();
      twin.stop();
      await dispose(client, id, script).catch(() => undefined);
      scripts.delete(id);
    }

    this.coverage.paths++;
    let previous: JobStatus = JobStatus.undefined;
    for (const s of published) {
      this.coverage.statuses.add(s);
      this.coverage.transitions.add(`${previous}>${s}`);
      previous = s;
    }
  }

  /** A verb is refused exactly when the model refuses it, with the model's text and the right code. */
  #checkVerb(event: ModelEvent, before: JobStatus, refusals: Refusal[], error: JobsError | undefined): void {
    const verb = verbOf(event)!;
    const key = `${before}>${verb}`;
    const pair = this.coverage.pairs.get(key) ?? { accepted: 0, refused: 0, notFound: 0, variants: new Set<string>() };
    this.coverage.pairs.set(key, pair);
    pair.variants.add(variantOf(event));
    assert.ok(refusals.length <= 1, `the model refused ${refusals.length} times`);
    const refusal = refusals[0];
    const what = describeEvent(event);
    if (before === JobStatus.null) {
      // The model's null job refuses with the verb table's text; the service has forgotten the job.
      assert.ok(refusal, `the model accepts ${what} in null`);
      assert.ok(error, `${what} of a dismissed job was accepted`);
      assert.deepEqual({ code: error.code, message: error.message }, { code: 404, message: 'Job not found' });
      pair.notFound++;
    } else if (refusal) {
      assert.ok(error, `${what} in ${before} was accepted, the model refuses it: ${refusal.message}`);
      const code = refusal.reason === RefusalReason.negativeSpeed ? 400 : 409;
      assert.deepEqual(
        { code: error.code, message: error.message },
        { code, message: refusal.message },
        `${what} in ${before}: another refusal than the model's`,
      );
      pair.refused++;
    } else {
      assert.equal(error, undefined, `${what} in ${before} was refused (${error?.code} ${error?.message}); the model accepts it`);
      pair.accepted++;
    }
  }
}

// ─── the report ─────────────────────────────────────────────────────────────────────────

/** Statuses no verb can reach over NATS, and why. */
const UNREACHABLE: Partial<Record<JobStatus, string>> = {
  [JobStatus.undefined]: 'a job does not exist before job-start',
  [JobStatus.created]: 'job-start creates and starts a job in one command',
  [JobStatus.waiting]: 'a transaction of one sends txn.pending as soon as its only member waits',
};

/** QEMU transitions a job alone on the live service never takes, and why. */
const NEVER_OVER_NATS: Record<string, string> = {
  'created>aborting': 'no cancel can come before start (job-start does both)',
  'created>null': 'never by design (see test/machines/job-model.test.ts)',
  'aborting>aborting': 'never by design (QEMU announces no change to the same status)',
  'waiting>aborting': 'a job alone leaves waiting at once; only another member of a grouped transaction could abort it there',
};

const pairKey = (status: JobStatus, verb: JobVerb) => `${status}>${verb}`;
const TABLE_TRANSITIONS = JOB_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}>${to}`));

function report(
  selection: Selection,
  coverage: Coverage,
  failures: readonly string[],
  ms: { select: number; replay: number },
): string {
  const lines: string[] = ['── job model replayed over NATS ──'];
  for (const s of selection.sources) {
    const dropped = [...s.dropped].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} ${why}`);
    lines.push(`  ${s.name} model: ${s.paths} paths, ${s.kept} realisable; dropped: ${dropped.join('; ') || 'none'}`);
  }
  const liveSteps = (paths: readonly LivePath[]) => paths.reduce((n, p) => n + p.steps.length, 0);
  lines.push(
    `  distinct live paths: ${selection.unique}, of which ${selection.maximal.length} no other one begins with` +
      ` (${liveSteps(selection.maximal)} steps); replayed: ${selection.chosen.length}` +
      ` (${selection.chosen.length < selection.maximal.length ? `chosen, cap ${MAX_PATHS}` : 'all'});` +
      ` generated and chosen in ${ms.select.toFixed(0)} ms`,
    `  replayed over NATS: ${coverage.paths} paths passed, ${failures.length} failed;` +
      ` ${coverage.steps} steps (commands and handler instructions)` +
      ` standing for ${coverage.events} model events, ${CONCURRENCY} at a time, in ${ms.replay.toFixed(0)} ms`,
  );
  const statuses = JOB_STATUSES.filter((s) => coverage.statuses.has(s));
  lines.push(
    `  statuses published: ${statuses.length}/${JOB_STATUSES.length} (${statuses.join(', ')})` +
      JOB_STATUSES.filter((s) => !coverage.statuses.has(s))
        .map((s) => `; never ${s}: ${UNREACHABLE[s] ?? 'NOT REACHED'}`)
        .join(''),
  );
  const taken = TABLE_TRANSITIONS.filter((t) => coverage.transitions.has(t));
  lines.push(`  QEMU transitions published: ${taken.length}/${TABLE_TRANSITIONS.length}`);
  for (const t of TABLE_TRANSITIONS.filter((t) => !coverage.transitions.has(t))) {
    lines.push(`    never ${t.replace('>', ' → ')}: ${NEVER_OVER_NATS[t] ?? 'NOT REACHED'}`);
  }
  const all = JOB_STATUSES.flatMap((s) => JOB_VERBS.map((v) => pairKey(s, v)));
  const reachable = all.filter((p) => !(p.split('>')[0]! in UNREACHABLE));
  const tried = all.filter((p) => coverage.pairs.has(p));
  lines.push(
    `  verb × status pairs tried: ${tried.length}/${all.length}; over NATS at most ${reachable.length}` +
      ` (never in ${Object.keys(UNREACHABLE).join(', ')}: ${JOB_VERBS.length} verbs each)`,
  );
  for (const p of reachable.filter((p) => !coverage.pairs.has(p))) lines.push(`    NOT TRIED: ${p.replace('>', ' × ')}`);
  const variants = [...coverage.pairs.values()].reduce((n, p) => n + p.variants.size, 0);
  lines.push(
    `  with the verb variants (cancel force/soft, set-speed ≥0/<0): ${variants}/${reachable.length + 2 * 8} tried`,
    '  accepted/refused(409 or 400)/not-found(404) per status (rows) and verb (columns):',
  );
  const width = 11;
  lines.push(`    ${''.padEnd(width)}${JOB_VERBS.map((v) => v.padStart(width)).join('')}`);
  for (const s of JOB_STATUSES) {
    const cells = JOB_VERBS.map((v) => {
      const pair = coverage.pairs.get(pairKey(s, v));
      if (!pair) return (s in UNREACHABLE ? '·' : '—').padStart(width);
      return (s === JobStatus.null ? `404×${pair.notFound}` : `${pair.accepted}/${pair.refused}`).padStart(width);
    });
    lines.push(`    ${s.padEnd(width)}${cells.join('')}`);
  }
  lines.push(`    (· impossible over NATS: ${Object.entries(UNREACHABLE).map(([s, why]) => `${s}: ${why}`).join('; ')})`);
  return lines.join('\n');
}

// ─── the test ───────────────────────────────────────────────────────────────────────────

describe('the job model, replayed against the live service over NATS', () => {
  let stack: Stack;
  let clients: JobsClient[];

  before(async () => {
    stack = await startStack({ types: (dataDir) => builtinTypes(dataDir).register(scripted) });
    clients = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => stack.client(`mr${i}`)));
  });
  after(() => stack.close());

  test('every realisable path: statuses, published status changes and verb replies as the model predicts', async () => {
    const t0 = performance.now();
    const selection = selectPaths();
    const t1 = performance.now();
    const coverage = newCoverage();
    const replayer = new Replayer(coverage, stack.prefix);
    const failures: string[] = [];
    let next = 0;
    await Promise.all(
      clients.map(async (client) => {
        for (let i = next++; i < selection.chosen.length; i = next++) {
          const id = `mr${String(i).padStart(4, '0')}`;
          try {
            await replayer.replay(selection.chosen[i]!, client, id);
          } catch (err) {
            failures.push(err instanceof Error ? err.message : String(err));
          }
        }
      }),
    );
    const ms = { select: t1 - t0, replay: performance.now() - t1 };
    console.log(report(selection, coverage, failures, ms));

    assert.equal(
      failures.length,
      0,
      `${failures.length} path(s) failed; the first ones:\n${failures.sort().slice(0, 12).join('\n')}`,
    );
    assert.equal(stack.service.jobs.size, 0, 'every job was cancelled or dismissed after its path');

    // Coverage: everything the live service can be brought to.
    const missingStatuses = JOB_STATUSES.filter((s) => s !== JobStatus.undefined && !coverage.statuses.has(s));
    assert.deepEqual(missingStatuses, [], 'every status but undefined is published');
    const untried = JOB_STATUSES.filter((s) => !(s in UNREACHABLE))
      .flatMap((s) => JOB_VERBS.map((v) => pairKey(s, v)))
      .filter((p) => !coverage.pairs.has(p));
    assert.deepEqual(untried, [], 'every verb is tried in every status a job can rest in over NATS');
    const notTaken = TABLE_TRANSITIONS.filter((t) => !coverage.transitions.has(t) && !(t in NEVER_OVER_NATS));
    assert.deepEqual(notTaken, [], "every QEMU transition is published, but those a job alone can't take");
  });
});
