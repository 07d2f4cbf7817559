/** Bad pipe arguments at job-start: a 400 naming what is wrong, and no job. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startFilesStack } from '../jobs/helpers.js';
import type { FilesStack } from '../jobs/helpers.js';
import { rejectsWith } from '../service/helpers.js';
import { loadSettings } from '../../src/settings.js';
import { DEFAULT_PIPE_SETTINGS } from '../../src/pipes/settings.js';

describe('pipe settings', () => {
  it('reads JOBS_PIPE_* with their defaults, and refuses what is not a positive whole number', () => {
    const { chunkBytes: _chunk, ...defaults } = DEFAULT_PIPE_SETTINGS;
    assert.deepEqual(loadSettings({}).pipes, defaults);
    const env = { JOBS_PIPE_MAX_INPUTS: '4', JOBS_PIPE_MAX_BYTES: '1048576', JOBS_PIPE_WINDOW_BYTES: '65536', JOBS_PIPE_STALL_TIMEOUT_MS: '500', JOBS_PIPE_RETENTION_MS: '1000', JOBS_PIPE_MAX_AGE_MS: '2000' };
    assert.deepEqual(loadSettings(env).pipes, { maxInputs: 4, maxBytes: 1048576, windowBytes: 65536, stallTimeoutMs: 500, retentionMs: 1000, maxAgeMs: 2000 });
    for (const name of Object.keys(env)) {
      assert.throws(() => loadSettings({ [name]: '0' }), { message: `Invalid setting ${name}: a positive whole number` });
    }
  });
});

describe('pipe arguments', () => {
  let s: FilesStack;
  before(async () => {
    s = await startFilesStack({ pipes: { maxInputs: 2 } });
  });
  after(() => s.close());

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['inputs to a type without an input pipe', { type: 'test', pipes: { inputs: [{}] } }, "Parameter 'pipes.inputs' is unexpected: job type 'test' has no input pipe"],
    ['an output from a type without one', { type: 'test', pipes: { output: 'stream' } }, "Parameter 'pipes.output' is unexpected: job type 'test' has no output pipe"],
    ['pipe:input without the upload announced', { type: 'backup', params: { source: 'pipe:input', target: 'a' } }, "Parameter 'pipes.inputs' is missing: job type 'backup' reads 1 input with these params"],
    ['two inputs for one', { type: 'backup', params: { source: 'pipe:input', target: 'a' }, pipes: { inputs: [{}, {}] } }, "Parameter 'pipes.inputs' has 2 entries: job type 'backup' reads 1 input with these params"],
    ['inputs to a backup of a file', { type: 'backup', params: { source: 'x', target: 'a' }, pipes: { inputs: [{}] } }, "Parameter 'pipes.inputs' is unexpected: job type 'backup' reads no input with these params"],
    ['an output from a backup to a file', { type: 'backup', params: { source: 'x', target: 'a' }, pipes: { output: 'buffer' } }, "Parameter 'pipes.output' is unexpected: job type 'backup' writes no output with these params"],
    ['more inputs than JOBS_PIPE_MAX_INPUTS', { type: 'backup', params: { source: 'pipe:input', target: 'a' }, pipes: { inputs: [{}, {}, {}] } }, "Parameter 'pipes.inputs' is too long (max 2 inputs)"],
    ['pipe:input where a type takes no pipe', { type: 'mirror', params: { source: 'pipe:input', target: 'a' } }, "Parameter 'params.source' is invalid: 'pipe:input' names a pipe, which is not taken here (for a file of that name: './pipe:input')"],
    ['pipe:output as a source', { type: 'backup', params: { source: 'pipe:output', target: 'a' } }, "Parameter 'params.source' is invalid: 'pipe:output' names a pipe, which is not taken here (for a file of that name: './pipe:output')"],
    ['an unknown output mode', { type: 'backup', params: { source: 'x', target: 'pipe:output' }, pipes: { output: 'later' } }, "Parameter 'pipes.output' expects one of: stream, buffer"],
    ['a negative size', { type: 'backup', params: { source: 'pipe:input', target: 'a' }, pipes: { inputs: [{ size: -1 }] } }, "Parameter 'pipes.inputs[0].size' is invalid: Too small: expected number to be >=0"],
    ['an unknown field', { type: 'backup', params: { source: 'pipe:input', target: 'a' }, pipes: { inputs: [{ path: '/etc/passwd' }] } }, "Parameter 'pipes.inputs[0].path' is unexpected"],
  ];
  for (const [what, args, desc] of cases) {
    it(`refuses ${what}`, async () => {
      await rejectsWith(s.alice.request('job-start', args as never), 400, desc);
    });
  }

  it('names the action in a transaction, and starts nothing', async () => {
    const actions = [
      { type: 'test', id: 'fine' },
      { type: 'backup', id: 'bad', params: { source: 'pipe:input', target: 'a' } },
    ];
    await rejectsWith(s.alice.transaction(actions as never), 400, "Parameter 'actions[1].pipes.inputs' is missing: job type 'backup' reads 1 input with these params");
    assert.deepEqual(await s.alice.query(), []);
  });
});
