/**
 * The fuzz test: 10,000 generated hostile requests (seeded, so a failure can be replayed with
 * FUZZ_SEED) across every command, 200 in flight — random JSON, mutated and poisoned commands,
 * deep nesting, strings up to ~1 MB, bytes that are not UTF-8, wildcards in ids and owners,
 * callers that are not accounts — from two non-admin callers. Every request gets the reply
 * the oracle allows (an exact error where the input is bad; success, 404, 408 or 409 as the
 * state allows where it is valid), nothing crashes, memory stays bounded, alice's live jobs
 * are untouched, and no file appears outside the data directory.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobInfo } from '../../src/protocol/schemas.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { CALLERS, Fuzzer, LIVE_IDS } from './fuzz-gen.js';
import type { Fuzzed } from './fuzz-gen.js';
import { expectationFor, mayBlock, parseReply, verdict } from './fuzz-oracle.js';
import type { Expectation, Reply } from './fuzz-oracle.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x6a0b5);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const IN_FLIGHT = 200;
/** Below the broker's max_payload (1 MB), so some big payloads reach the service's own check. */
const LIMITS = { maxPayload: 512 * 1024, maxJobsPerOwner: 64 };
const REQUEST_TIMEOUT = 20_000;
const MB = 2 ** 20;

interface Result {
  f: Pick<Fuzzed, 'command' | 'caller' | 'strategy'> & { size: number; index: number };
  e: Expectation;
  reply?: Reply;
  problem?: string;
  ms: number;
}

/** Runs at most `size` tasks at once: `run` waits for a free place, then starts the task. */
class Window {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  #idle: (() => void) | undefined;

  constructor(readonly size: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    if (this.#running >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    void task().finally(() => {
      this.#running--;
      this.#waiting.shift()?.();
      if (this.#running === 0) this.#idle?.();
    });
  }

  idle(): Promise<void> {
    return this.#running === 0 ? Promise.resolve() : new Promise((resolve) => (this.#idle = resolve));
  }
}

