/**
 * The HTTP tests' stack: a private nats-server and the service (test/support/stack.ts) with the
 * HTTP server beside it on a free loopback port, and curl and wget run as child processes in a
 * temporary directory of the test's own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { serviceHealth } from '../../src/http/beside.js';
import { startHttp } from '../../src/http/start.js';
import type { RunningHttp } from '../../src/http/start.js';
import type { HttpLimits } from '../../src/http/settings.js';
import { startStack } from '../support/stack.js';
import type { Stack, StackOptions } from '../support/stack.js';

export interface HttpStack extends AsyncDisposable {
  stack: Stack;
  http: RunningHttp;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The directory curl and wget run in. */
  dir: string;
  close(): Promise<void>;
}

export async function startHttpStack(opts: StackOptions & { limits?: Partial<HttpLimits> } = {}): Promise<HttpStack> {
  const { limits, ...stackOpts } = opts;
  const stack = await startStack(stackOpts);
  const http = await startHttp({
    nc: stack.nc,
    servers: stack.server.url,
    prefix: stack.prefix,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    listen: { host: '127.0.0.1', port: 0 },
    health: serviceHealth(stack.nc, () => true),
    metrics: () => stack.service.metrics.text(),
    ...(limits && { limits }),
    plugins: [],
  });
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-http-'));
  const close = async () => {
    await http.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { stack, http, url: http.url, dir, close, [Symbol.asyncDispose]: close };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd` with `args` in `cwd`; resolves with its exit code and output whatever the code. */
export function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
