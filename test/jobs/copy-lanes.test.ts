/**
 * The copy without a speed limit, several chunks in flight at once (lanes), over a real
 * nats-server on real files: exact copies whatever the size, sparse output and compare mode
 * kept, bounded I/O in flight; and what the lanes could break — a cancel or an I/O error in
 * one lane ends the copy only once every I/O under way has ended and starts none after, a
 * pause lets no chunk start, the speed can change in the middle. The `copy-probe` type
 * (copy-probe.ts) is a backup whose I/O the tests watch and hold.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CHUNK_SIZE, UNLIMITED_CHUNK_SIZE, UNLIMITED_LANES } from '../../src/runtime/builtin/copy.js';
import { perOwner } from '../../src/runtime/builtin/owner-dir.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { sequence, sleep } from '../service/helpers.js';
import { copyProbe, failNow, logOf, logged, mostUnderWay, release, underWay } from './copy-probe.js';
import type { ProbeEntry } from './copy-probe.js';
import { MiB, progressOf, randomFile, sha256, startFilesStack, tree } from './helpers.js';
import type { FilesStack } from './helpers.js';

/** The entries of `log` after the first that `pred` matches. */
const following = (log: readonly ProbeEntry[], pred: (e: ProbeEntry) => boolean) => log.slice(log.findIndex(pred) + 1);
const starts = (log: readonly ProbeEntry[]) => log.filter((e) => e.what === 'start');
/** The copy ended (threw) with no I/O under way, and none came after. */
const endedAfterItsIo = (log: readonly ProbeEntry[]) => {
  const end = log.findIndex((e) => e.what === 'threw');
  return end >= 0 && underWay(log.slice(0, end)).length === 0 && !log.slice(end).some((e) => e.what === 'start' || e.what === 'end');
};
/** Job `id`'s writes under way at offsets in [from, to) (those its `hold` holds). */
const heldWrites = (id: string, [from, to]: [number, number]) => underWay(logOf(id)).filter((io) => io.op === 'write' && io.at >= from && io.at < to).length;
/** The JOB_PROGRESS current values of `id`, in order. */
const currents = (t: FilesStack, id: string) => t.events.of(id).filter((e) => e.event === 'JOB_PROGRESS').map((e) => Number(e.data['current-progress']));
const ascending = (values: number[]) => values.every((v, i) => i === 0 || v >= (values[i - 1] ?? 0));

