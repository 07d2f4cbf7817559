/**
 * Model-based tests of the job statechart: paths generated from the machine by `xstate/graph`
 * (see `src/testing/job-model.ts`) are replayed on real job actors, and every step is checked
 * against QEMU's two tables written out as plain data (`src/testing/qemu-tables.ts`), never
 * against the machine itself:
 * - every status change is allowed by QEMU's transition table, from the status before;
 * - a verb the verb table refuses is refused with QEMU's text and changes nothing (a resume
 *   without a user pause is refused first, in every status, with its own text);
 * - a verb the table accepts is either done or refused by one of the later checks, and then
 *   changes nothing.
 * The run prints what it covered: statuses, QEMU transitions, verb × status pairs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor } from 'xstate';
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
import { TRANSITIONS, VERBS_ACCEPTED } from '../../src/testing/qemu-tables.js';
import { describeEvent, jobModel, modelMachine, modelState, verbOf } from '../../src/testing/job-model.js';
import type { JobModel, JobModelOptions, ModelEvent, ModelPath } from '../../src/testing/job-model.js';

/** The refusals that may follow a ✔ of the verb table. */
const LATER_CHECKS: readonly RefusalReason[] = [
  RefusalReason.alreadyPaused,
  RefusalReason.notPaused,
  RefusalReason.cannotComplete,
  RefusalReason.paused,
  RefusalReason.negativeSpeed,
];

/** The job under test: the real machine; its `prepare` step never ends by itself, the path ends it. */
const sut = modelMachine;

type Refusal = Extract<JobEmitted, { type: 'verb.refused' }>;

interface Coverage {
  /** Statuses a job rested in or passed through. */
  statuses: Set<JobStatus>;
  /** Status changes `from>to`, as emitted. */
  transitions: Set<string>;
  /** `status>verb` pairs tried, with how often they were done or refused. */
  pairs: Map<string, { accepted: number; refused: number }>;
  refusals: Map<RefusalReason, number>;
  accepted: number;
  paths: number;
  steps: number;
}

function newCoverage(): Coverage {
  return {
    statuses: new Set(),
    transitions: new Set(),
    pairs: new Map(),
    refusals: new Map(),
    accepted: 0,
    paths: 0,
    steps: 0,
  };
}

const pairKey = (status: JobStatus, verb: JobVerb) => `${status}>${verb}`;

/** Snapshot parts a refused verb must leave alone. */
const observable = (s: JobSnapshot) => ({ value: s.value, context: s.context });

/** Check one step against QEMU's tables; throws an AssertionError on the first violation. */
function checkStep(
  event: ModelEvent,
  before: JobSnapshot,
  after: JobSnapshot,
  emitted: readonly JobEmitted[],
  input: JobInput,
  coverage: Coverage,
): void {
  const from = statusOf(before);
  const to = statusOf(after);

  // Every status change is in QEMU's transition table, each from the one before it.
  let status = from;
  for (const e of emitted) {
    if (e.type !== JobEventName.statusChange) continue;
    const next = e.data.status;
    assert.ok(TRANSITIONS[status].includes(next), `transition ${status} → ${next} is not in QEMU's table`);
    coverage.transitions.add(`${status}>${next}`);
    coverage.statuses.add(next);
    status = next;
  }
  assert.equal(to, status, `the job is in '${to}' but its last announced status is '${status}'`);
  coverage.statuses.add(to);

  const refusals = emitted.filter((e): e is Refusal => e.type === 'verb.refused');
  const verb = verbOf(event);
  if (verb === undefined) {
    assert.equal(refusals.length, 0, `'${event.type}' is not a verb but was refused`);
    return;
  }

  const pair = coverage.pairs.get(pairKey(from, verb)) ?? { accepted: 0, refused: 0 };
  coverage.pairs.set(pairKey(from, verb), pair);
  assert.ok(refusals.length <= 1, `refused ${refusals.length} times`);
  const refusal = refusals[0];
  if (refusal) {
    pair.refused++;
    coverage.refusals.set(refusal.reason, (coverage.refusals.get(refusal.reason) ?? 0) + 1);
    assert.equal(refusal.verb, verb, 'the refusal names another verb');
    assert.equal(refusal.status, from, 'the refusal names another status');
    assert.deepEqual(observable(after), observable(before), `the refused verb changed the job (${refusal.reason})`);
  } else {
    pair.accepted++;
    coverage.accepted++;
  }

  if (verb === JobVerb.resume && !before.context.userPaused) {
    // Checked before the verb table (QEMU's job_user_resume), so in every status.
    assert.equal(refusal?.reason, RefusalReason.notPaused, 'resume without a user pause must be refused as not-paused');
    assert.equal(refusal.message, "Can't resume a job that was not paused", "QEMU's text for a resume without pause");
  } else if (!VERBS_ACCEPTED[from].includes(verb)) {
    assert.equal(refusal?.reason, RefusalReason.state, `QEMU's verb table refuses '${verb}' in '${from}'`);
    assert.equal(
      refusal.message,
      `Job '${input.id}' in state '${from}' cannot accept command verb '${verb}'`,
      "QEMU's text for a verb its table refuses",
    );
  } else if (refusal) {
    assert.ok(
      LATER_CHECKS.includes(refusal.reason),
      `'${verb}' passes QEMU's verb table in '${from}' but was refused for '${refusal.reason}'`,
    );
  }
}

