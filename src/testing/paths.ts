/**
 * Wire paths from the exported machines, with `xstate/graph`: every abstract state a client
 * can bring jobs to over NATS (a job alone of each work behaviour, with and without
 * auto-finalize/auto-dismiss, and grouped transactions of two), reached by its shortest path,
 * then every verb tried there. Each path is a list of {@link WireStep}s: the command, the
 * reply, the events.
 *
 * The graph is traversed over a logic whose state is the list of commands sent so far; its
 * abstract state is that of the {@link Twin} those commands lead to. Paths whose outcome a
 * live service could decide either way (two members' work reporting at once, with different
 * results) are left out.
 */
import { fromTransition } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';
import { VERB_EVENTS, describeEvent } from './job-model.js';
import { ANY_ERROR, Twin } from './twin.js';
import type { TwinSetup, WireCommand, WireStep } from './twin.js';
import { WorkBehaviour } from './work.js';
import { TEST_TYPE_PROFILE } from './profile.js';
import type { JobTypeProfile } from './profile.js';

export { TEST_TYPE_PROFILE } from './profile.js';
export type { JobTypeProfile } from './profile.js';

export interface PathOptions {
  /** @defaultValue {@link TEST_TYPE_PROFILE} */
  profile?: JobTypeProfile;
  /** Job ids are `<idPrefix><path number>` (`-<member>` for a transaction's). @defaultValue 'mt-' */
  idPrefix?: string;
  /** Also grouped transactions of two jobs. @defaultValue true */
  transactions?: boolean;
}

/** A path: commands from nothing, each with the reply and events it must get. */
export interface WirePath {
  /** `#12 hold: job-start → pause → cancel(force)` */
  name: string;
  /** The ids of its jobs (one, or a transaction's members). */
  jobs: string[];
  behaviours: WorkBehaviour[];
  grouped: boolean;
  steps: WireStep[];
}

type Commands = readonly WireCommand[];

/** The start commands the profile allows: each behaviour alone (with and without defaults), and pairs. */
export function startCommands(profile: JobTypeProfile, transactions = true): WireCommand[] {
  const behaviours: WorkBehaviour[] = [WorkBehaviour.done, WorkBehaviour.hold];
  if (profile.ready) behaviours.push(WorkBehaviour.ready);
  if (profile.fail) behaviours.push(WorkBehaviour.fail);
  const starts: WireCommand[] = behaviours.flatMap((b) => [
    { type: 'start' as const, behaviours: [b], grouped: false, defaults: false },
    { type: 'start' as const, behaviours: [b], grouped: false, defaults: true },
  ]);
  if (transactions) {
    const pairs: WorkBehaviour[][] = [
      [WorkBehaviour.hold, WorkBehaviour.hold],
      [WorkBehaviour.hold, WorkBehaviour.done],
      [WorkBehaviour.done, WorkBehaviour.done],
    ];
    if (profile.ready) pairs.push([WorkBehaviour.hold, WorkBehaviour.ready], [WorkBehaviour.ready, WorkBehaviour.done]);
    if (profile.fail) pairs.push([WorkBehaviour.hold, WorkBehaviour.fail]);
    for (const p of pairs) starts.push({ type: 'start', behaviours: p, grouped: true, defaults: false });
  }
  return starts;
}

function setupOf(profile: JobTypeProfile): TwinSetup {
  return {
    type: profile.type,
    params: (b) => {
      const params = profile[b];
      if (!params) throw new Error(`the profile of '${profile.type}' has no params for '${b}'`);
      return params;
    },
    error: profile.failError ?? ANY_ERROR,
  };
}

interface Simulated {
  key: string;
  steps: WireStep[];
  /** A live service could take this path either way. */
  racy: boolean;
}

