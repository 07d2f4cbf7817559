/**
 * A worker process killed with SIGKILL mid-job (`node dist/src/worker/main.js`, as
 * `npm run worker` runs it): its running job fails with `Worker '<id>' stopped responding`
 * within the heartbeat bound — the service's timeout (3000 ms by default) plus one liveness
 * sweep (250 ms) after the worker's last heartbeat — and nothing hangs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { JobTypes } from '../../src/runtime/registry.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { SWEEP_MS } from '../../src/service/remote/directory.js';
import { Recorder, rejectsWith } from '../service/helpers.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { eventually, knowsWorker, progressOf, sleep } from './helpers.js';

const WORKER_MAIN = fileURLToPath(new URL('../../src/worker/main.js', import.meta.url));
const TIMEOUT_MS = 3000;
const HEARTBEAT_MS = 1000;

/** Start `node dist/src/worker/main.js` on the stack; resolves with the process and the worker's id once it is ready. */
async function spawnWorker(stack: Stack, dataDir: string): Promise<{ child: ChildProcess; id: string }> {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    env: {
      ...process.env,
      NATS_URL: stack.server.url,
      JOBS_PREFIX: stack.prefix,
      JOBS_DATA_DIR: dataDir,
      JOBS_WORKER_TYPES: 'test',
      JOBS_WORKER_NAME: 'crashy',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const id = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not get ready: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; worker?: string };
        if (entry.msg === 'ready' && entry.worker) {
          clearTimeout(timer);
          resolve(entry.worker);
        }
      } catch {
        // not a log line
      }
    });
  });
  return { child, id };
}

describe('a worker process killed mid-job', () => {
  let stack: Stack;
  let alice: JobsClient;
  let events: Recorder;
  let dataDir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    stack = await startStack({ types: new JobTypes() });
    alice = await stack.client('alice');
    events = new Recorder(stack.nc, `${stack.prefix}.evt.alice.>`);
    await events.ready;
    dataDir = mkdtempSync(join(tmpdir(), 'jobstate-worker-'));
  });

  after(async () => {
    child?.kill('SIGKILL');
    await stack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('its running job fails with a clear error within the heartbeat bound', async (t) => {
    const spawned = await spawnWorker(stack, dataDir);
    child = spawned.child;
    await knowsWorker(stack, spawned.id);

    const running = await alice.start('test', { params: { steps: 1000, 'step-ms': 20 } });
    const paused = await alice.start('test', { params: { steps: 1000, 'step-ms': 20 } });
    await eventually(async () => (await progressOf(alice, running)) >= 2 && (await progressOf(alice, paused)) >= 2, 'both jobs to run on the worker');
    await alice.pause(paused);
    await events.status(paused, 'paused');

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    const killedAt = performance.now();
    child.kill('SIGKILL');
    await exited;

    const info = await alice.wait(running, { timeoutMs: 10_000 });
    const detectedMs = performance.now() - killedAt;
    t.diagnostic(`failure detected ${Math.round(detectedMs)} ms after SIGKILL (bound ${TIMEOUT_MS + SWEEP_MS} ms)`);
    assert.equal(info.error, `Worker '${spawned.id}' stopped responding`);
    assert.ok(detectedMs <= TIMEOUT_MS + SWEEP_MS + 500, `detected within the bound: ${Math.round(detectedMs)} ms`);
    assert.ok(detectedMs >= TIMEOUT_MS - HEARTBEAT_MS - 100, `not before the timeout: ${Math.round(detectedMs)} ms`);

    // The paused job keeps its status (as any job whose work fails while paused) and fails as
    // soon as it is resumed: nothing waits for the dead worker.
    assert.equal((await alice.query()).find((j) => j.id === paused)?.status, 'paused');
    await alice.resume(paused);
    const pausedInfo = await alice.wait(paused, { timeoutMs: 1000 });
    assert.equal(pausedInfo.error, `Worker '${spawned.id}' stopped responding`);

    // The dead worker's type is gone with it.
    assert.deepEqual(stack.service.workers?.list(), []);
    await rejectsWith(alice.start('test'), 400, "Invalid parameter 'type': unknown job type 'test' (known: none)");
  });

  test('a new worker process takes the type up again', async () => {
    const spawned = await spawnWorker(stack, dataDir);
    child = spawned.child;
    await knowsWorker(stack, spawned.id);
    const id = await alice.start('test', { params: { steps: 3, 'step-ms': 10, result: 'back' } });
    const info = await alice.wait(id, { timeoutMs: 5000 });
    assert.equal(info.result, 'back');
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = undefined;
    await sleep(10);
  });
});
