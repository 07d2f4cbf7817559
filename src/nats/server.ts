/**
 * Runs a nats-server as a child process: the service's embedded default, and the test
 * harness's private broker. Finds the binary, picks a free loopback port when the wanted one
 * is taken, waits until the server accepts connections, and stops it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

/** Where Debian and most installs put nats-server, after the PATH. */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

export class NatsServerMissingError extends Error {
  constructor() {
    super('nats-server is not installed: install it with `apt-get install nats-server` (or set NATS_URL to use a running server)');
    this.name = 'NatsServerMissingError';
  }
}

/** The nats-server binary (`NATS_SERVER_BIN` if set, else the PATH, else the usual places), or undefined. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NATS_SERVER_BIN) return existsSync(env.NATS_SERVER_BIN) ? env.NATS_SERVER_BIN : undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/nats-server`)) return `${dir}/nats-server`;
  }
  return CANDIDATES.find((path) => existsSync(path));
}

export interface NatsServerOptions {
  /** A config file to start with. */
  config?: string;
  /** The port to use if free; otherwise (or when omitted) a free one is picked. */
  port?: number;
  /** Enable JetStream, storing under this directory. */
  jetstreamDir?: string;
  /** The working directory (relative paths in the config resolve against it). */
  cwd?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /**
   * A WebSocket listener (browsers connect there: the dashboard), on loopback without TLS: on
   * `port` if free, else on a free one. A server started with a `config` always gets one (its
   * config's own `websocket` block is overridden, so that two servers never fight over its port).
   */
  websocket?: { port?: number };
  /**
   * Run it in its own process group, so that a terminal's Ctrl-C (SIGINT to the foreground
   * group) does not stop it under its owner, who stops it after its last save. It is still
   * stopped when this process exits (not when it is SIGKILLed).
   */
  detached?: boolean;
}

export class NatsServer implements AsyncDisposable {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  #wrapperDir: string | undefined;

  private constructor(
    readonly binary: string,
    readonly port: number,
    /** The WebSocket listener's port, if there is one. */
    readonly wsPort: number | undefined,
    private readonly opts: NatsServerOptions,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The WebSocket listener's URL (for browsers), if there is one. */
  get wsUrl(): string | undefined {
    return this.wsPort === undefined ? undefined : `ws://127.0.0.1:${this.wsPort}`;
  }

  /** What the server printed, for diagnostics. */
  get output(): string {
    return this.#log;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const binary = findNatsServer();
    if (!binary) throw new NatsServerMissingError();
    const port = opts.port !== undefined && (await portIsFree(opts.port)) ? opts.port : await freePort();
    let wsPort: number | undefined;
    if (opts.websocket !== undefined || opts.config !== undefined) {
      const wanted = opts.websocket?.port;
      wsPort = wanted !== undefined && wanted !== port && (await portIsFree(wanted)) ? wanted : await freePort();
      // Two probes in a row may be handed the same ephemeral port.
      while (wsPort === port) wsPort = await freePort();
    }
    const server = new NatsServer(binary, port, wsPort, opts);
    // A server that fails to start leaves nothing behind (its config of our own included).
    await server.#spawn().catch(async (err: unknown) => {
      await server.stop();
      throw err;
    });
    return server;
  }

  async #spawn(): Promise<void> {
    const { jetstreamDir, cwd, args = [], detached = false } = this.opts;
    const config = this.#config();
    const argv = [
      ...(config ? ['-c', config] : []),
      '-a', '127.0.0.1',
      '-p', String(this.port),
      ...(jetstreamDir ? ['-js', '-sd', jetstreamDir] : []),
      ...args,
    ];
    const child = spawn(this.binary, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached });
    this.#child = child;
    if (detached) {
      // Out of the terminal's process group: stop it on any exit of this process, also process.exit().
      const onExit = () => child.kill('SIGTERM');
      process.once('exit', onExit);
      child.once('exit', () => process.removeListener('exit', onExit));
    }
    const append = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-16_384);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitForPort(this.port, child, () => this.#log);
  }

  /**
   * The config file to run: the given one as it is without a WebSocket listener; with one, a
   * file of ours that includes it (nats-server resolves an include against the including
   * file's directory, so by a relative path) and then sets the listener, which overrides a
   * `websocket` block of the config (the last value of a key wins).
   */
  #config(): string | undefined {
    const { config, cwd } = this.opts;
    if (this.wsPort === undefined) return config;
    this.#wrapperDir ??= mkdtempSync(join(tmpdir(), 'jobstate-nats-conf-'));
    const wrapper = join(this.#wrapperDir, 'nats.conf');
    const lines = [];
    if (config !== undefined) lines.push(`include ${JSON.stringify(relative(this.#wrapperDir, resolve(cwd ?? '.', config)))}`);
    lines.push(`websocket { listen: "127.0.0.1:${this.wsPort}", no_tls: true }`);
    writeFileSync(wrapper, lines.join('\n') + '\n');
    return wrapper;
  }

  /** Stop the server (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  async stop(): Promise<void> {
    await this.#stopProcess();
    if (this.#wrapperDir !== undefined) rmSync(this.#wrapperDir, { recursive: true, force: true });
    this.#wrapperDir = undefined;
  }

  async #stopProcess(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGCONT'); // a frozen server would not see the SIGTERM
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  /**
   * Re-read the config file, as `nats-server --signal reload` does (SIGHUP): changed users,
   * passwords and permissions apply without a restart.
   */
  reload(): void {
    this.#child?.kill('SIGHUP');
  }

  /**
   * Freeze the server (SIGSTOP) until {@link thaw}: its clients stay connected and what they
   * send waits in its socket, as under a stall (tests use it to make acknowledgements late).
   */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Let a frozen server go on (SIGCONT). */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Stop and start again on the same port with the same store. */
  async restart(): Promise<void> {
    // Not this.stop(): a subclass or wrapper may clean up after the last stop (e.g. remove the store).
    await this.#stopProcess();
    await this.#spawn();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log().trim()}`);
    if (await connects(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`nats-server did not accept connections on port ${port} within 10 s: ${log().trim()}`);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