/** The steps of `commands` on fresh twins (with both orders of simultaneous reports, for transactions). */
function simulate(commands: Commands, setup: TwinSetup, ids: (count: number) => string[]): Simulated {
  const [start, ...verbs] = commands;
  if (start?.type !== 'start') return { key: 'nothing', steps: [], racy: false };
  const run = (order: 'first' | 'last') => {
    const twin = new Twin(start, setup, ids(start.behaviours.length), order);
    try {
      const steps = [twin.begin()];
      for (const v of verbs) if (v.type === 'verb') steps.push(twin.verb(v.job, v.verb));
      return { key: twin.key(), steps };
    } finally {
      twin.stop();
    }
  };
  const first = run('first');
  if (!start.grouped) return { ...first, racy: false };
  const last = run('last');
  // Events of different jobs may interleave either way on the wire: compare each job's own.
  const perJob = (steps: WireStep[]) =>
    JSON.stringify(steps.map((s) => ({ ...s, events: [...s.events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) })));
  return { ...first, racy: first.key !== last.key || perJob(first.steps) !== perJob(last.steps) };
}

const describe = (command: WireCommand): string =>
  command.type === 'start'
    ? command.grouped
      ? 'transaction'
      : `job-start${command.defaults ? '' : '(manual)'}`
    : `${describeEvent(command.verb)}${command.job > 0 ? `@${command.job}` : ''}`;

/**
 * Generate the paths: every abstract state reached, every verb (and its variants: soft and
 * forced cancel, set-speed ≥ 0 and < 0) tried in every state, for every job. Verbs that leave
 * the state as it was (refusals, set-speed) are tried one after another on one path.
 */
export function generatePaths(options: PathOptions = {}): WirePath[] {
  const profile = options.profile ?? TEST_TYPE_PROFILE;
  const idPrefix = options.idPrefix ?? 'mt-';
  const setup = setupOf(profile);
  const starts = startCommands(profile, options.transactions ?? true);
  const modelIds = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);
  const memo = new Map<string, Simulated>();
  const sim = (commands: Commands) => {
    const k = JSON.stringify(commands);
    let s = memo.get(k);
    if (!s) memo.set(k, (s = simulate(commands, setup, modelIds)));
    return s;
  };

  const logic = fromTransition((commands: Commands, command: WireCommand) => [...commands, command], [] as Commands);
  const traversal = {
    events: (snapshot: { context: Commands }): WireCommand[] => {
      const [start] = snapshot.context;
      if (start?.type !== 'start') return starts;
      return start.behaviours.flatMap((_, job) => VERB_EVENTS.map((verb) => ({ type: 'verb' as const, job, verb })));
    },
    filterEvents: (snapshot: { context: Commands }, command: WireCommand) => !sim([...snapshot.context, command]).racy,
    serializeState: (snapshot: { context: Commands }) => sim(snapshot.context).key,
  };
  const adjacency = getAdjacencyMap(logic, traversal);
  const shortest = getShortestPaths(logic, traversal);

  // For every state: one path through every verb that leaves it as it was, one per other verb.
  const all: Commands[] = [];
  for (const path of shortest) {
    // The events of the path (its snapshot may hold a longer route to the same state); the first is `xstate.init`.
    const head = path.steps.map((s) => s.event).filter((e): e is WireCommand => e.type === 'start' || e.type === 'verb');
    const key = sim(head).key;
    const loops: WireCommand[] = [];
    for (const { event } of Object.values(adjacency[key as keyof typeof adjacency]?.transitions ?? {})) {
      if (sim([...head, event]).key === key) loops.push(event);
      else all.push([...head, event]);
    }
    if (head.length > 0) all.push([...head, ...loops]);
  }
  // A path that another one begins with is replayed as part of that one.
  const keys = [...new Set(all.map((c) => JSON.stringify(c)))];
  const kept = keys.filter((k) => !keys.some((o) => o.length > k.length && o.startsWith(`${k.slice(0, -1)},`)));
  kept.sort();

  return kept.map((k, n) => {
    const commands = JSON.parse(k) as WireCommand[];
    const start = commands[0] as Extract<WireCommand, { type: 'start' }>;
    const ids = (count: number) =>
      count === 1 && !start.grouped ? [`${idPrefix}${n}`] : Array.from({ length: count }, (_, i) => `${idPrefix}${n}-${i}`);
    const { steps } = simulate(commands, setup, ids);
    const what = `${start.grouped ? 'grouped ' : ''}${start.behaviours.join('+')}`;
    return {
      name: `#${n} ${what}: ${commands.map(describe).join(' → ')}`,
      jobs: ids(start.behaviours.length),
      behaviours: start.behaviours,
      grouped: start.grouped,
      steps,
    };
  });
}