/** Replay one path on a fresh job actor, checking every step. */
function replay(path: ModelPath, input: JobInput, coverage: Coverage): void {
  const emitted: JobEmitted[] = [];
  const errors: unknown[] = [];
  const job = createActor(sut, { input });
  job.on('*', (e) => void emitted.push(e));
  job.subscribe({ error: (err) => void errors.push(err) });
  job.start();
  coverage.statuses.add(statusOf(job.getSnapshot()));
  try {
    path.events.forEach((event, i) => {
      const before = job.getSnapshot();
      emitted.length = 0;
      job.send(event as JobMachineEvent);
      const after = job.getSnapshot();
      coverage.steps++;
      try {
        assert.equal(after.status, 'active', `the actor is ${after.status}: ${String(errors[0] ?? after.error)}`);
        checkStep(event, before, after, emitted, input, coverage);
        assert.equal(statusOf(after), path.statuses[i], "the job's status differs from the model's");
        assert.equal(modelState(after), path.states[i], "the job's state differs from the model's");
      } catch (err) {
        const trail = path.events.map((e, j) => (j === i ? `[${describeEvent(e)}]` : describeEvent(e))).join(' → ');
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(`step ${i + 1} in '${statusOf(before)}': ${message}\n    path: ${trail}`, { cause: err });
      }
    });
  } finally {
    job.stop();
  }
  coverage.paths++;
}

