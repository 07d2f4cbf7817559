/**
 * A run is opened with everything it reaches beyond itself (its pipes, the JobsApi for wrap,
 * the sink of its log lines), and its handler reads the job from the run alone.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { z } from 'zod';
import type { WorkInput, WorkReport } from '../../machines/index.js';
import { NO_PIPES } from '../../src/pipes/api.js';
import type { JobPipes, PipeSource } from '../../src/pipes/api.js';
import { defineJob } from '../../src/runtime/handler.js';
import type { JobContext } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';
import type { JobsApi } from '../../src/runtime/run.js';
import { JobRuntime } from '../../src/runtime/runtime.js';
import { WorkControl } from '../../src/runtime/work-control.js';

describe('a run opened with its links', () => {
  test('its handler sees the job, its pipes, its log sink and other jobs through the run', async () => {
    let seen: JobContext | undefined;
    const type = defineJob('t', { params: z.strictObject({ n: z.number() }) }, async (job) => {
      seen = job;
      job.log.info('hello');
      return (await job.wrap('inner', { n: 1 })).result;
    });
    const runtime = new JobRuntime(new JobTypes().register(type), { logger: pino({ level: 'silent' }) });
    const pipes: JobPipes = { ...NO_PIPES };
    const source = { forJob: () => pipes, outputStored: async () => undefined } as unknown as PipeSource;
    const started: string[] = [];
    const jobs: JobsApi = {
      start: (owner, t) => (started.push(`${owner}/${t}`), 'inner-1'),
      wait: async () => ({ result: 42 }),
      cancel: () => undefined,
      onProgress: () => () => undefined,
    };
    const lines: string[] = [];
    const run = runtime.open({ id: 'j', owner: 'alice', type: 't', params: { n: 3 }, onError: 'stop' }, { pipes: source, jobs, logLines: (l) => lines.push(l) });
    assert.equal(runtime.run('alice', 'j'), run);

    const input: WorkInput = { id: 'j', owner: 'alice', type: 't', params: { n: 3 }, speed: 0, onError: 'stop', paused: false };
    const reports: WorkReport[] = [];
    await new WorkControl(input, run, runtime, (e) => void reports.push(e)).run();
    assert.deepEqual(reports.at(-1), { type: 'work.done', result: 42 });
    assert.deepEqual(started, ['alice/inner']);
    assert.equal(seen!.type, 't');
    assert.equal(seen!.onError, 'stop');
    assert.deepEqual(seen!.params, { n: 3 });
    assert.equal(seen!.pipes, pipes);
    assert.equal(lines.length, 2, 'both lines reach the sink');
    assert.match(lines[0]!, /INFO hello$/);
  });

  test('a run opened without a JobsApi (a worker’s) cannot wrap', async () => {
    const type = defineJob('t', { params: z.strictObject({}) }, async (job) => job.wrap('inner'));
    const runtime = new JobRuntime(new JobTypes().register(type), { logger: pino({ level: 'silent' }) });
    const run = runtime.open({ id: 'j', owner: 'alice', type: 't' }, {});
    assert.equal(run.onError, 'report');
    const reports: WorkReport[] = [];
    const input: WorkInput = { id: 'j', owner: 'alice', type: 't', params: {}, speed: 0, onError: 'report', paused: false };
    await new WorkControl(input, run, { locks: runtime.locks }, (e) => void reports.push(e)).run();
    assert.deepEqual(reports, [{ type: 'work.failed', error: 'wrap needs the job service' }]);
  });
});
