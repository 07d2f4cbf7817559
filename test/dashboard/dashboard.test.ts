/**
 * The web dashboard in headless Chromium, against a real service and nats-server (its
 * WebSocket listener): the page loads; a job started over NATS appears and its progress bar
 * moves; pause and resume through the buttons; a refused verb shows QEMU's text; a job
 * started from the form runs. One browser for the file, a page per test.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser } from './browser.js';
import type { TestBrowser } from './browser.js';
import { startDashboard } from './stack.js';
import type { DashboardStack } from './stack.js';

let dash: DashboardStack;
let chrome: TestBrowser;

before(async () => {
  [dash, chrome] = await Promise.all([startDashboard(), launchBrowser()]);
});
after(async () => {
  await chrome?.close();
  await dash?.close();
});

/** A page signed in as `user` (no passwords on this broker), the table shown. */
async function signedIn(user: string): Promise<Page> {
  const page = await chrome.browser.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(dash.url);
  await page.fill('#signin input[name=user]', user);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

const row = (page: Page, id: string) => page.locator(`#jobs .row[data-id="${id}"]`);

test('the page loads: the sign-in form, then the table, its statuses from the machine', async () => {
  const page = await signedIn('alice');
  assert.equal(await page.locator('#jobs .thead').count(), 1);
  const statuses = await page.locator('select[name=status] option').allTextContents();
  assert.ok(statuses.includes('running') && statuses.includes('concluded'), statuses.join(','));
  await page.close();
});

test('a job started over NATS appears and its progress bar moves', async () => {
  const page = await signedIn('alice');
  const alice = await dash.stack.client('alice');
  await alice.start('test', { id: 'moving', params: { steps: 40, 'step-ms': 100 }, 'auto-dismiss': false });
  await row(page, 'moving').waitFor();
  const progress = () => row(page, 'moving').locator('.bar > i').getAttribute('data-progress').then(Number);
  const first = await progress();
  await page.waitForFunction(`Number(document.querySelector('#jobs .row[data-id="moving"] .bar > i')?.dataset.progress) > ${first}`);
  assert.ok((await progress()) > first);
  await alice.cancel('moving');
  await page.close();
});

test('pause and resume through the buttons change the status shown; a refused verb shows QEMU\'s text', async () => {
  const page = await signedIn('alice');
  const alice = await dash.stack.client('alice');
  await alice.start('test', { id: 'held', params: { steps: 1000, 'step-ms': 100 } });
  await row(page, 'held').click();
  await page.waitForSelector('#chart .state.current[data-status=running]');
  // The verbs of QEMU's table for running (docs/machines/job.md): resume too, refused by the service.
  const buttons = async () => (await page.locator('#verbs button').allTextContents()).sort();
  assert.deepEqual(await buttons(), ['cancel', 'pause', 'resume', 'set-speed']);
  await page.click('#verbs button[data-verb=resume]');
  await page.waitForSelector('#refusal:not(:empty)');
  assert.equal(await page.locator('#refusal').textContent(), "Can't resume a job that was not paused");

  await page.click('#verbs button[data-verb=pause]');
  await page.waitForSelector('#chart .state.current[data-status=paused]');
  assert.equal(await page.locator('#info [data-field=status]').textContent(), 'paused');
  assert.deepEqual(await buttons(), ['cancel', 'pause', 'resume', 'set-speed']);

  // The verb table accepts cancel in paused, but a soft cancel of a user-paused job is refused.
  await page.uncheck('#verbs input[type=checkbox]');
  await page.click('#verbs button[data-verb=cancel]');
  await page.waitForSelector('#refusal:not(:empty)');
  assert.equal(await page.locator('#refusal').textContent(), "The job 'held' is currently paused");

  await page.click('#verbs button[data-verb=resume]');
  await page.waitForSelector('#chart .state.current[data-status=running]');
  assert.equal(await page.locator('#refusal').textContent(), '');
  assert.equal(await page.locator('#info [data-field=status]').textContent(), 'running');
  await alice.cancel('held');
  await page.close();
});

test('a job started from the form runs', async () => {
  const page = await signedIn('alice');
  await page.click('a[href="#/start"]');
  await page.waitForSelector('#start-form');
  await page.selectOption('#start-form [name=type]', 'test').catch(() => page.fill('#start-form [name=type]', 'test'));
  const raw = page.locator('#start-form [name=params-json]');
  if ((await raw.count()) > 0) await raw.fill('{"steps": 3, "step-ms": 50}');
  else {
    await page.fill('#start-form [name=param-steps]', '3');
    await page.fill('#start-form [name="param-step-ms"]', '50');
  }
  await page.fill('#start-form [name=id]', 'from-form');
  await page.click('#start-form button[type=submit]');
  await page.waitForSelector('#chart .state.current[data-status=concluded]');
  const alice = await dash.stack.client('alice');
  const info = await alice.wait('from-form');
  assert.equal(info.status, 'concluded');
  assert.equal(info.error, undefined);
  await page.close();
});

/** The start form with a type and raw JSON params (a service without job-types) or the type's fields. */
async function startForm(page: Page, type: string, params: Record<string, unknown>, id: string): Promise<void> {
  await page.click('a[href="#/start"]');
  await page.waitForSelector('#start-form');
  await page.selectOption('#start-form [name=type]', type).catch(() => page.fill('#start-form [name=type]', type));
  const raw = page.locator('#start-form [name=params-json]');
  if ((await raw.count()) > 0) await raw.fill(JSON.stringify(params));
  else for (const [k, v] of Object.entries(params)) await page.fill(`#start-form [name="param-${k}"]`, String(v));
  await page.fill('#start-form [name=id]', id);
}

test("a file chosen in the form goes into the job's input (POST /_upload); its output downloads", async () => {
  const page = await signedIn('alice');
  const bytes = Buffer.from('disk image bytes\n'.repeat(1000));
  await startForm(page, 'backup', { source: 'pipe:input', target: 'uploaded.img' }, 'up');
  await page.setInputFiles('#start-form [name=file]', { name: 'a.img', mimeType: 'application/octet-stream', buffer: bytes });
  await page.click('#start-form button[type=submit]');
  await page.waitForSelector('#chart .state.current[data-status=concluded]');
  assert.equal(await page.locator('#info [data-field=error]').count(), 0);
  // alice's file jobs write and read her own folder (docs/security.md, Files).
  assert.deepEqual(readFileSync(join(dash.stack.dataDir, 'alice', 'uploaded.img')), bytes);

  writeFileSync(join(dash.stack.dataDir, 'alice', 'out.img'), bytes);
  await startForm(page, 'backup', { source: 'out.img', target: 'pipe:output' }, 'down');
  await page.check('#start-form [name=output]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#start-form button[type=submit]')]);
  const saved = join(dash.stack.dataDir, 'downloaded');
  await download.saveAs(saved);
  assert.deepEqual(readFileSync(saved), bytes);
  await page.close();
});
