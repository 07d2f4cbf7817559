/**
 * The one place the service reaches into nats.js's internals (src/nats/service-stats.ts): an
 * error reply is counted in `$SRV.STATS` through the library's unexported per-endpoint stats.
 * When a new nats.js changes that shape, this test says so (the service would silently stop
 * counting errors).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';
import type { Service } from '@nats-io/services';
import { countEndpointError, serviceStatsShapeProblem } from '../../src/nats/service-stats.js';
import { startNatsServer } from '../support/stack.js';

let server: Awaited<ReturnType<typeof startNatsServer>>;
let nc: NatsConnection;
let service: Service;

before(async () => {
  server = await startNatsServer();
  nc = await connect({ servers: server.url });
  service = await new Svcm(nc).add({ name: 'stats-shape', version: '1.0.0' });
  service.addEndpoint('ep', { subject: 'stats-shape.ep', handler: (_err, msg) => msg.respond('') });
});

after(async () => {
  await service.stop();
  await nc.close();
  await server.stop();
});

test("nats.js's services still keep per-endpoint stats where the service counts its error replies", () => {
  const problem = serviceStatsShapeProblem(service, 'ep');
  assert.equal(
    problem,
    undefined,
    `@nats-io/services changed its internals: ${problem}. Error replies are no longer counted in $SRV.STATS; update src/nats/service-stats.ts.`,
  );
});

test('an error counted through the adapter shows in $SRV.STATS', async () => {
  countEndpointError(service, 'ep', 'Job not found');
  countEndpointError(service, 'ep', 'Job not found either');
  const stats = (await service.stats()).endpoints?.find((e) => e.name === 'ep');
  assert.ok(stats, 'the endpoint is in the stats');
  assert.equal(stats.num_errors, 2, 'both errors are counted');
  assert.equal(stats.last_error, 'Job not found either');
});

test('an endpoint the service does not have is reported, and counting for it does nothing', () => {
  assert.match(serviceStatsShapeProblem(service, 'nope') ?? '', /no entry of `handlers` is named 'nope'/);
  assert.doesNotThrow(() => countEndpointError(service, 'nope', 'x'));
});
