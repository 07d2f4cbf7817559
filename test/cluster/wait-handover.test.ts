/**
 * A client's job-wait pending on an instance that stops gracefully, with another instance on
 * the prefix: it is handed to the instance that serves the job next, which answers the client
 * when the job concludes — not `The service is shutting down`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobsClient } from '../../src/sdk/index.js';
import { startNatsServer } from '../support/stack.js';
import { until } from '../durability/helpers.js';
import { startInProcess } from './instances.js';
import type { InProcess } from './instances.js';

describe('job-waits handed over at a graceful stop', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-waits-'));
  const prefix = `wh${process.pid}`;
  let a: InProcess | undefined;
  let b: InProcess | undefined;
  let client: JobsClient;

  before(async () => {
    server = await startNatsServer();
    client = await JobsClient.connect({ servers: server.url, user: 'alice', prefix });
  });
  after(async () => {
    await client?.close();
    await b?.close();
    await a?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the wait is answered by the next instance when the job concludes', async () => {
    // a alone: the wait can only land there.
    a = await startInProcess('a', [server.url], prefix, { dataDir });
    await client.start('test', { id: 'long', params: { steps: 30, 'step-ms': 100 } });
    const waited = client.wait('long', { timeoutMs: 30_000 });
    const p = a.service.jobs.ownership.partitionOf('alice');
    await until('the wait to be pending on a', async () => (a!.service.jobs.query('alice', {}).count === 1 ? true : undefined), 5000);
    b = await startInProcess('b', [server.url], prefix, { dataDir });
    await until('b to be a member seen by a', async () => ((a!.service.jobs.ownership as { others?: () => number }).others?.() === 1 ? true : undefined), 5000);
    await a.close();
    a = undefined;
    await until('b to serve alice', async () => (b!.service.jobs.ownership.serves(p) ? true : undefined), 10_000);
    const info = await waited;
    assert.equal(info.status, 'concluded');
    assert.equal(info.error, undefined);
  });
});
