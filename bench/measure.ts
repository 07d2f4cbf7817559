/**
 * Small measuring tools for the bench scripts: timed rounds, retained heap per object, and
 * tables of figures against their targets. A benchmark prints; it never asserts.
 */
import { performance } from 'node:perf_hooks';

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** One round's cost per item: wall-clock µs, and CPU µs (user + system, all threads of the process). */
export interface Cost {
  wall: number;
  cpu: number;
}

/** The cost per item of `run(n)`, once per round, after one unmeasured warm-up round. */
export async function costPerItem(rounds: number, n: number, run: (n: number) => unknown): Promise<Cost[]> {
  await run(n);
  const costs: Cost[] = [];
  for (let r = 0; r < rounds; r++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await run(n);
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu);
    costs.push({ wall: (wall * 1000) / n, cpu: (used.user + used.system) / n });
  }
  return costs;
}

/** The V8 garbage collector, exposed by `node --expose-gc`. */
export function collector(): () => void {
  const gc = globalThis.gc;
  if (gc === undefined) {
    process.stderr.write('run with node --expose-gc (npm run bench:machines does)\n');
    process.exit(1);
  }
  return () => {
    gc();
    gc();
  };
}

/**
 * Heap retained per object: heapUsed after making and keeping `n` objects, minus before, over
 * `n`, with full collections on both sides. `release` disposes of them afterwards.
 */
export function bytesPerItem<T>(n: number, make: (i: number) => T, release: (item: T) => void = () => undefined): number {
  const gc = collector();
  const kept: T[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) kept.push(make(i));
  gc();
  const after = process.memoryUsage().heapUsed;
  for (const item of kept) release(item);
  return (after - before) / kept.length;
}

/** A table of rows of cells, the first row its header, as aligned plain text. */
export function table(rows: readonly (readonly string[])[]): string {
  const columns = Math.max(...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]) =>
    widths
      .map((w, c) => (row[c] ?? '').padEnd(w))
      .join('  ')
      .trimEnd();
  const [head = [], ...body] = rows;
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n';
}

/** A number with thousands separators and `digits` decimals. */
export function fmt(value: number, digits = 1): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The value at quantile `q` (0–1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** What a closed loop did: operations that succeeded, that failed, and over how long. */
export interface LoopResult {
  done: number;
  errors: number;
  seconds: number;
}

/**
 * A closed loop: `workers` loops each running `op` again as soon as it settles, until `ms` have
 * passed — so `workers` operations are in flight all the time. A rejection counts as an error.
 */
export async function closedLoop(workers: number, ms: number, op: (worker: number) => Promise<unknown>): Promise<LoopResult> {
  let done = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + ms;
  const loop = async (worker: number) => {
    while (performance.now() < end) {
      try {
        await op(worker);
        done++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
  return { done, errors, seconds: (performance.now() - start) / 1000 };
}

/**
 * Milliseconds taken by each of `n` runs of `op`, one at a time, after `warmup` unmeasured runs:
 * the ms `op` resolves to if it measures its own, else its wall-clock time. A rejection counts
 * as an error.
 */
export async function sequential(
  n: number,
  warmup: number,
  op: (i: number) => Promise<number | void>,
): Promise<{ ms: number[]; errors: number }> {
  const ms: number[] = [];
  let errors = 0;
  for (let i = -warmup; i < n; i++) {
    const start = performance.now();
    try {
      const own = await op(i);
      if (i >= 0) ms.push(typeof own === 'number' ? own : performance.now() - start);
    } catch {
      if (i >= 0) errors++;
    }
  }
  return { ms, errors };
}
