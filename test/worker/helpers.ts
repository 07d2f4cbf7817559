/**
 * Helpers of the remote-worker tests: a JobWorker on a connection of its own, waiting until
 * the service knows a worker's types, and reading a job's progress.
 */
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobsClient } from '../../src/sdk/index.js';
import type { JobTypes } from '../../src/runtime/registry.js';
import { JobWorker } from '../../src/worker/worker.js';
import type { JobWorkerOptions } from '../../src/worker/worker.js';
import type { JobTypeList } from '../../src/worker/worker-types.js';
import type { Stack } from '../support/stack.js';
import type { Recorder } from '../service/helpers.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface TestWorker extends AsyncDisposable {
  worker: JobWorker;
  nc: NatsConnection;
  close(): Promise<void>;
}

/** A worker for `types` on its own connection to the stack's server (only its server and prefix are used). */
export async function startWorker<const Ps extends readonly unknown[]>(
  stack: Pick<Stack, 'server' | 'prefix'>,
  types: JobTypes | JobTypeList<Ps>,
  opts: Omit<JobWorkerOptions, 'nc' | 'prefix' | 'types'> = {},
): Promise<TestWorker> {
  const nc = await connect({ servers: stack.server.url });
  const worker = await JobWorker.start({ nc, prefix: stack.prefix, types, ...opts });
  const close = async () => {
    await worker.close();
    if (!nc.isClosed()) await nc.drain().catch(() => undefined);
  };
  return { worker, nc, close, [Symbol.asyncDispose]: close };
}

/** Resolves once `until()` is true, polling; rejects after `timeoutMs`. */
export async function eventually(until: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await until())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Resolves once the stack's service knows worker `id` (its heartbeat arrived). */
export function knowsWorker(stack: Stack, id: string): Promise<void> {
  return eventually(() => stack.service.workers?.list().some((w) => w.id === id) === true, `the service to know worker ${id}`);
}

/** A job's JobInfo as query-jobs shows it. */
export async function infoOf(client: JobsClient, id: string): Promise<Record<string, unknown> | undefined> {
  const jobs = await client.query();
  return jobs.find((j) => j.id === id) as Record<string, unknown> | undefined;
}

/** A job's current progress. */
export async function progressOf(client: JobsClient, id: string): Promise<number> {
  return Number((await infoOf(client, id))?.['current-progress'] ?? -1);
}

/**
 * Pause `id` and check that the pause reached its worker: once a step in flight has ended at
 * its pause point, the progress stands still. Then resume it. Returns the progress it stood at.
 */
export async function pauseHoldsIt(client: JobsClient, events: Recorder, id: string): Promise<number> {
  await client.pause(id);
  await events.status(id, 'paused');
  await sleep(150); // a step in flight when the pause came ends at its pause point, its progress sent
  const parked = await progressOf(client, id);
  await sleep(300);
  assert.equal(await progressOf(client, id), parked, 'no progress while paused: the handler is parked on the worker');
  await client.resume(id);
  return parked;
}
