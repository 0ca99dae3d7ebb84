// Debian's Chromium driven by playwright-core, as every browser test here needs it: installed on
// first use, headless, a fresh profile, and the flags that keep it off the (closed) network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
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

/** Chromium for one test file: launched on a fresh profile before its tests, closed and removed after. */
export function chromiumPerFile(): { readonly ctx: BrowserContext } {
  const held: { ctx?: BrowserContext; profile?: string } = {};
  beforeAll(async () => {
    held.profile = mkdtempSync(join(tmpdir(), 'headroom-chromium-'));
    held.ctx = await launchChromium(held.profile);
  });
  afterAll(async () => {
    await held.ctx?.close();
    if (held.profile) rmSync(held.profile, { recursive: true, force: true });
  });
  return {
    get ctx(): BrowserContext {
      if (!held.ctx) throw new Error('Chromium is not launched yet (use it inside a test)');
      return held.ctx;
    },
  };
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
