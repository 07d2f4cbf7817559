/**
 * What a `bench:cluster` phase cost, per process: CPU seconds of each nats-server, each service
 * instance and the bench's own process (its clients), from /proc/<pid>/stat; and the messages
 * each nats-server took in and sent (/varz in_msgs, out_msgs), over the phase. Linux only
 * (elsewhere the CPU figures are 0).
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from '../test/support/cluster.js';
import type { ServiceInstances } from '../test/support/instances.js';
import { fmt } from './measure.js';

const TICKS = 100;

/** CPU seconds (user + system) `pid` has used so far; 0 when unreadable. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

interface Varz {
  in_msgs: number;
  out_msgs: number;
}

async function varz(port: number): Promise<Varz> {
  const res = await fetch(`http://127.0.0.1:${port}/varz`, { signal: AbortSignal.timeout(2000) });
  return (await res.json()) as Varz;
}

interface Conn {
  cid: number;
  name?: string;
  in_msgs: number;
  out_msgs: number;
}

/** Every client connection's and route's message counts on the node at `port` (BENCH_PROBE=2). */
async function connz(port: number): Promise<Map<string, Conn>> {
  const out = new Map<string, Conn>();
  const conns = (await (await fetch(`http://127.0.0.1:${port}/connz?limit=1000`)).json()) as { connections: Conn[] };
  for (const c of conns.connections) out.set(`${c.cid} ${c.name ?? ''}`, c);
  const routes = (await (await fetch(`http://127.0.0.1:${port}/routez`)).json()) as { routes: Array<Conn & { rid: number; remote_id: string }> };
  for (const r of routes.routes) out.set(`route ${r.rid}`, r);
  return out;
}

interface Sample {
  at: number;
  servers: number[];
  instances: number[];
  bench: number;
  msgs: Varz[];
  conns: Array<Map<string, Conn>>;
}

async function sample(cluster: Cluster, fleet: ServiceInstances): Promise<Sample> {
  const bench = process.cpuUsage();
  return {
    at: performance.now(),
    servers: cluster.nodes.map((n) => cpuSeconds(cluster.pid(n.index))),
    instances: fleet.ids.map((_, k) => cpuSeconds(fleet.pid(k))),
    bench: (bench.user + bench.system) / 1e6,
    msgs: await Promise.all(cluster.nodes.map((n) => varz(n.monitorPort))),
    conns: process.env.BENCH_PROBE === '2' ? await Promise.all(cluster.nodes.map((n) => connz(n.monitorPort))) : [],
  };
}

/** Start measuring; the returned function ends the phase and returns its one-line summary. */
export async function probe(cluster: Cluster, fleet: ServiceInstances): Promise<(label: string, ops: number) => Promise<string>> {
  const before = await sample(cluster, fleet);
  return async (label, ops) => {
    const after = await sample(cluster, fleet);
    const secs = (after.at - before.at) / 1000;
    const pct = (a: number, b: number) => fmt(((a - b) / secs) * 100, 0);
    const servers = after.servers.map((c, i) => pct(c, before.servers[i]!)).join('/');
    const instances = after.instances.map((c, k) => pct(c, before.instances[k]!)).join('/');
    const serverCpu = after.servers.reduce((s, c, i) => s + c - before.servers[i]!, 0);
    const instanceCpu = after.instances.reduce((s, c, k) => s + c - before.instances[k]!, 0);
    const benchCpu = after.bench - before.bench;
    const inMsgs = after.msgs.reduce((s, m, i) => s + m.in_msgs - before.msgs[i]!.in_msgs, 0);
    const outMsgs = after.msgs.reduce((s, m, i) => s + m.out_msgs - before.msgs[i]!.out_msgs, 0);
    const per = (x: number) => fmt(x / Math.max(1, ops), 1);
    after.conns.forEach((conns, node) => {
      const lines: string[] = [];
      for (const [key, c] of conns) {
        const b = before.conns[node]!.get(key);
        const din = c.in_msgs - (b?.in_msgs ?? 0);
        const dout = c.out_msgs - (b?.out_msgs ?? 0);
        if (din + dout > ops / 20) lines.push(`  n${node} ${key.replace(/jobstate-client-t\d+/, 'client')}: in ${per(din)} out ${per(dout)} per op`);
      }
      console.log(lines.join('\n'));
    });
    const us = (x: number) => fmt((x * 1e6) / Math.max(1, ops), 0);
    return (
      `${label}: ${fmt(ops / secs, 0)}/s; CPU % servers ${servers}, instances ${instances}, bench ${fmt((benchCpu / secs) * 100, 0)}; ` +
      `CPU µs per op: servers ${us(serverCpu)}, instances ${us(instanceCpu)}, bench ${us(benchCpu)}; msgs per op in ${per(inMsgs)} out ${per(outMsgs)}`
    );
  };
}
