/**
 * The backup job's copy rate at speed 0 against `cp` of the same file, measured in the same
 * run (target: at least 80 % of cp). The file is written once and stays in the page cache for
 * both, so both measure the copy, not the disk's cold reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { connectNats } from '../src/nats/connect.js';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { builtinTypes } from '../src/service/builtin-types.js';
import { JobService } from '../src/service/service.js';
import { fmt, median, table } from './measure.js';

export interface CopyRate {
  bytes: number;
  cpMBps: number;
  backupMBps: number;
}

/** Copy a `mib`-MiB file `rounds` times with cp and with a backup job; medians in MB/s. */
export async function measureCopyRate(mib = 256, rounds = 3): Promise<CopyRate> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-copy-'));
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-copy-nats-'));
  const bytes = mib * 1024 * 1024;
  writeRandomFile(join(dataDir, 'source.img'), bytes);
  const logger = pino({ level: 'silent' });
  const server = await NatsServer.start({ jetstreamDir: storeDir });
  const nc = await connectNats(server.url, logger);
  const prefix = 'copybench';
  const service = await JobService.start({ nc, types: builtinTypes(dataDir), logger, prefix });
  const client = await JobsClient.connect({ servers: server.url, user: 'bench', prefix, timeoutMs: 120_000 });
  const cp: number[] = [];
  const backup: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const result = spawnSync('cp', [join(dataDir, 'source.img'), join(dataDir, 'cp.img')]);
      if (result.status !== 0) throw new Error(`cp failed: ${result.stderr.toString()}`);
      cp.push(performance.now() - t0);
      rmSync(join(dataDir, 'cp.img'));

      const t1 = performance.now();
      const id = await client.start('backup', { params: { source: 'source.img', target: 'backup.img' } });
      const info = await client.wait(id);
      if (info.error !== undefined) throw new Error(`backup failed: ${info.error}`);
      backup.push(performance.now() - t1);
      rmSync(join(dataDir, 'backup.img'));
    }
  } finally {
    await client.close();
    await service.close();
    await nc.drain();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  }
  const rate = (ms: number) => bytes / 1e6 / (ms / 1000);
  return { bytes, cpMBps: rate(median(cp)), backupMBps: rate(median(backup)) };
}

/** The rows of the copy-rate table. */
export function copyRateTable(r: CopyRate): string {
  const ratio = r.backupMBps / r.cpMBps;
  return table([
    ['figure', 'MB/s', 'ratio to cp', 'target', ''],
    [`cp of a ${r.bytes / 1048576} MiB file`, fmt(r.cpMBps), '', '', ''],
    ['backup job, speed 0 (start to job-wait reply)', fmt(r.backupMBps), `${fmt(ratio * 100)} %`, '≥ 80 %', ratio >= 0.8 ? 'PASS' : 'MISS'],
  ]);
}

function writeRandomFile(path: string, bytes: number): void {
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length) {
      randomFillSync(chunk);
      writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    }
  } finally {
    closeSync(fd);
  }
}
