/**
 * The replayer finds a service that breaks the model, and names the step: a relay on a real
 * nats-server between a prefix of its own and the real service's, which (1) accepts
 * `job-dismiss` where the service refuses it, or (2) publishes JOB_COMPLETED/JOB_CANCELLED
 * after `concluded` instead of before. Every path that meets the defect fails at the first
 * step that meets it, and no other path fails; `jobctl selftest` exits 1 naming that step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, headers } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { JobsClient } from '../../src/sdk/index.js';
import { generatePaths, replayPaths } from '../../src/testing/index.js';
import type { WirePath, WireStep } from '../../src/testing/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { jobctl } from '../cli/helpers.js';

type Defect = 'dismiss-anywhere' | 'completed-after-concluded';

/** Relay `front.*` to `back.*`: commands one way, events the other, with one defect. */
async function relay(url: string, front: string, back: string, defect: Defect): Promise<NatsConnection> {
  const nc = await connect({ servers: url });
  nc.subscribe(`${front}.cmd.>`, {
    callback: (_err, msg: Msg) => {
      void (async () => {
        const reply = await nc.request(`${back}${msg.subject.slice(front.length)}`, msg.data, {
          timeout: 10_000,
          ...(msg.headers && { headers: msg.headers }),
        });
        const refused = reply.headers?.get('Nats-Service-Error-Code') === '409';
        if (defect === 'dismiss-anywhere' && msg.subject.endsWith('.job-dismiss') && refused) {
          msg.respond(JSON.stringify({ return: {} }), { headers: headers() });
        } else {
          msg.respond(reply.data, reply.headers ? { headers: reply.headers } : {});
        }
      })().catch(() => undefined);
    },
  });
  const held = new Map<string, Msg>();
  nc.subscribe(`${back}.evt.>`, {
    callback: (_err, msg) => {
      const subject = `${front}${msg.subject.slice(back.length)}`;
      const job = msg.subject.split('.').slice(0, -1).join('.');
      const name = msg.subject.split('.').pop()!;
      if (defect === 'completed-after-concluded' && (name === 'JOB_COMPLETED' || name === 'JOB_CANCELLED')) {
        held.set(job, msg);
        return;
      }
      nc.publish(subject, msg.data);
      const late = held.get(job);
      if (late) {
        held.delete(job);
        nc.publish(`${front}${late.subject.slice(back.length)}`, late.data);
      }
    },
  });
  await nc.flush();
  return nc;
}

/** Where each path must first fail, by the defect: its step number from 1, or undefined. */
function firstDefect(path: WirePath, defect: Defect): number | undefined {
  const meets = (s: WireStep) =>
    defect === 'dismiss-anywhere'
      ? s.command === 'job-dismiss' && !s.reply.ok && s.reply.code === 409
      : s.events.some((e) => e.event === 'JOB_COMPLETED' || e.event === 'JOB_CANCELLED');
  const i = path.steps.findIndex(meets);
  return i < 0 ? undefined : i + 1;
}

describe('a service that breaks the model', () => {
  let stack: Stack;
  const relays: NatsConnection[] = [];
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    for (const nc of relays) await nc.close();
    await stack.close();
  });

  for (const defect of ['dismiss-anywhere', 'completed-after-concluded'] as const) {
    test(`${defect}: exactly the paths that meet it fail, at the step that meets it`, async () => {
      const front = `${stack.prefix}${defect.replaceAll('-', '')}`;
      relays.push(await relay(stack.server.url, front, stack.prefix, defect));
      const client = await stack.client('tester');
      const replayer = new JobsClient(client.nc, { user: 'tester', prefix: front });
      const paths = generatePaths({ idPrefix: `${defect.slice(0, 4)}-` });
      const results = await replayPaths(replayer, paths, { concurrency: 8 });
      let failed = 0;
      for (const r of results) {
        const at = firstDefect(r.path, defect);
        assert.equal(r.mismatch?.step, at, `${r.path.name}: ${r.mismatch?.message ?? 'passed'}`);
        if (at === undefined) continue;
        failed++;
        const m = r.mismatch!;
        assert.equal(m.path, r.path.name);
        assert.equal(m.command, r.path.steps[at - 1]!.command);
        if (defect === 'dismiss-anywhere') {
          assert.equal(m.what, 'reply');
          assert.match(String(m.expected), /^error 409 'Job '.*' in state '.*' cannot accept command verb 'dismiss''$/);
          assert.equal(m.got, 'ok');
        } else {
          assert.equal(m.what, 'event');
          assert.match(String(m.expected), /: JOB_(COMPLETED|CANCELLED) /);
          assert.match(String(m.got), /: JOB_STATUS_CHANGE \{"id":"[^"]+",.*"status":"concluded"\}$/);
        }
      }
      assert.ok(failed > 10, `${failed} paths met the defect`);
    });
  }

  test('jobctl selftest exits 1 and names the path, the step, what was expected and what came', async () => {
    const front = `${stack.prefix}cli`;
    relays.push(await relay(stack.server.url, front, stack.prefix, 'dismiss-anywhere'));
    const r = await jobctl(['--server', stack.server.url, '--prefix', front, '--user', 'dave', 'selftest', '--no-transactions']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /^FAIL #\d+ hold: job-start\(manual\) → .*: step \d+ job-dismiss \{"id":"selftest-[0-9a-f]{6}-\d+"\}: reply expected error 409 'Job 'selftest-[0-9a-f]{6}-\d+' in state 'running' cannot accept command verb 'dismiss'', got ok$/m,
    );
    assert.match(r.stdout, /^\d+ passed, [1-9]\d* failed \(/m);
  });
});
