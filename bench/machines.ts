/**
 * `npm run bench:machines`: what a job costs in time and memory on the statecharts alone, no
 * NATS. Prints the figures against their targets, a trivial two-state xstate machine measured
 * in the same run as the floor, and where a job's time and memory go.
 */
import { cpus, loadavg } from 'node:os';
import {
  FLOOR_EVENTS,
  GROUP_SIZE,
  JOB_STEPS,
  jobSteps,
  persistedRunningJob,
  restingJob,
  restingToggle,
  runJobs,
  runningJob,
  runningJobInHub,
  stopInHub,
  runningTransaction,
  runToggles,
  runTransactions,
} from './drive.js';
import { bytesPerItem, costPerItem, fmt, median, table } from './measure.js';
import type { Cost } from './measure.js';

const ROUNDS = 5;
const JOBS_PER_ROUND = 20_000;
const JOBS_IN_FLIGHT = 10_000;
const RESTING_ACTORS = 20_000;
const MEMORY_SAMPLES = 3;
const TARGET_MICROS = 50;
const TARGET_BYTES = 4096;

const out = (text: string) => process.stdout.write(text);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

/** A timing row: median wall and CPU µs per job, jobs/s, the spread of rounds, and the verdict. */
function timeRow(measure: string, costs: Cost[], target?: number): string[] {
  const wall = median(costs.map((c) => c.wall));
  const cpu = median(costs.map((c) => c.cpu));
  const walls = costs.map((c) => c.wall);
  return [
    measure,
    `${fmt(wall)} µs`,
    `${fmt(cpu)} µs`,
    fmt(1e6 / wall, 0),
    `${fmt(Math.min(...walls))}–${fmt(Math.max(...walls))}`,
    target === undefined ? '' : `< ${target} µs`,
    target === undefined ? '' : wall < target ? 'PASS' : 'MISS',
  ];
}

function memoryRow(measure: string, make: (i: number) => unknown, target?: number, release?: (item: unknown) => void): string[] {
  const stop = (item: unknown) => {
    if (release) release(item);
    else if (typeof item === 'object' && item !== null && 'stop' in item && typeof item.stop === 'function') item.stop();
  };
  const samples = Array.from({ length: MEMORY_SAMPLES }, () => bytesPerItem(RESTING_ACTORS, make, stop));
  const bytes = median(samples);
  return [
    measure,
    `${fmt(bytes, 0)} B`,
    target === undefined ? '' : `≤ ${fmt(target, 0)} B`,
    target === undefined ? '' : bytes <= target ? 'PASS' : 'MISS',
  ];
}

async function main(): Promise<void> {
  const cpu = cpus();
  out(`node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? 'unknown cpu'}), load average ${load()}\n`);
  out(`time: median of ${ROUNDS} rounds after a warm-up round; memory: median of ${MEMORY_SAMPLES} samples of ${fmt(RESTING_ACTORS, 0)}\n\n`);

  let reached = 0;
  const jobs = await costPerItem(ROUNDS, JOBS_PER_ROUND, (n) => {
    reached = runJobs(n);
  });
  const transactions = await costPerItem(ROUNDS, JOBS_IN_FLIGHT, runTransactions);
  const floor = await costPerItem(ROUNDS, JOBS_PER_ROUND, (n) => runToggles(n, FLOOR_EVENTS));
  const floorBare = await costPerItem(ROUNDS, JOBS_PER_ROUND, (n) => runToggles(n, 0));

  out('Time per job\n');
  out(
    table([
      ['measure', 'wall/job', 'cpu/job', 'jobs/s', 'rounds (wall)', 'target', ''],
      timeRow(`(a) job alone, success path in-process, ${fmt(JOBS_PER_ROUND, 0)} per round`, jobs, TARGET_MICROS),
      timeRow(`(b) grouped transactions of ${GROUP_SIZE}, async prepare, ${fmt(JOBS_IN_FLIGHT, 0)} jobs in flight (per job)`, transactions),
      timeRow(`    floor: 2-state actor, create + start + ${FLOOR_EVENTS} events + stop`, floor),
      timeRow('    floor: 2-state actor, create + start + stop', floorBare),
    ]),
  );
  out(`(a) jobs that reached null in the last round: ${fmt(reached, 0)}/${fmt(JOBS_PER_ROUND, 0)}\n\n`);

  out('Memory per job\n');
  out(
    table([
      ['measure', 'heap/job', 'target', ''],
      memoryRow('(c) job actor alone resting in running', runningJob, TARGET_BYTES),
      memoryRow('    the same in the actor system all jobs alone share (as the service holds them)', runningJobInHub, undefined, stopInHub),
      memoryRow(`    grouped transaction of ${GROUP_SIZE} holding its jobs in running (per transaction)`, runningTransaction),
      memoryRow('    job actor resting in undefined', restingJob),
      memoryRow('    floor: started 2-state actor', restingToggle),
      memoryRow("    a running job's persisted snapshot, actor stopped", persistedRunningJob),
    ]),
  );

  out('\nWhere the time of (a) goes, per step (wall µs, median of 3 rounds, timed one step at a time)\n');
  const stepRounds = Array.from({ length: 3 }, () => jobSteps(JOBS_PER_ROUND));
  const micros = JOB_STEPS.map((_, i) => median(stepRounds.map((sums) => ((sums[i] ?? 0) * 1000) / JOBS_PER_ROUND)));
  const total = micros.reduce((a, b) => a + b, 0);
  const steps = JOB_STEPS.map((step, i) => [step, fmt(micros[i] ?? NaN), `${fmt((100 * (micros[i] ?? NaN)) / total, 0)} %`]);
  const perEvent = (median(floor.map((c) => c.wall)) - median(floorBare.map((c) => c.wall))) / FLOOR_EVENTS;
  out(
    table([
      ['step', 'µs', 'share'],
      ...steps,
      ['total', fmt(total), ''],
      ['floor: one event of the 2-state actor (from the time table)', fmt(perEvent), ''],
    ]),
  );
  out(`\nload average at the end ${load()}\n`);
}

await main();
