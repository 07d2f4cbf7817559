/**
 * The NATS micro service face: `$SRV.PING|INFO|STATS.jobstate`, one endpoint per command.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Svcm } from '@nats-io/services';
import type { NamedEndpointStats, ServiceClient, ServiceIdentity, ServiceInfo, ServiceStats } from '@nats-io/services';
import { COMMANDS } from '../../src/protocol/subjects.js';
import { SERVICE_NAME, SERVICE_VERSION } from '../../src/service/service.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { rawRequest } from './helpers.js';

const ALL_COMMANDS = [
  'job-start',
  'transaction',
  'job-pause',
  'job-resume',
  'job-cancel',
  'job-complete',
  'job-finalize',
  'job-dismiss',
  'job-set-speed',
  'query-jobs',
  'job-wait',
  'job-log', // an extension: the job's own log
  'query-job-types', // an extension: the job types the deployment runs
  'job-download', // extensions for HTTP (docs/http.md): download URLs
  'job-download-log',
];

async function all<T>(responses: Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of await responses) out.push(r);
  return out;
}

describe('the NATS micro service', () => {
  let stack: Stack;
  let alice: JobsClient;
  let svc: ServiceClient;

  before(async () => {
    stack = await startStack();
    alice = await stack.client('alice');
    svc = new Svcm(alice.nc).client({ strategy: 'stall', maxWait: 3000, stall: 250 });
  });
  after(() => stack.close());

  const stats = async (): Promise<ServiceStats> => {
    const replies = await all(svc.stats(SERVICE_NAME));
    assert.equal(replies.length, 1);
    return replies[0]!;
  };
  const endpoint = (s: ServiceStats, name: string): NamedEndpointStats => {
    const e = s.endpoints?.find((x) => x.name === name);
    assert.ok(e, `endpoint ${name} in STATS`);
    return e;
  };

  test('the contract has eleven commands plus job-log, query-job-types and the two download commands, and the service knows exactly those', () => {
    assert.deepEqual([...COMMANDS].sort(), [...ALL_COMMANDS].sort());
  });

  test('$SRV.PING.jobstate: one instance answers with its name, id and version', async () => {
    const pings: ServiceIdentity[] = await all(svc.ping(SERVICE_NAME));
    assert.equal(pings.length, 1);
    const [ping] = pings;
    assert.equal(ping!.type, 'io.nats.micro.v1.ping_response');
    assert.equal(ping!.name, 'jobstate');
    assert.equal(ping!.version, SERVICE_VERSION);
    assert.match(ping!.id, /^[A-Za-z0-9]+$/);
    assert.deepEqual(ping!.metadata, { prefix: stack.prefix });
    // Raw, as any NATS tool would ask.
    const raw = await stack.nc.request('$SRV.PING.jobstate', '', { timeout: 2000 });
    assert.equal(raw.json<ServiceIdentity>().id, ping!.id);
    // And by id.
    const byId = await stack.nc.request(`$SRV.PING.jobstate.${ping!.id}`, '', { timeout: 2000 });
    assert.equal(byId.json<ServiceIdentity>().name, 'jobstate');
  });

  test('$SRV.INFO.jobstate: one endpoint per command, named as the command, on <prefix>.cmd.*.<command>', async () => {
    const infos: ServiceInfo[] = await all(svc.info(SERVICE_NAME));
    assert.equal(infos.length, 1);
    const info = infos[0]!;
    assert.equal(info.type, 'io.nats.micro.v1.info_response');
    assert.equal(info.name, 'jobstate');
    assert.equal(info.version, SERVICE_VERSION);
    assert.ok(info.description.length > 0, 'has a description');
    assert.equal(info.endpoints.length, ALL_COMMANDS.length);
    assert.deepEqual(
      info.endpoints.map((e) => [e.name, e.subject]).sort(),
      ALL_COMMANDS.map((c) => [c, `${stack.prefix}.cmd.*.${c}`]).sort(),
    );
    // docs/protocol.md lists the same endpoints.
    const doc = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith('| endpoints |'));
    assert.ok(row, 'docs/protocol.md has the endpoints row');
    const documented = [...row.split(';')[0]!.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), info.endpoints.map((e) => e.name).sort(), 'docs/protocol.md lists the endpoints $SRV.INFO has');
    // A queue group, so that several instances share the load.
    const groups = new Set(info.endpoints.map((e) => e.queue_group));
    assert.equal(groups.size, 1);
    const [group] = groups;
    assert.ok(typeof group === 'string' && group.length > 0, `queue group: ${String(group)}`);
  });

  test('$SRV.STATS.jobstate: request counts go up per endpoint, errors are counted', async () => {
    const before = await stats();
    assert.equal(before.type, 'io.nats.micro.v1.stats_response');
    assert.equal(before.name, 'jobstate');
    assert.equal(before.endpoints?.length, ALL_COMMANDS.length);

    await alice.query();
    await alice.query({ status: 'running' });
    await alice.start('test', { id: 'st1', params: { steps: 1, 'step-ms': 1 } });
    for (let i = 0; i < 3; i++) await alice.pause('ghost').catch(() => undefined);
    await rawRequest(alice.nc, stack.prefix, 'alice', 'job-resume', 'not json');

    const after = await stats();
    const delta = (name: string) => {
      const b = endpoint(before, name);
      const a = endpoint(after, name);
      return { requests: a.num_requests - b.num_requests, errors: a.num_errors - b.num_errors };
    };
    assert.deepEqual(delta('query-jobs'), { requests: 2, errors: 0 });
    assert.deepEqual(delta('job-start'), { requests: 1, errors: 0 });
    assert.deepEqual(delta('job-pause'), { requests: 3, errors: 3 });
    assert.deepEqual(delta('job-resume'), { requests: 1, errors: 1 });
    assert.deepEqual(delta('job-cancel'), { requests: 0, errors: 0 });
    assert.equal(endpoint(after, 'job-pause').last_error, 'Job not found');
    for (const e of after.endpoints ?? []) assert.equal(e.subject, `${stack.prefix}.cmd.*.${e.name}`);
  });

  test('a request to an unknown command subject has no responders', async () => {
    await assert.rejects(stack.nc.request(`${stack.prefix}.cmd.alice.job-frobnicate`, '{}', { timeout: 1000 }), (err: Error) => {
      assert.match(`${err.message} ${String((err as { cause?: unknown }).cause)}`, /no responders/i);
      return true;
    });
  });
});
