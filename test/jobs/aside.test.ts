/**
 * The aside file of a file job is removed by abort and clean even when the job's scratch does
 * not know it: a job brought back after a crash may have opened it after its scratch was last
 * saved (found as a leftover `.part` by the SIGKILL test).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { backupJob } from '../../src/runtime/builtin/backup-job.js';
import type { BackupParams } from '../../src/runtime/builtin/backup-job.js';
import type { FinalizeContext } from '../../src/runtime/handler.js';
import { asideName } from '../../src/runtime/builtin/paths.js';

const log = { info() {}, warn() {}, error() {} };

describe('aside files of a restored job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-aside-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hooks = backupJob(dir).hooks!;

  const job = (id: string, target: string): FinalizeContext<BackupParams> => ({
    id,
    owner: 'alice',
    type: 'backup',
    params: { source: 'src', target },
    scratch: {},
    softCancelled: false,
    log,
  });

  for (const hook of ['abort', 'clean'] as const) {
    test(`${hook} removes the job's own aside file, found by its name, and nothing else`, () => {
      mkdirSync(join(dir, hook));
      const mine = asideName('out.img', 'alice', `j-${hook}`, 'part');
      const other = asideName('out.img', 'alice', 'someone-else', 'part');
      writeFileSync(join(dir, hook, mine), 'partial');
      writeFileSync(join(dir, hook, other), 'partial');
      hooks[hook]!(job(`j-${hook}`, `${hook}/out.img`));
      assert.deepEqual(readdirSync(join(dir, hook)), [other]);
    });
  }

  test('a target whose directory is missing or leads out is left alone', () => {
    hooks.abort!(job('j-missing', 'nowhere/out.img'));
    hooks.abort!(job('j-out', '../out.img'));
  });
});
