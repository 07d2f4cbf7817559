/**
 * The processes of `bench:commands`: node scripts run as children, and the CPU time any local
 * process has used, read from /proc (Linux).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface Child {
  readonly pid: number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface NodeChildOptions {
  env: Record<string, string>;
  /** Arguments for node itself, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Where stdout goes: a file descriptor, or `'ready'` to wait for the line `ready` on it. */
  stdout: number | 'ready';
}

/** Run `node <script>`; resolves once it is running (and has printed `ready`, if asked to wait). */
export async function startNode(script: string, opts: NodeChildOptions): Promise<Child> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', opts.stdout === 'ready' ? 'pipe' : opts.stdout, 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  if (opts.stdout === 'ready') await readyLine(proc, exited);
  if (proc.pid === undefined) throw new Error(`${script} did not start`);
  const pid = proc.pid;
  return {
    pid,
    stop: async (graceMs = 10_000) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function readyLine(proc: ChildProcess, exited: Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('ready\n')) resolve();
    });
    void exited.then(() => reject(new Error(`child exited before it was ready (${proc.exitCode ?? proc.signalCode})`)));
  });
}

/** CPU ms (user + system) process `pid` has used so far; NaN if it cannot be read. */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name in parentheses: field 3 (state) onwards; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const USER_HZ = 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return NaN;
  }
}

/** How many write system calls process `pid` has made so far; NaN if it cannot be read. */
export function writeCalls(pid: number): number {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** The pid of the nats-server started with `-p <port>`, found by its command line. */
export function natsServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const p = argv.indexOf('-p');
    if (argv[0]?.endsWith('nats-server') && p > 0 && argv[p + 1] === String(port)) return Number(entry);
  }
  return undefined;
}
