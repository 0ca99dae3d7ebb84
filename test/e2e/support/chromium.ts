// Debian's Chromium driven by playwright-core, as every browser test here needs it: installed on
// first use, headless, a fresh profile, and the flags that keep it off the (closed) network.
import { chromium, type BrowserContext } from 'playwright-core';
import { ensureDebs } from './debs.ts';

export async function launchChromium(profileDir: string): Promise<BrowserContext> {
  ensureDebs(['chromium']);
  return chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
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
    viewport: { width: 1280, height: 900 },
  });
}
