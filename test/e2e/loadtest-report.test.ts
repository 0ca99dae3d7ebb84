// The `headroom loadtest --report` page in a real Chromium: both charts draw (latency percentiles
// with the SLO line, achieved vs asked rate), the numbers match --json, and the page needs no network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openOfflinePage } from './support/chromium.ts';
import { runCli, startService, type Service } from './support/loadtest.ts';

let ctx: BrowserContext | undefined;
let svc: Service | undefined;
const dir = mkdtempSync(join(tmpdir(), 'headroom-ltreport-'));

beforeAll(async () => {
  ctx = await launchChromium(join(dir, 'profile'));
});

afterAll(async () => {
  await ctx?.close();
  await svc?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadtest --report in Chromium', () => {
  it('draws the latency and throughput charts from a real run, offline', async () => {
    // 10 ms × 1 slot = 100 rps: steps 40, 80, 160 (bad), one refinement → a few seconds.
    svc = await startService({ WORK_MS: '10', CONCURRENCY: '1' });
    const report = join(dir, 'report.html');
    const run = await runCli([
      `${svc.url}/work`,
      '--slo-latency-ms',
      '100',
      '--slo-percentile',
      '95',
      '--start-rps',
      '40',
      '--factor',
      '2',
      '--warmup',
      '0.3',
      '--hold',
      '1',
      '--refine',
      '1',
      '--cooldown',
      '0.2',
      '--max-duration',
      '40',
      '--json',
      '--report',
      report,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const res = JSON.parse(run.stdout) as { kneeRps: number; steps: unknown[] };

    const { page, requests, errors } = await openOfflinePage(ctx!, report);
    await expect.poll(() => page.locator('#latency canvas').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.locator('#throughput canvas').count()).toBe(1);
    // uPlot's legend lists every percentile curve and the SLO line.
    const legend = (await page.locator('#latency .u-legend').textContent()) ?? '';
    for (const s of ['p50', 'p90', 'p99', 'p99.9', 'SLO p95 ≤ 100 ms']) expect(legend).toContain(s);
    expect(Number(await page.locator('#knee').textContent())).toBe(res.kneeRps);
    expect(await page.locator('table.steps tbody tr').count()).toBe(res.steps.length);
    // The canvas is drawn on, not blank.
    // (A string: the tests are typed without the DOM library.)
    const inked = await page.evaluate<boolean>(
      `(() => { const c = document.querySelector('#latency canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 0) return true;
        return false; })()`,
    );
    expect(inked).toBe(true);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
