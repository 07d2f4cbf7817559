/**
 * What JobInfo shows of a job type's options, over a real nats-server: the description
 * derived from params (the caller's wins; setDescription changes it; JOB_PROGRESS carries
 * it), params with secrets masked (also in the job's log), the log excerpt, and job-log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { defineJob } from '../../src/runtime/handler.js';
import { rejectsWith } from '../service/helpers.js';
import type { Recorded } from '../service/helpers.js';
import { Gates, startTypesStack } from './helpers.js';
import type { TypesStack } from './helpers.js';

const gates = new Gates();

/** Copies `path` in two steps; says 'verifying' between them and waits at gate `<id>:go`. */
const described = defineJob(
  'described',
  { params: z.strictObject({ path: z.string() }), description: (p) => `Copy ${p.path}` },
  async (job) => {
    job.progress(0, 2);
    await gates.wait(job, `${job.id}:first`);
    job.setDescription('verifying');
    job.progress(1, 2);
    gates.open(`${job.id}:described`);
    await gates.wait(job, `${job.id}:go`);
    job.progress(2, 2);
    return 'copied';
  },
);

const SECRET = 'hunter2-s3cr3t';

/** Logs in with a secret password and logs it (it must be masked). */
const secretive = defineJob(
  'secretive',
  {
    params: z.strictObject({ user: z.string(), password: z.string(), retries: z.number().int().default(3) }),
    secrets: ['password'],
  },
  async (job) => {
    job.log.info(`logging in as ${job.params.user} with ${job.params.password}`);
    job.log.warn('credentials', { user: job.params.user, password: job.params.password });
    return 'logged in';
  },
);

/** Logs its secret `token` object, and a password with characters that JSON escapes. */
const escaped = defineJob(
  'escaped',
  {
    params: z.strictObject({ password: z.string(), token: z.strictObject({ key: z.string(), scopes: z.array(z.string()) }) }),
    secrets: ['password', 'token'],
  },
  async (job) => {
    job.log.info('fields', { password: job.params.password, token: job.params.token });
    job.log.info(`key ${job.params.token.key}, scope ${job.params.token.scopes[0] ?? ''}`);
  },
);

/** Writes `lines` lines to its log; with `hold`, then waits at gate `<id>:done`. */
const chatty = defineJob(
  'chatty',
  { params: z.strictObject({ lines: z.number().int().nonnegative(), hold: z.boolean().default(false) }) },
  async (job) => {
    for (let i = 1; i <= job.params.lines; i++) job.log.info(`line ${i}`);
    if (job.params.hold) {
      gates.open(`${job.id}:logged`);
      await gates.wait(job, `${job.id}:done`);
    }
  },
);

const TIMESTAMP = String.raw`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z`;

