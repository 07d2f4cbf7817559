/**
 * Signing in to the dashboard under nats-auth.conf (the shipped permission model, on a private
 * server): users sign in with their NATS credentials, wrong ones are refused, alice's page
 * never shows bob's job and an admin's shows both; and the page says when the service, or the
 * broker, is unreachable.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { NatsServer } from '../../src/nats/server.js';
import { startAuthServer } from '../security/auth-server.js';
import type { AuthServer } from '../security/auth-server.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { launchBrowser } from './browser.js';
import type { TestBrowser } from './browser.js';
import { startDashboardHttp } from './stack.js';
import type { RunningHttp } from '../../src/http/start.js';

let auth: AuthServer;
let stack: Stack;
let http: RunningHttp;
let chrome: TestBrowser;

before(async () => {
  const launching = launchBrowser();
  auth = await startAuthServer();
  const service = { user: 'jobstate', pass: auth.passwords.jobstate };
  stack = await startStack({ server: auth.server, prefix: auth.prefix, connection: service });
  http = await startDashboardHttp({ server: auth.server, prefix: auth.prefix, connection: service });
  chrome = await launching;
});
after(async () => {
  await chrome?.close();
  await http?.close();
  await stack?.close();
  await auth?.stop();
});

async function signIn(url: string, user: string, pass: string): Promise<Page> {
  const page = await chrome.browser.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(url);
  await page.fill('#signin input[name=user]', user);
  await page.fill('#signin input[name=password]', pass);
  await page.click('#signin button[type=submit]');
  return page;
}

/** The jobs the table shows, as owner/id. */
async function shown(page: Page): Promise<string[]> {
  const rows = page.locator('#jobs .row[data-id]:not([data-id=""]):visible');
  const out: string[] = [];
  for (const r of await rows.all()) out.push(`${await r.getAttribute('data-owner')}/${await r.getAttribute('data-id')}`);
  return out;
}

test('wrong credentials are refused by the broker, and the page says so', async () => {
  const page = await signIn(http.url, 'alice', 'not-her-password');
  await page.waitForSelector('#signin-error:has-text("refused")');
  assert.equal(await page.locator('#signin-error').textContent(), 'The broker refused these credentials');
  await page.close();
});

test("alice's page never shows bob's job; the admin's shows both", async () => {
  const bob = await stack.client('bob', auth.passwords.bob);
  const alice = await stack.client('alice', auth.passwords.alice);
  const page = await signIn(http.url, 'alice', auth.passwords.alice);
  await page.waitForSelector('body[data-ready=true]');
  await bob.start('test', { id: 'bobs', params: { steps: 1000, 'step-ms': 100 } });
  // Bob's job runs (its events are out) before alice's starts: were they shown to alice, they would be by now.
  await alice.start('test', { id: 'alices', params: { steps: 1000, 'step-ms': 100 } });
  await page.locator('#jobs .row[data-id=alices]').waitFor();
  assert.deepEqual(await shown(page), ['alice/alices']);
  // Not even by its address.
  await page.goto(`${http.url}/#/job/bob/bobs`);
  await page.waitForSelector('body[data-ready=true]');
  await page.waitForSelector('#info dd');
  assert.match((await page.locator('#info').textContent()) ?? '', /Job not found/);

  const admin = await signIn(http.url, 'admin', auth.passwords.admin);
  await admin.locator('#jobs .row[data-id=bobs]').waitFor();
  await admin.locator('#jobs .row[data-id=alices]').waitFor();
  assert.deepEqual((await shown(admin)).sort(), ['alice/alices', 'bob/bobs']);
  await alice.cancel('alices');
  await bob.cancel('bobs');
  await Promise.all([page.close(), admin.close()]);
});

test('the page says when the service does not answer, and when the broker is gone', async () => {
  const lonely = await NatsServer.start({ websocket: {} });
  const noService = await startDashboardHttp({ server: lonely, prefix: 'nobody' });
  try {
    const page = await chrome.browser.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(noService.url);
    await page.fill('#signin input[name=user]', 'alice');
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('#status.down');
    assert.match((await page.locator('#status').textContent()) ?? '', /service is unreachable/);
    await lonely.stop();
    await page.waitForSelector('#status.down:has-text("reconnecting")');
    await page.close();
  } finally {
    await noService.close();
    await lonely.stop();
  }
});
