#!/usr/bin/env node
/**
 * `npm run cluster`: three nats-servers (config/cluster/n1..n3.conf, loopback, stores under
 * data/cluster/) and three jobstate instances (i1..i3, JOBS_REPLICAS=3, each preferring its own
 * server) on one host, to try scale-out and failover (docs/cluster.md). Prints what runs where;
 * type `help` for the commands that kill and start a part; Ctrl-C stops everything (instances
 * first, gracefully, then the servers).
 *
 * Environment (for tests; the defaults are what docs/cluster.md describes):
 *   CLUSTER_PORT_SHIFT  added to every port of the configs (client 4301-4303, routes 6301-6303,
 *                       monitor 8301-8303) and to the instances' HTTP ports (4381-4383); default 0
 *   CLUSTER_DATA        where the servers' stores and the instances' logs go; default data/cluster
 *   CLUSTER_HTTP        `off`: no HTTP server in the instances
 * Any other variable (JOBS_*, LOG_LEVEL) is passed on to the instances.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHIFT = Number(process.env.CLUSTER_PORT_SHIFT ?? '0');
if (!Number.isInteger(SHIFT) || SHIFT < 0 || SHIFT > 50_000) {
  process.stderr.write('cluster: CLUSTER_PORT_SHIFT must be a whole number from 0 to 50000\n');
  process.exit(1);
}
const DATA = resolve(ROOT, process.env.CLUSTER_DATA ?? 'data/cluster');
const HTTP = process.env.CLUSTER_HTTP !== 'off';
const MAIN = join(ROOT, 'dist/src/main.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function natsServerBinary() {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  return ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
}

const servers = [1, 2, 3].map((n) => ({
  name: `n${n}`,
  config: join(ROOT, `config/cluster/n${n}.conf`),
  port: 4300 + n + SHIFT,
  routePort: 6300 + n + SHIFT,
  monitorPort: 8300 + n + SHIFT,
  store: join(DATA, `n${n}`),
  child: undefined,
}));
const urls = servers.map((s) => `nats://127.0.0.1:${s.port}`);
const instances = [1, 2, 3].map((n) => ({
  name: `i${n}`,
  // Each prefers a different server: the list rotated to start at its own.
  natsUrl: [...urls.slice(n - 1), ...urls.slice(0, n - 1)].join(','),
  http: HTTP ? `127.0.0.1:${4380 + n + SHIFT}` : 'off',
  log: join(DATA, `i${n}.log`),
  child: undefined,
}));

function startServer(s) {
  // config/cluster's file with its ports shifted and its store placed (a copy under DATA).
  const text = readFileSync(s.config, 'utf8')
    .replace(/127\.0\.0\.1:([468]30[1-3])\b/g, (_, port) => `127.0.0.1:${Number(port) + SHIFT}`)
    .replace(/store_dir: .*/, `store_dir: ${JSON.stringify(s.store)}`);
  const config = join(DATA, `${s.name}.conf`);
  writeFileSync(config, text);
  const args = ['-c', config];
  mkdirSync(s.store, { recursive: true });
  const out = createWriteStream(join(DATA, `${s.name}.log`), { flags: 'a' });
  s.child = spawn(BINARY, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  s.child.stdout.pipe(out);
  s.child.stderr.pipe(out);
  s.child.once('exit', (code, signal) => {
    if (!stopping) say(`${s.name} (nats-server) exited (${signal ?? code}); \`start ${s.name}\` starts it again`);
  });
}

/** True once every live server reports one JetStream meta leader. */
async function metaReady() {
  const live = servers.filter((s) => running(s.child));
  const leaders = await Promise.all(
    live.map((s) =>
      fetch(`http://127.0.0.1:${s.monitorPort}/jsz`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.json())
        .then((j) => j.meta_cluster?.leader ?? '')
        .catch(() => ''),
    ),
  );
  return leaders.length > 0 && leaders.every((l) => l !== '' && l === leaders[0]);
}

function startInstance(i) {
  const out = createWriteStream(i.log, { flags: 'a' });
  const env = {
    ...process.env,
    NATS_URL: i.natsUrl,
    JOBS_INSTANCE_ID: i.name,
    JOBS_REPLICAS: '3',
    JOBS_HTTP: i.http,
    LOG_FORMAT: 'json',
    // Each stream's max_bytes is reserved on all three servers: sized for config/cluster's 4 GB stores.
    JOBS_EVENTS_MAX_BYTES: process.env.JOBS_EVENTS_MAX_BYTES ?? String(256 * 1024 * 1024),
    JOBS_PIPE_MAX_BYTES: process.env.JOBS_PIPE_MAX_BYTES ?? String(64 * 1024 * 1024),
  };
  delete env.JOBS_NATS_CONFIG;
  i.child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  i.child.stderr.pipe(out);
  const ready = new Promise((resolveReady, reject) => {
    createInterface({ input: i.child.stdout }).on('line', (line) => {
      out.write(line + '\n');
      if (line.includes('"msg":"ready"')) resolveReady();
    });
    i.child.once('exit', (code, signal) => {
      reject(new Error(`${i.name} exited (${signal ?? code}) before it was ready; see ${i.log}`));
      if (!stopping) say(`${i.name} (instance) exited (${signal ?? code}); \`start ${i.name}\` starts it again`);
    });
  });
  return ready;
}

