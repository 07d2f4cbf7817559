/**
 * Headless Chromium for the dashboard's tests, benchmark and screenshots: Debian's `chromium`
 * (CHROMIUM_BIN to use another) driven by playwright-core, with a fresh profile each launch
 * (playwright's own temporary --user-data-dir), removed at close. One browser per test file; a page per test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export interface TestBrowser extends AsyncDisposable {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'jobstate-chromium-'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // A fresh --user-data-dir: playwright makes one per launch and removes it at close (it
    // refuses the flag itself); ours is only where the browser's temp files go.
    env: { ...process.env, TMPDIR: profile },
  });
  const close = async () => {
    await browser.close().catch(() => undefined);
    rmSync(profile, { recursive: true, force: true });
  };
  return { browser, close, [Symbol.asyncDispose]: close };
}