describe('the copy without a speed limit (lanes)', () => {
  let t: FilesStack;

  before(async () => {
    t = await startFilesStack({ types: (dir) => builtinTypes(dir).register(perOwner(dir, copyProbe)) });
  });
  after(() => t.close());

  test('backup: a copy of many chunks whose size is no multiple of the chunk size is exact; progress only grows', async () => {
    const size = 9 * MiB + 12345;
    randomFile(t.at('l1/disk.img'), size);
    const id = await t.alice.start('backup', { params: { source: 'l1/disk.img', target: 'l1/copy.img' } });
    const info = await t.finished(id);
    assert.equal(info.error, undefined);
    assert.equal(sha256(t.at('l1/copy.img')), sha256(t.at('l1/disk.img')));
    assert.deepEqual([info['current-progress'], info['total-progress']], [size, size]);
    assert.ok(ascending(currents(t, id)), `current-progress never decreases: ${currents(t, id).join(' ')}`);
    assert.deepEqual(tree(t.at('l1')), ['copy.img', 'disk.img']);
  });

  test('each chunk is read and written once, at most one I/O per lane under way', async () => {
    const size = 10 * MiB + 777;
    randomFile(t.at('l2/src'), size);
    const id = await t.alice.start('copy-probe', { params: { source: 'l2/src', target: 'l2/dst' } });
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('l2/dst')), sha256(t.at('l2/src')));
    const log = logOf(id);
    const writes = starts(log).filter((e) => e.what === 'start' && e.op === 'write');
    const chunks = Array.from({ length: Math.ceil(size / UNLIMITED_CHUNK_SIZE) }, (_, i) => i * UNLIMITED_CHUNK_SIZE);
    assert.deepEqual(writes.map((w) => (w.what === 'start' ? w.at : -1)).sort((a, b) => a - b), chunks);
    assert.ok(mostUnderWay(log) <= UNLIMITED_LANES, `at most ${UNLIMITED_LANES} I/O calls at once (${mostUnderWay(log)})`);
    assert.deepEqual(log.at(-1), { what: 'returned' });
  });

  test('sparse: zero chunks are not written, and the copy is sized at the end (a zero tail too)', async () => {
    const data = Buffer.concat([randomBytes(MiB), Buffer.alloc(2 * MiB), randomBytes(MiB - 100), Buffer.alloc(3 * MiB + 100)]);
    writeFileSync(t.at('l3-src'), data);
    const id = await t.alice.start('copy-probe', { params: { source: 'l3-src', target: 'l3-dst' } });
    assert.equal((await t.finished(id)).error, undefined);
    const written = starts(logOf(id)).flatMap((e) => (e.what === 'start' && e.op === 'write' ? [e.at] : []));
    assert.deepEqual(written.sort((a, b) => a - b), [0, 3 * MiB]);
    assert.equal(statSync(t.at('l3-dst')).size, data.length);
    assert.equal(sha256(t.at('l3-dst')), sha256(t.at('l3-src')));
  });

  test('compare: only the chunks that differ are written; a longer target is cut to size', async () => {
    randomFile(t.at('l4/src'), 8 * MiB + 5);
    copyFileSync(t.at('l4/src'), t.at('l4/dst'));
    const dst = readFileSync(t.at('l4/dst'));
    dst[2 * MiB + 7] = (dst[2 * MiB + 7] ?? 0) ^ 0xff;
    dst[5 * MiB] = (dst[5 * MiB] ?? 0) ^ 0xff;
    writeFileSync(t.at('l4/dst'), Buffer.concat([dst, randomBytes(MiB)]));
    const id = await t.alice.start('copy-probe', { params: { source: 'l4/src', target: 'l4/dst', compare: true } });
    assert.equal((await t.finished(id)).error, undefined);
    const written = starts(logOf(id)).flatMap((e) => (e.what === 'start' && e.op === 'write' ? [e.at] : []));
    assert.deepEqual(written.sort((a, b) => a - b), [2 * MiB, 5 * MiB]);
    assert.equal(sha256(t.at('l4/dst')), sha256(t.at('l4/src')));
  });

  test('cancel mid-copy: the I/O under way ends before the copy does, none starts after, nothing is left', async () => {
    randomFile(t.at('l5/src'), 16 * MiB);
    const hold: [number, number] = [2 * MiB, 16 * MiB];
    const id = await t.alice.start('copy-probe', { params: { source: 'l5/src', target: 'l5/dst', hold } });
    await logged(id, () => heldWrites(id, hold) === UNLIMITED_LANES, 'every lane writing');
    await t.alice.cancel(id);
    await logged(id, (log) => log.some((e) => e.what === 'aborted'), 'the cancel');
    release(id);
    const info = await t.finished(id);
    assert.equal(info.error, 'Operation canceled');
    const log = logOf(id);
    assert.deepEqual(starts(following(log, (e) => e.what === 'aborted')), [], 'no I/O starts after the cancel');
    assert.ok(endedAfterItsIo(log), `every I/O ended before the copy did: ${JSON.stringify(log.slice(-8))}`);
    assert.deepEqual(tree(t.at('l5')), ['src'], 'no target, no aside file');
  });

  test('pause: the chunks under way finish, no chunk starts while paused, progress stays; resume completes it', async () => {
    randomFile(t.at('l6/src'), 16 * MiB + 3);
    const hold: [number, number] = [2 * MiB, 6 * MiB];
    const id = await t.alice.start('copy-probe', { params: { source: 'l6/src', target: 'l6/dst', hold } });
    await logged(id, () => heldWrites(id, hold) === UNLIMITED_LANES, 'every lane writing');
    await t.alice.pause(id);
    await t.events.status(id, 'paused');
    const atPause = logOf(id).length;
    release(id);
    await logged(id, () => heldWrites(id, hold) === 0, 'the held writes to end');
    await sleep(150); // the lanes account for their chunks and park
    const frozenAt = await progressOf(t.alice, id);
    const eventsBefore = t.events.of(id).length;
    await sleep(300);
    assert.equal(await progressOf(t.alice, id), frozenAt, 'current-progress unchanged while paused');
    assert.equal(t.events.of(id).length, eventsBefore, 'no JOB_PROGRESS while paused');
    assert.equal(frozenAt, 6 * MiB, 'the chunks that were under way are counted');
    assert.deepEqual(starts(logOf(id).slice(atPause)), [], 'no I/O starts while paused');
    await t.alice.resume(id);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('l6/dst')), sha256(t.at('l6/src')));
    assert.ok(ascending(currents(t, id)));
  });

  test('on-error report: a read error in one lane stops the others; the job fails once their I/O has ended', async () => {
    randomFile(t.at('l7/src'), 16 * MiB);
    const hold: [number, number] = [0, 3 * MiB];
    const id = await t.alice.start('copy-probe', { params: { source: 'l7/src', target: 'l7/dst', hold, failRead: 3 * MiB } });
    await logged(id, () => heldWrites(id, hold) === 3, 'three lanes writing, one reading');
    failNow(id);
    await t.events.event(id, 'JOB_ERROR');
    assert.ok(!logOf(id).some((e) => e.what === 'threw'), 'the copy waits for the writes under way');
    release(id);
    const info = await t.finished(id);
    assert.equal(info.error, "Could not read 'l7/src': Input/output error");
    const log = logOf(id);
    const failure = (e: ProbeEntry) => e.what === 'end' && e.op === 'read' && e.at === 3 * MiB;
    assert.deepEqual(starts(following(log, failure)), [], 'no I/O starts after the error');
    assert.ok(endedAfterItsIo(log), `every I/O ended before the copy did: ${JSON.stringify(log.slice(-8))}`);
    assert.deepEqual(tree(t.at('l7')), ['src'], 'no target, no aside file');
    assert.deepEqual(sequence(t.events.events, id).slice(0, 4), ['created', 'running', '[JOB_ERROR]', 'aborting']);
  });

  test('on-error report while paused: the lanes parked at their pause points stop at once', async () => {
    randomFile(t.at('l8/src'), 16 * MiB);
    const hold: [number, number] = [0, 3 * MiB];
    const id = await t.alice.start('copy-probe', { params: { source: 'l8/src', target: 'l8/dst', hold, failRead: 3 * MiB } });
    await logged(id, () => heldWrites(id, hold) === 3, 'three lanes writing, one reading');
    await t.alice.pause(id);
    await t.events.status(id, 'paused');
    release(id);
    await logged(id, () => heldWrites(id, hold) === 0, 'the held writes to end');
    failNow(id);
    // Without a resume: the three parked lanes stop, and the copy throws.
    await logged(id, (log) => log.some((e) => e.what === 'threw'), 'the copy to throw');
    const log = logOf(id);
    assert.ok(endedAfterItsIo(log), `every I/O ended before the copy did: ${JSON.stringify(log.slice(-8))}`);
    assert.ok(!log.some((e) => e.what === 'start' && e.at >= 4 * MiB), 'no chunk past the four under way started');
    await t.alice.resume(id);
    assert.equal((await t.finished(id)).error, "Could not read 'l8/src': Input/output error");
    assert.deepEqual(tree(t.at('l8')), ['src']);
  });

  test('on-error stop in one lane: the job pauses, every lane parks; resume retries and the copy completes', async () => {
    randomFile(t.at('l9/src'), 12 * MiB + 1);
    const id = await t.alice.start('copy-probe', { params: { source: 'l9/src', target: 'l9/dst', failRead: 3 * MiB }, 'on-error': 'stop' });
    failNow(id);
    await t.events.status(id, 'paused');
    assert.deepEqual((await t.events.event(id, 'JOB_ERROR')).data, { id, owner: 'alice', operation: 'read', action: 'stop' });
    await t.alice.resume(id);
    assert.equal((await t.finished(id)).error, undefined);
    assert.equal(sha256(t.at('l9/dst')), sha256(t.at('l9/src')));
    assert.deepEqual(sequence(t.events.events, id), ['created', 'running', '[JOB_ERROR]', 'paused', 'running', 'waiting', 'pending', '[JOB_COMPLETED]', 'concluded', 'null']);
  });

  test('the speed changes mid-copy: unlimited (1 MiB chunks in lanes), limited (64 KiB, one at a time), unlimited again', async () => {
    randomFile(t.at('l10/src'), 16 * MiB + 99);
    const hold: [number, number] = [2 * MiB, 6 * MiB];
    const id = await t.alice.start('copy-probe', { params: { source: 'l10/src', target: 'l10/dst', hold } });
    await logged(id, () => heldWrites(id, hold) === UNLIMITED_LANES, 'every lane writing');
    await t.alice.setSpeed(id, 4 * MiB);
    release(id);
    const isWrite = (length: number) => (e: ProbeEntry) => e.what === 'start' && e.op === 'write' && e.length === length;
    await logged(id, (log) => log.filter(isWrite(CHUNK_SIZE)).length >= 3, 'limited chunks');
    assert.equal(mostUnderWay(following(logOf(id), isWrite(CHUNK_SIZE))), 1, 'one I/O at a time under the limit');
    await t.alice.setSpeed(id, 0);
    assert.equal((await t.finished(id)).error, undefined);
    const log = logOf(id);
    assert.ok(following(log, isWrite(CHUNK_SIZE)).some(isWrite(UNLIMITED_CHUNK_SIZE)), 'back to 1 MiB chunks');
    assert.equal(sha256(t.at('l10/dst')), sha256(t.at('l10/src')));
    assert.ok(ascending(currents(t, id)), `current-progress never decreases: ${currents(t, id).join(' ')}`);
  });
});
