/**
 * What the coordinator tests share: three coordinators on connections to different nodes of
 * a test cluster, a timeline of every gain and loss (one monotonic clock: they run in this
 * process), and the checks on it — each partition owned exactly once, never by two at once.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Coordinator } from '../../src/cluster/coordinator.js';
import type { CoordinatorOptions } from '../../src/cluster/coordinator.js';
import { DEFAULT_PARTITIONS } from '../../src/cluster/partition.js';
import { after, before } from 'node:test';
import { startCluster } from '../support/cluster.js';
import type { Cluster } from '../support/cluster.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface Change {
  t: number;
  who: string;
  p: number;
  kind: 'gained' | 'lost';
  epoch?: number;
  reason?: string;
}

export interface Instances {
  prefix: string;
  coordinators: Coordinator[];
  connections: NatsConnection[];
  timeline: Change[];
  errors: unknown[];
  /** Start one more coordinator on node `node`. */
  add(name: string, node: number): Promise<Coordinator>;
  close(): Promise<void>;
}

let prefixes = 0;

/** Start coordinators `a`, `b`, `c` on nodes 0, 1, 2 (replicas 3), all with `opts`. */
export async function startInstances(cluster: Cluster, opts: Partial<CoordinatorOptions> = {}, names = ['a', 'b', 'c']): Promise<Instances> {
  const prefix = `cl${process.pid}x${++prefixes}`;
  const timeline: Change[] = [];
  const errors: unknown[] = [];
  const coordinators: Coordinator[] = [];
  const connections: NatsConnection[] = [];
  const add = async (name: string, node: number) => {
    const nc = await cluster.connect(node);
    connections.push(nc);
    const c = await Coordinator.start(nc, {
      prefix,
      id: name,
      replicas: 3,
      ...opts,
      onGained: (p, epoch) => void timeline.push({ t: performance.now(), who: name, p, kind: 'gained', epoch }),
      onLost: (p, reason) => void timeline.push({ t: performance.now(), who: name, p, kind: 'lost', reason }),
      onError: (err) => void errors.push(err),
    });
    coordinators.push(c);
    return c;
  };
  for (const [i, name] of names.entries()) await add(name, i % cluster.nodes.length);
  return {
    prefix,
    coordinators,
    connections,
    timeline,
    errors,
    add,
    close: async () => {
      for (const c of coordinators) c.abandon();
      await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
    },
  };
}

/** Partition → owner, as the coordinators report it now; fails if two claim one. */
export function owners(coordinators: Coordinator[], partitions = DEFAULT_PARTITIONS): Array<string | undefined> {
  const table: Array<string | undefined> = Array.from({ length: partitions });
  for (const c of coordinators) {
    for (const p of c.owned()) {
      if (table[p] !== undefined) throw new Error(`partition ${p} owned by ${table[p]} and ${c.id}`);
      table[p] = c.id;
    }
  }
  return table;
}

/** Wait until every partition is owned exactly once, by the member the assignment names. */
export async function settled(coordinators: Coordinator[], timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const table = owners(coordinators);
    const agreed = coordinators.every((c) => {
      const assigned = c.assigned();
      const owned = c.owned();
      return assigned.length === owned.length && assigned.every((p, i) => owned[i] === p);
    });
    if (agreed && table.every((o) => o !== undefined)) return performance.now() - start;
    await sleep(50);
  }
  throw new Error(`not settled within ${timeoutMs} ms: ${JSON.stringify(owners(coordinators))}`);
}

/** Overlaps in the timeline: a gain of a partition while another instance still holds it. */
export function doubleOwnership(timeline: Change[]): string[] {
  const holder = new Map<number, string>();
  const out: string[] = [];
  for (const e of [...timeline].sort((x, y) => x.t - y.t)) {
    if (e.kind === 'gained') {
      const h = holder.get(e.p);
      if (h !== undefined && h !== e.who) out.push(`p${e.p}: ${e.who} gained at ${e.t.toFixed(0)} while ${h} held it`);
      holder.set(e.p, e.who);
    } else if (holder.get(e.p) === e.who) {
      holder.delete(e.p);
    }
  }
  return out;
}

/** Epochs must strictly increase per partition across holders. */
export function epochsIncrease(timeline: Change[]): string[] {
  const last = new Map<number, number>();
  const out: string[] = [];
  for (const e of [...timeline].sort((x, y) => x.t - y.t)) {
    if (e.kind !== 'gained' || e.epoch === undefined) continue;
    const prev = last.get(e.p);
    if (prev !== undefined && e.epoch <= prev) out.push(`p${e.p}: epoch ${e.epoch} after ${prev}`);
    last.set(e.p, e.epoch);
  }
  return out;
}

/**
 * A suite's own 3-node cluster with three coordinators on it (a, b, c), started before its
 * tests and stopped after them: every node continued first (a test may have frozen one).
 */
export function coordinatorsForSuite(): { readonly cluster: Cluster; readonly inst: Instances } {
  const suite = {} as { cluster: Cluster; inst: Instances };
  before(async () => {
    suite.cluster = await startCluster();
    suite.inst = await startInstances(suite.cluster);
  });
  after(async () => {
    for (const n of suite.cluster?.nodes ?? []) suite.cluster.cont(n.index);
    await suite.inst?.close();
    await suite.cluster?.close();
  });
  return suite;
}
