// Debian's Chromium driven by playwright-core, as every browser test here needs it: installed on
// first use, headless, a fresh profile, and the flags that keep it off the (closed) network.
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
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

/** Opens a local file, recording every request that leaves file: and every page error. */
export async function openOfflinePage(
  ctx: BrowserContext,
  file: string,
): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const page = await ctx.newPage();
  const requests: string[] = [];
  page.on('request', (q) => {
    if (!q.url().startsWith('file:')) requests.push(q.url());
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(pathToFileURL(file).href);
  return { page, requests, errors };
}
