/**
 * A 3-node nats-server cluster of the test's own on loopback: free client, route and monitor
 * ports per node, a temporary JetStream store per node, one cluster name, full-mesh routes.
 * `startCluster()` returns once every node agrees on a JetStream meta leader (so streams can be
 * created). Nodes can be SIGKILLed, SIGSTOPped, continued and restarted (same ports, same
 * store) by index; `streamLeader` asks the JS API which node leads a stream. `close()` kills
 * every node and removes the stores. Never touches the machine's shared servers.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { findNatsServer, freePort, NatsServerMissingError } from '../../src/nats/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ClusterNode {
  index: number;
  /** The server_name (n0, n1, n2): what the JS API reports as a leader. */
  name: string;
  port: number;
  routePort: number;
  monitorPort: number;
  storeDir: string;
  url: string;
}

export interface ClusterOptions {
  /** Extra config text appended to every node's config (e.g. a `mappings` block). */
  extraConfig?: string;
  /** @defaultValue 3 */
  size?: number;
}

export interface Cluster extends AsyncDisposable {
  nodes: ClusterNode[];
  /** Every node's client URL, for a connection that may fail over. */
  urls: string[];
  /** A connection to node `index` first (the others as fallbacks). */
  connect(index: number, opts?: ConnectionOptions): Promise<NatsConnection>;
  kill(index: number): Promise<void>;
  /** Whether node `index` runs (a stopped node still does). */
  alive(index: number): boolean;
  stop(index: number): void;
  cont(index: number): void;
  /** Start a killed node again (same ports, same store), and wait until the meta group has a leader. */
  restart(index: number): Promise<void>;
  /** The index of the node leading `stream` (asked through a connection to any live node). */
  streamLeader(stream: string): Promise<number>;
  /** Wait until every live node sees a JetStream meta leader. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** What node `index` printed, for diagnostics. */
  output(index: number): string;
  /** Node `index`'s process id (undefined before its start). */
  pid(index: number): number | undefined;
  close(): Promise<void>;
}

async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  // Two probes in a row may be handed the same ephemeral port.
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Start a cluster and wait for its JetStream meta leader. */
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const binary = findNatsServer();
  if (!binary) throw new NatsServerMissingError();
  const size = opts.size ?? 3;
  const ports = await freePorts(size * 3);
  const root = mkdtempSync(join(tmpdir(), 'jobstate-cluster-'));
  const clusterName = `c${process.pid}`;
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const port = ports[i * 3]!;
    nodes.push({
      index: i,
      name: `n${i}`,
      port,
      routePort: ports[i * 3 + 1]!,
      monitorPort: ports[i * 3 + 2]!,
      storeDir: join(root, `n${i}`),
      url: `nats://127.0.0.1:${port}`,
    });
  }
  const configs = nodes.map((node) => {
    const routes = nodes.filter((n) => n !== node).map((n) => `"nats-route://127.0.0.1:${n.routePort}"`);
    const text = [
      `server_name: ${node.name}`,
      `listen: "127.0.0.1:${node.port}"`,
      `http: "127.0.0.1:${node.monitorPort}"`,
      `jetstream { store_dir: ${JSON.stringify(node.storeDir)}, max_memory_store: 64MB, max_file_store: 1GB }`,
      `cluster { name: ${clusterName}, listen: "127.0.0.1:${node.routePort}", routes: [${routes.join(', ')}] }`,
      opts.extraConfig ?? '',
    ].join('\n');
    const file = join(root, `${node.name}.conf`);
    writeFileSync(file, text + '\n');
    return file;
  });

  const children: Array<ChildProcess | undefined> = nodes.map(() => undefined);
  const logs = nodes.map(() => '');
  const spawnNode = (i: number) => {
    const child = spawn(binary, ['-c', configs[i]!], { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => void (logs[i] = (logs[i] + chunk.toString()).slice(-16_384));
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    children[i] = child;
    // A test that dies without close() must not leave its servers behind.
    const onExit = () => child.kill('SIGKILL');
    process.once('exit', onExit);
    child.once('exit', () => process.removeListener('exit', onExit));
  };
  const alive = (i: number) => {
    const c = children[i];
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  };
  const killNode = async (i: number) => {
    const child = children[i];
    if (!child || !alive(i)) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };

  /** The meta leader node `i` reports on /jsz, or '' when it has none (or does not answer). */
  const metaLeader = async (i: number): Promise<string> => {
    try {
      const res = await fetch(`http://127.0.0.1:${nodes[i]!.monitorPort}/jsz`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { meta_cluster?: { leader?: string } };
      return body.meta_cluster?.leader ?? '';
    } catch {
      return '';
    }
  };

  const waitReady = async (timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const live = nodes.map((n) => n.index).filter(alive);
      const leaders = await Promise.all(live.map(metaLeader));
      if (leaders.every((l) => l !== '' && l === leaders[0])) return;
      await sleep(100);
    }
    throw new Error(`cluster: no JetStream meta leader within ${timeoutMs} ms\n${logs.join('\n---\n').slice(-4000)}`);
  };

  const cluster: Cluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    connect: (index, extra) =>
      connect({
        servers: [nodes[index]!.url, ...nodes.filter((n) => n.index !== index).map((n) => n.url)],
        noRandomize: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
        ...extra,
      }),
    kill: killNode,
    alive,
    stop: (i) => void children[i]?.kill('SIGSTOP'),
    cont: (i) => void children[i]?.kill('SIGCONT'),
    restart: async (i) => {
      await killNode(i);
      spawnNode(i);
      await waitReady();
    },
    streamLeader: async (stream) => {
      const live = nodes.map((n) => n.index).filter(alive);
      let lastError: unknown;
      for (const i of live) {
        let nc: NatsConnection | undefined;
        try {
          nc = await connect({ servers: nodes[i]!.url, maxReconnectAttempts: 0 });
          const msg = await nc.request(`$JS.API.STREAM.INFO.${stream}`, '', { timeout: 2000 });
          const info = msg.json<{ cluster?: { leader?: string }; error?: { description: string } }>();
          const leader = info.cluster?.leader;
          const found = nodes.find((n) => n.name === leader);
          if (found) return found.index;
          lastError = new Error(info.error?.description ?? `stream ${stream} has no leader`);
        } catch (err) {
          lastError = err;
        } finally {
          await nc?.close();
        }
      }
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    },
    waitReady,
    output: (i) => logs[i] ?? '',
    pid: (i) => children[i]?.pid,
    close: async () => {
      for (const child of children) child?.kill('SIGCONT');
      await Promise.all(nodes.map((n) => killNode(n.index)));
      rmSync(root, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => cluster.close(),
  };

  for (const node of nodes) spawnNode(node.index);
  try {
    await waitReady();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
