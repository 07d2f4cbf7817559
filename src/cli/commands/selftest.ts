/**
 * `jobctl selftest`: every wire path generated from the statecharts (`jobstate/testing`),
 * replayed against the deployment jobctl points at, as its user, under an id prefix of its
 * own; prints the coverage and `N passed, M failed`, exits 1 on any mismatch.
 */
import { randomBytes } from 'node:crypto';
// The paths and their replay (xstate, the statecharts) are loaded only when selftest runs: every other jobctl command starts without them.
import { TEST_TYPE_PROFILE } from '../../testing/profile.js';
import type { JobTypeProfile } from '../../testing/profile.js';
import type { PathResult, ReplayOptions, WirePath } from '../../testing/index.js';
import type { JobsClient } from '../../sdk/index.js';
import { parseInteger, parseJsonObject } from '../args.js';
import type { CliCommand } from '../command.js';
import { CliError, ExitCode } from '../errors.js';
import { printJson } from '../output.js';

const ID_PREFIX_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PROFILE_KEYS = ['done', 'hold', 'ready', 'fail', 'fail-error'] as const;

/** The profile of `--type` from `--params`: `{"done": {...}, "hold": {...}, "ready"?: {...}, "fail"?: {...}, "fail-error"?: "..."}`. */
export function profileOf(type: string, params: Record<string, unknown> | undefined): JobTypeProfile {
  if (params === undefined) {
    if (type === TEST_TYPE_PROFILE.type) return TEST_TYPE_PROFILE;
    throw new CliError(`--type ${type} needs --params '{"done": {...}, "hold": {...}}' (see docs/model-testing.md)`, ExitCode.usage);
  }
  const unknown = Object.keys(params).filter((k) => !(PROFILE_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new CliError(`--params: unknown key '${unknown[0]}' (expected ${PROFILE_KEYS.join(', ')})`, ExitCode.usage);
  const object = (key: string, required: boolean): Record<string, unknown> | undefined => {
    const value = params[key];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CliError(`--params: '${key}' must be the job-start params (a JSON object) of a ${key} run`, ExitCode.usage);
    }
    return value as Record<string, unknown>;
  };
  const failError = params['fail-error'];
  if (failError !== undefined && typeof failError !== 'string') throw new CliError("--params: 'fail-error' must be a string", ExitCode.usage);
  const ready = object('ready', false);
  const fail = object('fail', false);
  return {
    type,
    done: object('done', true)!,
    hold: object('hold', true)!,
    ...(ready && { ready }),
    ...(fail && { fail }),
    ...(failError !== undefined && { failError }),
  };
}

export const selftest: CliCommand = {
  name: 'selftest',
  summary: "replay the statechart's paths against this deployment: every status, every verb in each",
  usage: 'jobctl selftest [--type T --params JSON] [--id-prefix P] [--concurrency N] [--settle-ms MS] [--no-transactions] [--json]',
  positionals: [0, 0],
  options: {
    type: { type: 'string' },
    params: { type: 'string' },
    'id-prefix': { type: 'string' },
    concurrency: { type: 'string' },
    'settle-ms': { type: 'string' },
    'no-transactions': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  optionHelp: [
    ['--type T', 'the job type to drive (default: the built-in test)'],
    ['--params JSON', 'how to run it: {"done": {...}, "hold": {...}, "ready": {...}, "fail": {...}, "fail-error": "..."}'],
    ['--id-prefix P', 'the ids of its jobs start with this (default: selftest-<random>-)'],
    ['--concurrency N', 'paths replayed at once (default: 8)'],
    ['--settle-ms MS', "how long a step's events may take to come (default: 5000)"],
    ['--no-transactions', 'only jobs alone, no grouped transactions'],
    ['--json', 'the coverage, the summary and every mismatch as one JSON object'],
  ],
  details: [
    'Every path is generated from the exported statecharts with xstate/graph and replayed',
    'over NATS as the user jobctl acts as: each command, its reply (QEMU\'s refusal texts)',
    'and the events published, in order. Each mismatch names the path, the step, what was',
    'expected and what came. Every job it started is cancelled and dismissed. Exit 1 if',
    'any path failed. The --params of a custom type: docs/model-testing.md.',
  ].join('\n'),
  examples: [
    'jobctl selftest',
    'jobctl selftest --json',
    `jobctl selftest --type count --params '{"done": {"to": 1}, "hold": {"to": 1000000}}'`,
  ],
  async run(ctx) {
    const type = ctx.str('type') ?? TEST_TYPE_PROFILE.type;
    const params = ctx.str('params');
    const profile = profileOf(type, params === undefined ? undefined : parseJsonObject(params, '--params'));
    const idPrefix = ctx.str('id-prefix') ?? `selftest-${randomBytes(3).toString('hex')}-`;
    if (!ID_PREFIX_RE.test(idPrefix)) throw new CliError(`--id-prefix must start with a letter, then letters, digits, - or _; not '${idPrefix}'`, ExitCode.usage);
    const concurrency = parseInteger(ctx.str('concurrency') ?? '8', '--concurrency', 1);
    const settleMs = parseInteger(ctx.str('settle-ms') ?? '5000', '--settle-ms', 1);

    const { coverageOf, formatCoverage, generatePaths, replayPaths } = await import('../../testing/index.js');
    const t0 = performance.now();
    const paths = generatePaths({ profile, idPrefix, transactions: ctx.opts['no-transactions'] !== true });
    const client = await ctx.client();
    await client.query({}); // reachable, and allowed, before anything is started
    const first = await startEachRun(client, paths, { settleMs });
    const rest = await replayPaths(client, paths.filter((p) => !first.has(p)), { concurrency, settleMs });
    const results = paths.map((p) => first.get(p) ?? rest.shift()!);
    const coverage = coverageOf(results);
    const mismatches = results.flatMap((r) => (r.mismatch ? [r.mismatch] : []));
    const ms = performance.now() - t0;
    if (ctx.opts.json) {
      printJson(ctx.io, { ok: mismatches.length === 0, type, idPrefix, ms: Math.round(ms), coverage, mismatches });
    } else {
      for (const m of mismatches) ctx.io.out.write(`FAIL ${m.message}\n`);
      ctx.io.out.write(`${formatCoverage(coverage, ms)}\n`);
    }
    return mismatches.length === 0 ? ExitCode.ok : ExitCode.failed;
  },
};

/**
 * One path of each work behaviour first, alone: a run the service will not start (unknown
 * type, bad params) is a usage error named once, not a failure of every path.
 */
async function startEachRun(client: JobsClient, paths: readonly WirePath[], options: ReplayOptions): Promise<Map<WirePath, PathResult>> {
  const { replayPath } = await import('../../testing/index.js');
  const done = new Map<WirePath, PathResult>();
  for (const path of paths) {
    if (path.grouped || paths.some((p) => done.has(p) && p.behaviours[0] === path.behaviours[0])) continue;
    const result = await replayPath(client, path, options);
    const m = result.mismatch;
    if (m && m.step === 1 && m.what === 'reply') {
      throw new CliError(`the ${path.behaviours[0]} run of '${path.steps[0]!.args.type}' was not started: ${String(m.got)} (job-start ${JSON.stringify(m.args)})`, ExitCode.usage);
    }
    done.set(path, result);
  }
  return done;
}