/** A full collection, where the process allows one to be asked for. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function headerRecord(h: Iterable<[string, string[]]> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of h ?? []) out[k] = v.join(',');
  return out;
}

describe(`fuzz: ${COUNT} hostile requests (FUZZ_SEED=${SEED})`, () => {
  let stack: Stack;
  let alice: JobsClient;
  let admin: JobsClient;
  let raw: NatsConnection;
  const liveBefore = new Map<string, JobInfo>();
  const results: Result[] = [];
  let heapBefore = 0;
  let heapPeak = 0;
  let elapsed = 0;

  before(async () => {
    stack = await startStack({ limits: LIMITS });
    [alice, admin] = await Promise.all([stack.client('alice'), stack.client('admin')]);
    // No async stack traces per request: they cost more than the requests themselves.
    raw = await connect({ servers: stack.server.url, noAsyncTraces: true });
    await alice.start('test', { id: 'live-run', params: { steps: 100_000, 'step-ms': 20 } });
    await alice.start('test', { id: 'live-paused', params: { steps: 100_000, 'step-ms': 20 } });
    await alice.pause('live-paused');
    await alice.start('test', { id: 'live-ready', params: { steps: 1, 'step-ms': 1, ready: true } });
    await alice.start('test', { id: 'live-done', 'auto-dismiss': false, params: { steps: 1, 'step-ms': 1, result: { ok: 1 } } });
    await alice.wait('live-done', { timeoutMs: 5000 });
    for (let tries = 0; ; tries++) {
      const jobs = await alice.query();
      if (jobs.find((j) => j.id === 'live-ready')?.status === 'ready') {
        for (const job of jobs) liveBefore.set(job.id, job);
        break;
      }
      assert.ok(tries < 500, 'live-ready never got ready');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual([...liveBefore.keys()].sort(), [...LIVE_IDS].sort());
    collectGarbage();
    heapBefore = process.memoryUsage().heapUsed;
  });

  after(async () => {
    await raw?.close();
    await stack?.close();
  });

  /** Send one request; record the reply (or why there was none). */
  async function send(f: Fuzzed, index: number, e: Expectation, timeout: number): Promise<void> {
    const started = performance.now();
    const result: Result = { f: { command: f.command, caller: f.caller, strategy: f.strategy, size: f.payload.length, index }, e, ms: 0 };
    try {
      const msg = await raw.request(`${stack.prefix}.cmd.${f.caller}.${f.command}`, f.payload, { timeout });
      result.reply = parseReply(msg.string(), headerRecord(msg.headers));
    } catch (err) {
      result.problem = `no proper reply: ${(err as Error).message}`;
    }
    result.ms = performance.now() - started;
    results.push(result);
  }

  /** End every job the fuzzing callers started, so that pending job-waits are answered. */
  async function endFuzzJobs(): Promise<number> {
    let ended = 0;
    for (let round = 0; round < 100; round++) {
      const jobs = (await Promise.all(CALLERS.map((owner) => admin.query({ owner })))).flat();
      if (jobs.length === 0) return ended;
      for (const job of jobs) {
        const at = { owner: job.owner };
        if (job.status === 'concluded') await admin.dismiss(job.id, at).catch(() => undefined);
        else if (job.status !== 'aborting' && job.status !== 'null') await admin.cancel(job.id, { ...at, force: true }).catch(() => undefined);
        ended++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail('the fuzzing callers still have jobs after 100 rounds');
  }

  test('every request gets the reply the oracle allows, and none goes unanswered', async (t) => {
    const fuzzer = new Fuzzer(SEED);
    const window = new Window(IN_FLIGHT);
    const blocking: Array<Promise<void>> = [];
    const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 100);
    const t0 = performance.now();
    try {
      for (let i = 0; i < COUNT; i++) {
        const f = fuzzer.next();
        const e = expectationFor(f, LIMITS.maxPayload);
        if (mayBlock(f, e)) {
          blocking.push(send(f, i, e, 120_000));
          continue;
        }
        await window.run(() => send(f, i, e, REQUEST_TIMEOUT));
      }
      await window.idle();
      elapsed = performance.now() - t0;
      const ended = await endFuzzJobs();
      await Promise.all(blocking);
      t.diagnostic(`${blocking.length} job-waits that could block were answered after ending ${ended} fuzz jobs`);
    } finally {
      clearInterval(sampler);
    }

    // Every id a fuzzing caller had a job started under, from the replies.
    const started = new Map<string, Set<string>>(CALLERS.map((c) => [c, new Set()]));
    for (const r of results) {
      if (r.reply?.outcome !== 'ok') continue;
      const value = r.reply.value as { id?: string; jobs?: string[] };
      for (const id of [value.id, ...(value.jobs ?? [])]) if (typeof id === 'string') started.get(r.f.caller)?.add(id);
    }
    const failures: string[] = [];
    for (const r of results) {
      const problem = r.problem ?? verdict(r.f, r.e, r.reply!, started.get(r.f.caller) ?? new Set());
      if (problem) failures.push(`#${r.f.index} ${r.f.command} as ${r.f.caller} (${r.f.strategy}, ${r.f.size} bytes): ${problem}`);
    }

    // Statistics, for the record.
    const count = (key: (r: Result) => string) => {
      const m = new Map<string, number>();
      for (const r of results) m.set(key(r), (m.get(key(r)) ?? 0) + 1);
      return Object.fromEntries([...m].sort());
    };
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    t.diagnostic(`seed ${SEED}: ${results.length} requests in ${(elapsed / 1000).toFixed(1)} s (${Math.round(results.length / (elapsed / 1000))}/s), ${IN_FLIGHT} in flight`);
    t.diagnostic(`by strategy ${JSON.stringify(count((r) => r.f.strategy))}`);
    t.diagnostic(`by command ${JSON.stringify(count((r) => r.f.command))}`);
    t.diagnostic(`expected ${JSON.stringify(count((r) => (r.e.kind === 'error' ? `error:${r.e.why}` : 'valid')))}`);
    t.diagnostic(`outcomes ${JSON.stringify(count((r) => r.reply?.outcome ?? 'none'))}`);
    t.diagnostic(`valid args: outcomes ${JSON.stringify(count((r) => (r.e.kind === 'valid' ? `${r.f.command}:${r.reply?.outcome}` : '-')))}`);
    t.diagnostic(`largest payload ${Math.max(...results.map((r) => r.f.size))} bytes; latency p50 ${latencies[latencies.length >> 1]!.toFixed(1)} ms, p99 ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(0)} ms`);

    assert.equal(results.length, COUNT);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${COUNT} replies were wrong`);
    // Every kind of input came up, and the valid ones did real work.
    const outcomes = count((r) => r.reply?.outcome ?? 'none');
    for (const outcome of ['ok', '400', '404', '409']) assert.ok((outcomes[outcome] ?? 0) > 0, `no ${outcome} reply at all`);
    assert.ok(results.some((r) => r.e.kind === 'error' && r.e.why === 'size'), 'no payload over the service limit');
  });

  test('memory stays bounded', (t) => {
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    t.diagnostic(`heapUsed before ${(heapBefore / MB).toFixed(1)} MB, peak ${(heapPeak / MB).toFixed(1)} MB, after ${(after / MB).toFixed(1)} MB`);
    assert.ok(heapPeak - heapBefore < 768 * MB, `heap peaked ${((heapPeak - heapBefore) / MB).toFixed(0)} MB above the start`);
    assert.ok(after - heapBefore < 96 * MB, `heap grew by ${((after - heapBefore) / MB).toFixed(0)} MB`);
  });

  test('no prototype was polluted, and no file escaped the data directory', () => {
    for (const proto of [Object.prototype, Array.prototype, Function.prototype]) {
      assert.equal((proto as unknown as Record<string, unknown>).polluted, undefined);
    }
    for (const path of [join(stack.dataDir, '..', 'fuzz-escape-canary'), join(stack.dataDir, '..', '..', 'fuzz-escape-canary'), '/tmp/fuzz-escape-canary']) {
      assert.equal(existsSync(path), false, path);
    }
  });

  test("alice's live jobs are as they were, and still take verbs", async () => {
    const now = new Map((await alice.query()).map((j) => [j.id, j]));
    assert.deepEqual([...now.keys()].sort(), [...liveBefore.keys()].sort(), 'no job of alice came or went');
    for (const [id, before] of liveBefore) {
      const job = now.get(id)!;
      assert.equal(job.status, before.status, `${id}'s status`);
      assert.equal(job.speed, before.speed, `${id}'s speed`);
      assert.ok(job['current-progress'] >= before['current-progress'], `${id}'s progress went back`);
    }
    assert.ok(now.get('live-run')!['current-progress'] > liveBefore.get('live-run')!['current-progress'], 'the running job stopped');
    assert.equal(now.get('live-paused')!['current-progress'], liveBefore.get('live-paused')!['current-progress'], 'the paused job moved');
    assert.deepEqual(now.get('live-done')!.result, { ok: 1 });
    await alice.resume('live-paused');
    await alice.complete('live-ready');
    assert.equal((await alice.wait('live-ready', { timeoutMs: 5000 })).status, 'concluded');
    const ping = (await raw.request('$SRV.PING.jobstate', '', { timeout: 5000 })).json<{ name: string }>();
    assert.equal(ping.name, 'jobstate');
  });
});
