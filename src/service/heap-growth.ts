/**
 * How far V8 lets the heap grow past what is live. Left to its defaults, V8 grows a large
 * heap by a factor of up to 4 between major collections and hardly gives it back: a service
 * holding 100,000 jobs (about 600 MB live) sat at 1.5 GB of heap, 1.5 GB of RSS. Growing by
 * at most a fifth at a time keeps the heap within about 1.2 × what is live, at the price of
 * more frequent major collections (figures in docs/performance.md).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 20;

/** Set V8's heap growth, unless the process was started with its own. */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  if (execArgv.some((arg) => arg.replaceAll('_', '-').startsWith('--heap-growing-percent'))) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
