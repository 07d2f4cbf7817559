/**
 * Job types the remote-worker tests run on their workers. What a worker's handlers and hooks
 * saw is recorded here, in the test process (the workers run in it).
 */
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';

/** Logs `lines` lines (and a warning) and returns how many it said. */
export const chattyJob = defineJob(
  'chatty',
  { params: z.strictObject({ lines: z.number().int().nonnegative().default(2), token: z.string().optional() }), secrets: ['token'] },
  async (job) => {
    for (let i = 1; i <= job.params.lines; i++) {
      job.log.info('hello from the worker', { n: i });
      job.progress(i, job.params.lines);
    }
    if (job.params.token !== undefined) job.log.info(`token is ${job.params.token}`);
    job.log.warn('careful');
    return { said: job.params.lines };
  },
);

/** Finalize hook calls, by job id: `<hook>:<scratch.tmp>[:soft]`. */
export const hookCalls = new Map<string, string[]>();

/** Fills scratch, optionally waits in ready; its hooks record their calls; prepare fails on demand. */
export const finalizingJob = defineJob(
  'finalizing',
  {
    params: z.strictObject({ ready: z.boolean().default(false), 'fail-prepare': z.string().optional() }),
    hooks: {
      async prepare(job) {
        record(job.id, 'prepare', job.scratch, job.softCancelled);
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (job.params['fail-prepare'] !== undefined) throw new Error(job.params['fail-prepare']);
      },
      commit: (job) => record(job.id, 'commit', job.scratch, job.softCancelled),
      abort: (job) => record(job.id, 'abort', job.scratch, job.softCancelled),
      clean: (job) => record(job.id, 'clean', job.scratch, job.softCancelled),
    },
  },
  async (job) => {
    job.scratch.tmp = `tmp-${job.id}`;
    if (job.params.ready) return job.ready();
    return 'made';
  },
);

function record(id: string, hook: string, scratch: Record<string, unknown>, soft: boolean): void {
  const calls = hookCalls.get(id) ?? [];
  calls.push(`${hook}:${String(scratch.tmp)}${soft ? ':soft' : ''}`);
  hookCalls.set(id, calls);
}

/** A `share` type whose runs are counted in `ran` (one instance per worker). */
export function shareJob(ran: string[]) {
  return defineJob('share', { params: z.strictObject({ ms: z.number().int().default(20) }) }, async (job) => {
    ran.push(job.id);
    await job.sleep(job.params.ms);
  });
}

/** Runs until cancelled. */
export const foreverJob = defineJob('forever', { params: z.strictObject({}) }, async (job) => {
  for (let i = 0; ; i++) {
    job.progress(i, i + 1);
    await job.sleep(20);
  }
});

/** Waits `error-after-ms`, then hits an I/O error (the job's on-error policy applies), and returns 'recovered'. */
export const stoppingJob = defineJob(
  'stopping',
  { params: z.strictObject({ 'error-after-ms': z.number().int().nonnegative().default(0) }) },
  async (job) => {
    await job.sleep(job.params['error-after-ms']);
    job.progress(1, 2);
    await job.ioError('read', new Error('bad sector'));
    job.progress(2, 2);
    return 'recovered';
  },
);
