// The `headroom simulate --report` page in a real Chromium: the shared dashboard charts draw one
// demand/capacity and one instance chart per policy, the scatter shows every policy, and the page
// needs no network.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openOfflinePage } from './support/chromium.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let ctx: BrowserContext;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'headroom-simreport-'));
  ctx = await launchChromium(join(dir, 'profile'));
});

afterAll(async () => {
  await ctx?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('simulate --report in Chromium', () => {
  it('draws two charts per policy and the cost/violation scatter, offline', async () => {
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      'services:\n  - name: api\n    demand: { rps: 1000 }\n    instance: { serviceTimeMs: 20, concurrency: 4 }\n    slo: { latencyMs: 100, percentile: 99 }\n    replicas: { min: 1, max: 100 }\n',
    );
    const trace = join(dir, 'trace.csv');
    const rows = ['t_seconds,rps'];
    for (let m = 0; m < 90; m++) rows.push(`${m * 60},${200 + 150 * Math.sin(m / 10)}`);
    writeFileSync(trace, `${rows.join('\n')}\n`);
    const report = join(dir, 'report.html');
    const withReport = spawnSync(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        MAIN,
        'simulate',
        '--trace',
        trace,
        '--spec',
        spec,
        '--peak',
        '1500',
        '--sweep',
        '--report',
        report,
      ],
      { encoding: 'utf8', timeout: 300_000 },
    );
    expect(withReport.status, withReport.stderr).toBe(0);

    const { page, requests, errors } = await openOfflinePage(ctx, report);
    // 6 policies × (demand/capacity + instances).
    await expect.poll(() => page.locator('#plots canvas').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(12);
    expect(await page.locator('#plots h3').allTextContents()).toEqual([
      'headroom',
      'hpa@70%',
      'kpa@70%',
      'keda@70%',
      'static',
      'oracle',
    ]);
    // Scatter: 6 policies + 30 sweep points, and a frontier line per baseline family.
    expect(await page.locator('svg circle[r="6"], svg circle[r="3.5"]').count()).toBe(36);
    expect(await page.locator('svg polyline').count()).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