describe('JobInfo of job types', () => {
  let t: TypesStack;

  before(async () => {
    t = await startTypesStack((types) => types.register(described).register(secretive).register(escaped).register(chatty));
  });
  after(() => t.close());

  const progressOf = (id: string): Recorded[] => t.events.of(id).filter((e) => e.event === 'JOB_PROGRESS');

  describe('description', () => {
    test('derived from params when the caller gives none; setDescription changes it; JOB_PROGRESS carries it', async () => {
      const { alice, events } = t;
      const id = await alice.start('described', { params: { path: '/a' } });
      const [info] = (await alice.query({ type: 'described' })).filter((j) => j.id === id);
      assert.equal(info?.description, 'Copy /a');
      const first = await events.event(id, 'JOB_PROGRESS');
      assert.deepEqual(first.data, { id, owner: 'alice', 'current-progress': 0, 'total-progress': 2, description: 'Copy /a' });

      gates.open(`${id}:first`);
      await gates.opened(`${id}:described`);
      const [changed] = (await alice.query({ type: 'described' })).filter((j) => j.id === id);
      assert.equal(changed?.description, 'verifying');
      await events.until((e) => e.data.id === id && e.event === 'JOB_PROGRESS' && e.data['current-progress'] === 1);

      gates.open(`${id}:go`);
      const final = await alice.wait(id, { timeoutMs: 5000 });
      assert.equal(final.description, 'verifying');
      assert.equal(final.result, 'copied');
      await events.status(id, 'null');
      // The rate limit may merge reports, but the last one is never lost, and each carries
      // the description as it was when it was reported.
      const progress = progressOf(id).map((e) => [e.data['current-progress'], e.data.description]);
      assert.deepEqual(progress.at(0), [0, 'Copy /a']);
      assert.deepEqual(progress.at(1), [1, 'verifying']);
      assert.deepEqual(progress.at(-1), [2, 'verifying']);
    });

    test("the caller's description wins over the derived one", async () => {
      const { alice, events } = t;
      const id = await alice.start('described', { params: { path: '/b' }, description: 'nightly copy' });
      const [info] = (await alice.query({ type: 'described' })).filter((j) => j.id === id);
      assert.equal(info?.description, 'nightly copy');
      const first = await events.event(id, 'JOB_PROGRESS');
      assert.equal(first.data.description, 'nightly copy');
      await alice.cancel(id);
      assert.equal((await alice.wait(id, { timeoutMs: 5000 })).description, 'nightly copy');
    });

    test('a type without a description function and a caller without one: no description', async () => {
      const { alice } = t;
      const id = await alice.start('chatty', { params: { lines: 0 } });
      const info = await alice.wait(id, { timeoutMs: 5000 });
      assert.equal('description' in info, false);
    });
  });

  describe('secrets', () => {
    test('a secret param is masked in JobInfo params (query-jobs and job-wait), others shown as given with defaults', async () => {
      const { alice } = t;
      const id = await alice.start('secretive', { params: { user: 'alice', password: SECRET }, 'auto-dismiss': false });
      const final = await alice.wait(id, { timeoutMs: 5000 });
      assert.deepEqual(final.params, { user: 'alice', password: '********', retries: 3 });
      assert.equal(final.result, 'logged in');
      const [listed] = (await alice.query({ type: 'secretive' })).filter((j) => j.id === id);
      assert.deepEqual(listed?.params, { user: 'alice', password: '********', retries: 3 });
      // Nothing alice can read has the secret in it.
      assert.ok(!JSON.stringify(await alice.query()).includes(SECRET), 'query-jobs');
      assert.ok(!JSON.stringify(final).includes(SECRET), 'job-wait');
      await alice.dismiss(id);
    });

    test("the secret is masked in the job's log even when the handler logs it", async () => {
      const { alice } = t;
      const id = await alice.start('secretive', { params: { user: 'alice', password: SECRET, retries: 1 }, 'auto-dismiss': false });
      const final = await alice.wait(id, { timeoutMs: 5000 });
      assert.deepEqual(final.params, { user: 'alice', password: '********', retries: 1 });
      const excerpt = final['logs-excerpt'] ?? '';
      assert.match(excerpt, new RegExp(`^${TIMESTAMP} INFO logging in as alice with \\*{8}\n${TIMESTAMP} WARN credentials \\{"user":"alice","password":"\\*{8}"\\}$`));
      const log = await alice.log(id);
      assert.equal(log.count, 2);
      assert.equal(log.lines.join('\n'), excerpt);
      assert.ok(!JSON.stringify(log).includes(SECRET));
      await alice.dismiss(id);
    });

    test('secrets are masked in logged fields too: JSON-escaped characters, values inside a secret object', async () => {
      const { alice } = t;
      const password = 'p"a\\ss\nwörd';
      const token = { key: 'tok-9f8e7d6c', scopes: ['admin-scope-x'] };
      const id = await alice.start('escaped', { params: { password, token }, 'auto-dismiss': false });
      const final = await alice.wait(id, { timeoutMs: 5000 });
      assert.deepEqual(final.params, { password: '********', token: '********' });
      const log = (await alice.log(id)).lines.join('\n');
      for (const leak of ['p"a', 'p\\"a', 'wörd', 'tok-9f8e7d6c', 'admin-scope-x']) assert.ok(!log.includes(leak), `${leak} in ${log}`);
      assert.match(log, /INFO fields \{"password":"\*{8}","token":\{"key":"\*{8}","scopes":\["\*{8}"\]\}\}\n.* INFO key \*{8}, scope \*{8}$/);
      await alice.dismiss(id);
    });
  });

  describe('logs', () => {
    test('logs-excerpt: the first and last 10 lines, with a marker for the lines between', async () => {
      const { alice } = t;
      const id = await alice.start('chatty', { params: { lines: 25 }, 'auto-dismiss': false });
      const final = await alice.wait(id, { timeoutMs: 5000 });
      const excerpt = (final['logs-excerpt'] ?? '').split('\n');
      assert.equal(excerpt.length, 21);
      const numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
      const expected = numbers.map((n) => new RegExp(`^${TIMESTAMP} INFO line ${n}$`));
      assert.equal(excerpt[10], '… 5 more lines …');
      const withoutMarker = [...excerpt.slice(0, 10), ...excerpt.slice(11)];
      withoutMarker.forEach((line, i) => assert.match(line, expected[i]!));
      // query-jobs shows the same excerpt.
      const [listed] = (await alice.query({ type: 'chatty' })).filter((j) => j.id === id);
      assert.equal(listed?.['logs-excerpt'], final['logs-excerpt']);
      // job-log has every line.
      const log = await alice.log(id);
      assert.equal(log.count, 25);
      assert.equal(log.lines.length, 25);
      log.lines.forEach((line, i) => assert.match(line, new RegExp(`^${TIMESTAMP} INFO line ${i + 1}$`)));
      await alice.dismiss(id);
    });

    test('a log of 20 lines or fewer is shown whole; a job that logged nothing has no excerpt', async () => {
      const { alice } = t;
      const twenty = await alice.start('chatty', { params: { lines: 20 } });
      const whole = (await alice.wait(twenty, { timeoutMs: 5000 }))['logs-excerpt'] ?? '';
      assert.equal(whole.split('\n').length, 20);
      assert.ok(!whole.includes('more lines'));
      const silent = await alice.start('chatty', { params: { lines: 0 }, 'auto-dismiss': false });
      const info = await alice.wait(silent, { timeoutMs: 5000 });
      assert.equal('logs-excerpt' in info, false);
      assert.deepEqual(await alice.log(silent), { lines: [], count: 0 });
      await alice.dismiss(silent);
    });

    test("job-log: 'Job not found' for another owner's job; an admin reads it with owner", async () => {
      const { alice, bob, admin } = t;
      const id = await alice.start('chatty', { params: { lines: 3 }, 'auto-dismiss': false });
      await alice.wait(id, { timeoutMs: 5000 });
      await rejectsWith(bob.log(id), 404, 'Job not found');
      await rejectsWith(bob.log(id, { owner: 'alice' }), 404, 'Job not found');
      await rejectsWith(admin.log(id), 404, 'Job not found');
      const log = await admin.log(id, { owner: 'alice' });
      assert.equal(log.count, 3);
      await alice.dismiss(id);
      await rejectsWith(alice.log(id), 404, 'Job not found');
    });

    test('job-log of a job still running has the lines so far', async () => {
      const { alice } = t;
      const id = await alice.start('chatty', { params: { lines: 2, hold: true } });
      await gates.opened(`${id}:logged`);
      const log = await alice.log(id);
      assert.equal(log.count, 2);
      assert.match(log.lines[1] ?? '', /INFO line 2$/);
      gates.open(`${id}:done`);
      await alice.wait(id, { timeoutMs: 5000 });
    });
  });
});
