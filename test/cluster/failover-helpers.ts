/**
 * What the failover tests share: a fleet of jobs in every steady status across many owners
 * (grouped transactions too), a snapshot of their statuses, and the check that every job's
 * JOB_STATUS_CHANGE sequence is one QEMU's table allows, with no duplicate.
 */
import assert from 'node:assert/strict';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { TRANSITIONS } from '../../src/testing/qemu-tables.js';
import type { JobStatus } from '../../machines/index.js';
import type { JobInfo, JobsClient } from '../../src/sdk/index.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The statuses a fleet job settles in, by kind. */
export const SETTLED = { concluded: 'concluded', pending: 'pending', ready: 'ready', paused: 'paused', grouped: 'pending' } as const;
export type Kind = keyof typeof SETTLED;

export interface FleetJob {
  owner: string;
  id: string;
  kind: Kind;
}

/** Every status change published under `prefix`, by `<owner>.<id>`, in arrival order. */
export class StatusLog {
  readonly byJob = new Map<string, string[]>();
  /** The same, each as `<status>#<Jobs-Seq>/<Jobs-Creation>`. */
  readonly marks = new Map<string, string[]>();
  readonly ready: Promise<void>;
  readonly #sub: Subscription;

  constructor(nc: NatsConnection, prefix: string) {
    this.#sub = nc.subscribe(`${prefix}.evt.*.*.JOB_STATUS_CHANGE`, {
      callback: (err, msg) => {
        if (err) return;
        const { data } = msg.json<{ data: { id: string; owner: string; status: string } }>();
        const key = `${data.owner}.${data.id}`;
        const list = this.byJob.get(key) ?? [];
        list.push(data.status);
        this.byJob.set(key, list);
        // Numbers and creation, to tell an event published twice from a new one when a check fails.
        const marks = this.marks.get(key) ?? [];
        marks.push(`${data.status}#${msg.headers?.get('Jobs-Seq') ?? '?'}/${msg.headers?.get('Jobs-Creation') ?? '?'}`);
        this.marks.set(key, marks);
      },
    });
    this.ready = nc.flush();
  }

  /** Each of `jobs`' sequences starts at `created`, moves only as QEMU's table allows, and repeats nothing. */
  check(jobs: Array<{ owner: string; id: string }>): void {
    const bad: string[] = [];
    for (const { owner, id } of jobs) {
      const seq = this.byJob.get(`${owner}.${id}`) ?? [];
      let prev: JobStatus = 'undefined';
      for (const status of seq as JobStatus[]) {
        if (status === prev || !TRANSITIONS[prev].includes(status)) {
          bad.push(`${owner}/${id}: ${prev} → ${status} in [${(this.marks.get(`${owner}.${id}`) ?? seq).join(', ')}]`);
          break;
        }
        prev = status === 'null' ? 'undefined' : status;
      }
      if (seq.length === 0) bad.push(`${owner}/${id}: no status change seen`);
    }
    assert.deepEqual(bad, [], `invalid event sequences:\n${bad.slice(0, 20).join('\n')}`);
  }

  close(): void {
    this.#sub.unsubscribe();
  }
}

/**
 * Start `count` jobs over `owners` (clients by owner), round robin: concluded (auto-dismiss
 * off), pending (auto-finalize off), ready, paused and grouped pairs (a grouped transaction,
 * auto-finalize off); resolves once each has settled in its status.
 */
export async function startFleet(clients: Map<string, JobsClient>, admin: JobsClient, count: number): Promise<FleetJob[]> {
  const owners = [...clients.keys()];
  const kinds: Kind[] = ['concluded', 'pending', 'ready', 'paused', 'grouped'];
  const plan: Array<{ owner: string; kind: Kind }> = [];
  for (let k = 0; plan.length < count; k++) {
    const kind = kinds[k % kinds.length]!;
    const owner = owners[k % owners.length]!;
    plan.push({ owner, kind });
    if (kind === 'grouped' && plan.length < count) plan.push({ owner, kind });
    if (kind === 'grouped' && plan.length > count) plan.pop();
  }
  const jobs: FleetJob[] = [];
  const quick = { type: 'test', params: { steps: 1, 'step-ms': 1 } };
  const startOne = async (owner: string, kind: Kind, pair: boolean): Promise<void> => {
    const c = clients.get(owner)!;
    if (kind === 'grouped') {
      const actions = Array.from({ length: pair ? 2 : 1 }, () => ({ ...quick, 'auto-finalize': false }));
      const ids = await c.transaction(actions, 'grouped');
      for (const id of ids) jobs.push({ owner, id, kind });
      return;
    }
    const args =
      kind === 'concluded'
        ? { params: { steps: 1, 'step-ms': 1 }, 'auto-dismiss': false }
        : kind === 'pending'
          ? { params: { steps: 1, 'step-ms': 1 }, 'auto-finalize': false }
          : kind === 'ready'
            ? { params: { steps: 1, 'step-ms': 1, ready: true } }
            : { params: { steps: 100_000, 'step-ms': 1000 } };
    const id = await c.start('test', args);
    if (kind === 'paused') await c.pause(id);
    jobs.push({ owner, id, kind });
  };
  // Grouped pairs are consecutive plan entries of one owner: one transaction each.
  const batches: Array<() => Promise<void>> = [];
  for (let i = 0; i < plan.length; i++) {
    const { owner, kind } = plan[i]!;
    const pair = kind === 'grouped' && plan[i + 1]?.kind === 'grouped' && plan[i + 1]?.owner === owner;
    batches.push(() => startOne(owner, kind, pair));
    if (pair) i++;
  }
  for (let i = 0; i < batches.length; i += 16) await Promise.all(batches.slice(i, i + 16).map((f) => f()));
  await settled(admin, jobs, 30_000);
  return jobs;
}

/** Every job by `<owner>.<id>`, as admin query-jobs lists them. */
export async function snapshot(admin: JobsClient): Promise<Map<string, JobInfo>> {
  const all = await admin.query({});
  return new Map(all.map((j) => [`${j.owner}.${j.id}`, j]));
}

/** Resolves once each job is in its kind's status (admin query-jobs), else rejects naming those that are not. */
export async function settled(admin: JobsClient, jobs: FleetJob[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await snapshot(admin);
    const off = jobs.filter((j) => now.get(`${j.owner}.${j.id}`)?.status !== SETTLED[j.kind]);
    if (off.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`jobs not settled: ${off.slice(0, 10).map((j) => `${j.owner}/${j.id} ${j.kind}: ${now.get(`${j.owner}.${j.id}`)?.status}`).join('; ')}`);
    }
    await sleep(250);
  }
}