const running = (child) => child !== undefined && child.exitCode === null && child.signalCode === null;
const exited = (child) => (running(child) ? new Promise((r) => child.once('exit', () => r())) : Promise.resolve());
const say = (line) => process.stdout.write(`cluster: ${line}\n`);

function table() {
  const rows = [
    ...servers.map((s) => `  ${s.name}  nats-server  pid ${String(s.child?.pid ?? '-').padEnd(7)} ${running(s.child) ? 'up  ' : 'DOWN'}  ${urls[servers.indexOf(s)]}  monitor http://127.0.0.1:${s.monitorPort}  store ${s.store}`),
    ...instances.map((i) => `  ${i.name}  jobstate     pid ${String(i.child?.pid ?? '-').padEnd(7)} ${running(i.child) ? 'up  ' : 'DOWN'}  NATS_URL=${i.natsUrl}  http ${i.http}  log ${i.log}`),
  ];
  return rows.join('\n');
}

const HELP = `Try failover (docs/cluster.md):
  kill i2      SIGKILL instance i2: its partitions move to i1 and i3 within ~13–14 s (the lease)
  stop i2      SIGTERM instance i2: it hands its partitions over at once
  kill n1      SIGKILL nats-server n1: the instances on it reconnect to another; writes stall for a leader election
  start i2|n1  start it again
  status       what runs where
  Ctrl-C       stop everything
Clients: NATS_URL=${urls[0]} npm run jobctl -- start test '{"steps":60,"step-ms":1000}' --user alice   (any server, any instance answers)`;

async function command(line) {
  const [verb, what] = line.trim().split(/\s+/);
  const server = servers.find((s) => s.name === what);
  const instance = instances.find((i) => i.name === what);
  const child = server?.child ?? instance?.child;
  if (verb === 'status' || verb === '') return say(`\n${table()}`);
  if (verb === 'help') return say(`\n${HELP}`);
  if ((verb === 'kill' || verb === 'stop') && (server || instance)) {
    if (!running(child)) return say(`${what} is not running`);
    child.kill(verb === 'kill' ? 'SIGKILL' : 'SIGTERM');
    await exited(child);
    return say(`${what} stopped (${verb === 'kill' ? 'SIGKILL' : 'SIGTERM'})`);
  }
  if (verb === 'start' && (server || instance)) {
    if (running(child)) return say(`${what} is running already`);
    if (server) startServer(server);
    else await startInstance(instance).catch((err) => say(err.message));
    return say(`${what} started`);
  }
  say(`unknown command '${line.trim()}'; type help`);
}

let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  say('stopping: instances first (SIGTERM: drain, save, release), then the servers');
  await Promise.all(instances.map((i) => (running(i.child) ? (i.child.kill('SIGTERM'), exited(i.child)) : undefined)));
  await Promise.all(servers.map((s) => (running(s.child) ? (s.child.kill('SIGTERM'), exited(s.child)) : undefined)));
  say('stopped');
  process.exit(code);
}

const BINARY = natsServerBinary();
if (!BINARY) {
  process.stderr.write('cluster: nats-server is not installed: install it with `apt-get install nats-server`\n');
  process.exit(1);
}
if (!existsSync(MAIN)) {
  process.stderr.write('cluster: dist/ is missing: run `npm run cluster` (it builds first)\n');
  process.exit(1);
}
mkdirSync(DATA, { recursive: true });
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

say(`starting 3 nats-servers (config/cluster, stores in ${DATA})`);
for (const s of servers) startServer(s);
const deadline = Date.now() + 30_000;
while (!(await metaReady())) {
  if (Date.now() > deadline || servers.some((s) => !running(s.child))) {
    say(`the nats-servers did not form a cluster; see ${DATA}/n*.log`);
    await stopAll(1);
  }
  await sleep(200);
}
say('starting 3 instances (i1..i3), one after the other');
for (const i of instances) {
  try {
    await startInstance(i);
  } catch (err) {
    say(err.message);
    await stopAll(1);
  }
}
say(`ready\n${table()}\n\n${HELP}`);
if (process.stdin.isTTY || process.env.CLUSTER_STDIN === 'on') {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => void command(line));
  rl.on('close', () => void stopAll(0));
}
