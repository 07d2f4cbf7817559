/**
 * The backup job's copy rate at speed 0 against `cp` of the same file, measured in the same
 * run (target: at least 80 % of cp). The file is written once and stays in the page cache for
 * both, so both measure the copy, not the disk's cold reads.
 *
 * The backup job ends with an fdatasync of its copy (a backup that reports success is on
 * disk); cp does not sync. So a second baseline, for information: cp followed by `sync -d` of
 * its copy (coreutils' fdatasync of one file), timed from cp's start.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { connectNats } from '../src/nats/connect.js';
import { NatsServer } from '../src/nats/server.js';
import { JobsClient } from '../src/sdk/index.js';
import { builtinTypes } from '../src/runtime/builtin/builtin-types.js';
import { JobService } from '../src/service/service.js';
import { fmt, median, table } from './measure.js';

export interface CopyRate {
  bytes: number;
  /** The medians. */
  cpMBps: number;
  backupMBps: number;
  /** cp and then an fdatasync of its copy (undefined where `sync -d` is missing). */
  cpSyncMBps: number | undefined;
  /** Each round's figures, in the order measured. */
  cpRounds: number[];
  cpSyncRounds: number[];
  backupRounds: number[];
}

/** Copy a `mib`-MiB file `rounds` times with cp and with a backup job; medians in MB/s. */
export async function measureCopyRate(mib = 256, rounds = 3): Promise<CopyRate> {
  const root = mkdtempSync(join(tmpdir(), 'jobstate-copy-'));
  // The files of the user 'bench' (file jobs see their owner's folder only).
  const dataDir = join(root, 'bench');
  mkdirSync(dataDir);
  const storeDir = mkdtempSync(join(tmpdir(), 'jobstate-copy-nats-'));
  const bytes = mib * 1024 * 1024;
  writeRandomFile(join(dataDir, 'source.img'), bytes);
  const logger = pino({ level: 'silent' });
  const server = await NatsServer.start({ jetstreamDir: storeDir });
  const nc = await connectNats(server.url, logger);
  const prefix = 'copybench';
  const service = await JobService.start({ nc, types: builtinTypes(root), logger, prefix });
  const client = await JobsClient.connect({ servers: server.url, user: 'bench', prefix, timeoutMs: 120_000 });
  const cp: number[] = [];
  const cpSync: number[] = [];
  const backup: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      const result = spawnSync('cp', [join(dataDir, 'source.img'), join(dataDir, 'cp.img')]);
      if (result.status !== 0) throw new Error(`cp failed: ${result.stderr.toString()}`);
      cp.push(performance.now() - t0);
      if (spawnSync('sync', ['-d', join(dataDir, 'cp.img')]).status === 0) cpSync.push(performance.now() - t0);
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
    rmSync(root, { recursive: true, force: true });
    rmSync(storeDir, { recursive: true, force: true });
  }
  const rate = (ms: number) => bytes / 1e6 / (ms / 1000);
  return {
    bytes,
    cpMBps: rate(median(cp)),
    cpSyncMBps: cpSync.length === rounds ? rate(median(cpSync)) : undefined,
    backupMBps: rate(median(backup)),
    cpRounds: cp.map(rate),
    cpSyncRounds: cpSync.length === rounds ? cpSync.map(rate) : [],
    backupRounds: backup.map(rate),
  };
}

/** The rows of the copy-rate table: medians, and each round's figures. */
export function copyRateTable(r: CopyRate): string {
  const ratio = r.backupMBps / r.cpMBps;
  const rounds = (values: number[]) => values.map((v) => fmt(v)).join(', ');
  const synced = r.cpSyncMBps === undefined ? [] : [[`cp, then sync -d of its copy`, fmt(r.cpSyncMBps), rounds(r.cpSyncRounds), '', '', '']];
  const toSynced = r.cpSyncMBps === undefined ? [] : [['backup job against cp + sync -d', '', '', `${fmt((r.backupMBps / r.cpSyncMBps) * 100)} % of cp + sync -d`, '', '']];
  return table([
    ['figure', 'MB/s (median)', 'rounds', 'ratio', 'target', ''],
    [`cp of a ${r.bytes / 1048576} MiB file`, fmt(r.cpMBps), rounds(r.cpRounds), '', '', ''],
    ...synced,
    ['backup job, speed 0 (start to job-wait reply)', fmt(r.backupMBps), rounds(r.backupRounds), `${fmt(ratio * 100)} % of cp`, '≥ 80 % of cp', ratio >= 0.8 ? 'PASS' : 'MISS'],
    ...toSynced,
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
