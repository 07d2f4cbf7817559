/**
 * Helpers of the jobctl tests: run the built CLI (`node dist/src/cli/main.js`) as a child
 * process against a stack (a private nats-server and the service in-process), and the job
 * types the tests add to the built-in `test`: `logger` writes its own log, `bytes` reports
 * progress in bytes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { defineJob } from '../../src/runtime/handler.js';
import { JobTypes } from '../../src/runtime/registry.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(ROOT, 'dist/src/cli/main.js');
/** A working directory without data/nats.url, so that nothing is found by accident. */
export const CWD = mkdtempSync(join(tmpdir(), 'jobctl-cwd-'));
process.once('exit', () => rmSync(CWD, { recursive: true, force: true }));

const MIB = 1024 * 1024;

export const logJob = defineJob('logger', { params: z.strictObject({ lines: z.number().int().default(3) }) }, async (job) => {
  for (let i = 1; i <= job.params.lines; i++) job.log.info(`line ${i} of ${job.params.lines}`);
  job.log.warn('almost done');
  return { logged: job.params.lines };
});

export const bytesJob = defineJob(
  'bytes',
  { params: z.strictObject({ mib: z.number().int().default(8), steps: z.number().int().default(8), 'step-ms': z.number().int().default(100) }) },
  async (job) => {
    const total = job.params.mib * MIB;
    job.setDescription(`copying ${job.params.mib} MiB`);
    job.progress(0, total);
    for (let i = 1; i <= job.params.steps; i++) {
      await job.sleep(job.params['step-ms']);
      job.progress(Math.round((total * i) / job.params.steps), total);
    }
    return { bytes: total };
  },
);

export function cliTypes(): JobTypes {
  return new JobTypes().register(testJob).register(logJob).register(bytesJob);
}

/** The environment of a CLI child: none of the settings of the machine running the tests. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['NATS_URL', 'NATS_CREDS', 'JOBS_USER', 'JOBS_PASSWORD', 'JOBS_PREFIX', 'JOBS_NATS_CONFIG', 'NATS_USER', 'NATS_PASSWORD']) delete env[name];
  return { ...env, ...extra };
}

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<Result>;
  /** Resolves once `pred` holds for what the child printed so far. */
  until(what: string, pred: (out: { stdout: string; stderr: string }) => boolean, ms?: number): Promise<void>;
}

export function spawnCli(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? CWD, env: cleanEnv(opts.env) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  const exited = new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    until: (what, pred, ms = 10_000) => until(what, () => (pred({ stdout, stderr }) ? true : undefined), ms).then(() => undefined),
  };
}

/** Run jobctl to its end. */
export function jobctl(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<Result> {
  const running = spawnCli(args, opts);
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
  return running.exited.finally(() => clearTimeout(timer));
}

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Quote for sh. */
export function shq(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
