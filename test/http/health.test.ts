/**
 * /healthz: live at once, ready only once the service has restored its jobs (after a restart)
 * and the broker answers; 503 with the reason until then.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { serviceHealth } from '../../src/http/beside.js';
import { startHttp } from '../../src/http/start.js';
import type { RunningHttp } from '../../src/http/start.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { JobService } from '../../src/service/service.js';
import { startNatsServer, startStack } from '../support/stack.js';

describe('/healthz across a restart', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  let http: RunningHttp | undefined;
  let service: JobService | undefined;
  const prefix = `h${process.pid}`;

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await http?.close();
    await service?.close();
    await nc?.drain().catch(() => undefined);
    await server?.stop();
  });

  it('is 503 (live, not ready) while jobs are restored, then 200', async () => {
    // A first run leaves a job behind.
    {
      await using first = await startStack({ server, prefix });
      const alice = await first.client('alice');
      await alice.wait(await alice.start('test', { id: 'kept', params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false }));
    }
    // The restart: the HTTP server is up before the service has restored anything.
    nc = await connect({ servers: server.url });
    let started = false;
    const metrics = new ServiceMetrics();
    http = await startHttp({
      nc,
      servers: server.url,
      prefix,
      logger: pino({ level: 'silent' }),
      listen: { host: '127.0.0.1', port: 0 },
      health: serviceHealth(nc, () => started),
      metrics: () => metrics.text(),
      plugins: [],
    });
    const before = await fetch(`${http.url}/healthz`);
    assert.equal(before.status, 503);
    assert.deepEqual(await before.json(), { live: true, ready: false, reason: 'jobs are being restored' });

    service = await JobService.start({ nc, types: builtinTypes('/nonexistent'), logger: pino({ level: 'silent' }), prefix, metrics });
    started = true;
    const after = await fetch(`${http.url}/healthz`);
    assert.equal(after.status, 200);
    assert.deepEqual(await after.json(), { live: true, ready: true });
    // The restored job is counted.
    assert.match(await (await fetch(`${http.url}/metrics`)).text(), /^jobstate_jobs\{status="concluded",type="test"\} 1$/m);
  });

  it('is 503 once the broker connection is gone', async () => {
    await service?.close();
    service = undefined;
    await nc.close();
    const r = await fetch(`${http!.url}/healthz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { live: true, ready: false, reason: 'the broker connection is closed' });
  });
});