/** Replay every path; return the failures (one per failing path) rather than stop at the first. */
function replayAll(model: JobModel, coverage: Coverage): string[] {
  const failures: string[] = [];
  for (const path of model.paths) {
    try {
      replay(path, model.input, coverage);
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
  }
  return failures;
}

function assertNoFailures(failures: readonly string[]): void {
  assert.equal(
    failures.length,
    0,
    `${failures.length} path(s) failed; the first ones:\n${failures.slice(0, 12).join('\n')}`,
  );
}

/** Every transition of QEMU's table, as `from>to`. */
const TABLE_TRANSITIONS = JOB_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}>${to}`));

/** Why a transition of QEMU's table can never be seen here. */
const NEVER_BY_DESIGN: Record<string, string> = {
  'aborting>aborting':
    'the machine enters aborting once; QEMU allows it only as a silent no-op (job_state_transition sends no JOB_STATUS_CHANGE when the status does not change)',
  'created>null': 'semantics.md sends a job cancelled before it started through aborting → concluded (→ null)',
};

function report(title: string, { model, coverage, generateMs, replayMs }: Run): string {
  const statuses = JOB_STATUSES.filter((s) => coverage.statuses.has(s));
  const missingStatuses = JOB_STATUSES.filter((s) => !coverage.statuses.has(s));
  const taken = TABLE_TRANSITIONS.filter((t) => coverage.transitions.has(t));
  const notTaken = TABLE_TRANSITIONS.filter((t) => !coverage.transitions.has(t));
  const arrow = (t: string) => t.replace('>', ' → ');
  const refused = [...coverage.refusals.values()].reduce((a, b) => a + b, 0);
  const byReason = [...coverage.refusals].map(([reason, n]) => `${reason} ${n}`).join(', ');

  const width = 10;
  const header = `    ${''.padEnd(width)}${JOB_VERBS.map((v) => v.padStart(width)).join('')}`;
  const rows = JOB_STATUSES.map((s) => {
    const cells = JOB_VERBS.map((v) => {
      const pair = coverage.pairs.get(pairKey(s, v));
      return (pair ? `${pair.accepted}/${pair.refused}` : '—').padStart(width);
    });
    return `    ${s.padEnd(width)}${cells.join('')}`;
  });

  return [
    `── job model coverage: ${title} ──`,
    `  model: ${model.states} abstract states, ${model.transitions} (state, event) pairs, ${model.paths.length} paths (generated in ${generateMs.toFixed(0)} ms)`,
    `  replayed: ${coverage.paths} paths, ${coverage.steps} steps on fresh job actors in ${replayMs.toFixed(0)} ms`,
    `  statuses reached: ${statuses.length}/${JOB_STATUSES.length} (${statuses.join(', ')})` +
      (missingStatuses.length ? `; never: ${missingStatuses.join(', ')}` : ''),
    `  QEMU transitions taken: ${taken.length}/${TABLE_TRANSITIONS.length}`,
    ...notTaken.map((t) => `    never ${arrow(t)}${NEVER_BY_DESIGN[t] ? ` — impossible by design: ${NEVER_BY_DESIGN[t]}` : ''}`),
    `  verb × status pairs tried: ${coverage.pairs.size}/${JOB_VERBS.length * JOB_STATUSES.length}`,
    `  verb steps: ${coverage.accepted} done, ${refused} refused (${byReason})`,
    `  done/refused per status (rows) and verb (columns):`,
    header,
    ...rows,
  ].join('\n');
}

interface Run {
  model: JobModel;
  coverage: Coverage;
  failures: string[];
  generateMs: number;
  replayMs: number;
}

function run(options: JobModelOptions): Run {
  const t0 = performance.now();
  const model = jobModel(options);
  const t1 = performance.now();
  const coverage = newCoverage();
  const failures = replayAll(model, coverage);
  return { model, coverage, failures, generateMs: t1 - t0, replayMs: performance.now() - t1 };
}

describe('job statechart, model-based', () => {
  test('every status and every verb in every status, with auto-finalize and auto-dismiss off', () => {
    const result = run({});
    const { coverage, failures } = result;
    console.log(report('autoFinalize false, autoDismiss false', result));
    assertNoFailures(failures);

    assert.deepEqual([...coverage.statuses].sort(), [...JOB_STATUSES].sort(), 'every status is reached');
    const untried = JOB_STATUSES.flatMap((s) => JOB_VERBS.map((v) => pairKey(s, v))).filter((p) => !coverage.pairs.has(p));
    assert.deepEqual(untried, [], 'every verb is tried in every status');
    const impossible = TABLE_TRANSITIONS.filter((t) => !coverage.transitions.has(t) && !(t in NEVER_BY_DESIGN));
    assert.deepEqual(impossible, [], 'every transition of the table is taken, but those impossible by design');
  });

  test('with the defaults (auto-finalize and auto-dismiss on), plausible events only', () => {
    // A smaller run: the flags only change pending and concluded, the first run explored the rest.
    const result = run({ input: { autoFinalize: true, autoDismiss: true }, plausibleOnly: true });
    const { coverage, failures } = result;
    console.log(report('defaults (autoFinalize true, autoDismiss true), plausible events only', result));
    assertNoFailures(failures);

    assert.deepEqual([...coverage.statuses].sort(), [...JOB_STATUSES].sort(), 'every status is reached');
    // A concluded job is dismissed at once, so no verb can reach it there.
    const untried = JOB_STATUSES.filter((s) => s !== JobStatus.concluded)
      .flatMap((s) => JOB_VERBS.map((v) => pairKey(s, v)))
      .filter((p) => !coverage.pairs.has(p));
    assert.deepEqual(untried, [], 'every verb is tried in every resting status');
  });

  test('the plausible paths (for replay against the service) still try every verb in every status', () => {
    const model = jobModel({ plausibleOnly: true });
    const statuses = new Set<JobStatus>([JobStatus.undefined]);
    const pairs = new Set<string>();
    for (const path of model.paths) {
      let before: JobStatus = JobStatus.undefined;
      path.events.forEach((event, i) => {
        const verb = verbOf(event);
        if (verb !== undefined) pairs.add(pairKey(before, verb));
        before = path.statuses[i] ?? before;
        statuses.add(before);
      });
    }
    console.log(
      `── plausible model: ${model.states} abstract states, ${model.transitions} (state, event) pairs, ${model.paths.length} paths; ` +
        `${statuses.size}/${JOB_STATUSES.length} statuses, ${pairs.size}/${JOB_VERBS.length * JOB_STATUSES.length} verb × status pairs`,
    );
    assert.equal(statuses.size, JOB_STATUSES.length);
    assert.equal(pairs.size, JOB_VERBS.length * JOB_STATUSES.length);
  });
});
