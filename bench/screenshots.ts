/**
 * `npm run screenshots`: the dashboard's pages in headless Chromium, saved under
 * docs/screenshots/ (the README and docs/dashboard.md show them). A private nats-server and
 * service with a few jobs in various statuses, a grouped transaction among them. Not under
 * test/: `node --test dist/test/` runs every file below a `test` directory.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/dashboard/browser.js';
import { startDashboard } from '../test/dashboard/stack.js';

const OUT = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
mkdirSync(OUT, { recursive: true });

const dash = await startDashboard();
const chrome = await launchBrowser();
try {
  const alice = await dash.stack.client('alice');
  const bob = await dash.stack.client('bob');
  await alice.start('test', { id: 'nightly-backup', params: { steps: 400, 'step-ms': 100 }, description: 'copying disk images', 'auto-dismiss': false });
  await alice.start('test', { id: 'report', params: { steps: 4, 'step-ms': 20, result: { rows: 12 } }, 'auto-dismiss': false });
  await alice.start('test', { id: 'mirror-vm1', params: { steps: 5, 'step-ms': 20, ready: true }, 'auto-dismiss': false });
  await alice.start('test', { id: 'broken', params: { steps: 3, 'step-ms': 20, fail: 'disk full' }, 'auto-dismiss': false });
  await alice.start('test', { id: 'archive', params: { steps: 1000, 'step-ms': 100 } });
  await alice.pause('archive');
  await bob.start('test', { id: 'bobs-export', params: { steps: 600, 'step-ms': 100 } });
  await alice.transaction(
    [
      { type: 'test', id: 'snap-db', params: { steps: 300, 'step-ms': 100 } },
      { type: 'test', id: 'snap-web', params: { steps: 300, 'step-ms': 150 } },
    ],
    'grouped',
  );
  await new Promise((r) => setTimeout(r, 1500));

  const page = await chrome.browser.newPage({ viewport: { width: 1280, height: 560 } });
  await page.goto(dash.url);
  await page.screenshot({ path: `${OUT}signin.png` });
  await page.fill('#signin input[name=user]', 'admin');
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('#jobs .row[data-id=snap-web]');
  await page.screenshot({ path: `${OUT}jobs.png` });

  await page.setViewportSize({ width: 1280, height: 1000 });
  await page.goto(`${dash.url}/#/job/alice/archive`);
  await page.waitForSelector('#chart .state.current');
  await page.click('#verbs button[data-verb=pause]');
  await page.waitForSelector('#refusal:not(:empty)');
  await page.screenshot({ path: `${OUT}job.png`, fullPage: true });

  await page.goto(`${dash.url}/#/start`);
  await page.waitForSelector('#start-form');
  await page.screenshot({ path: `${OUT}start.png` });
  console.log(`screenshots written to ${OUT}`);
} finally {
  await chrome.close();
  await dash.close();
}
