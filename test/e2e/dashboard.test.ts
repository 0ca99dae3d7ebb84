// The dashboard as a user meets it: `headroom run` (real processes, real balancer) serves the page,
// real headless Chromium renders it. Load changes → the instance count on the page changes, with no
// reload; decisions show their reasons; the what-if panel plans; the token is enforced.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { driveTraffic, type TrafficRun } from '../../src/local/traffic.ts';
import { chromiumPerFile } from './support/chromium.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SPEC = fileURLToPath(new URL('../../examples/run.yaml', import.meta.url));
// The README's screenshot is rewritten only on request (HR_WRITE_SCREENSHOT=1): a test run leaves
// the checkout as it found it.
const SHOT_DIR =
  process.env.HR_WRITE_SCREENSHOT === '1' ? undefined : mkdtempSync(join(tmpdir(), 'hr-dashboard-shot-'));
const SCREENSHOT = SHOT_DIR
  ? join(SHOT_DIR, 'dashboard.png')
  : fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url));
const TOKEN = 'e2e-dashboard-token-0123456789';
// Inherited by headroom run and its instances: finds any instance left behind.
const MARKER = `HEADROOM_E2E_DASHBOARD_${process.pid}`;

interface Run {
  child: ChildProcess;
  dashboard: string;
  balancer: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const runs: Run[] = [];

/** `headroom run examples/run.yaml` on ephemeral ports; resolves once it prints its URLs. */
function headroomRun(extra: string[] = []): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', MAIN, 'run', SPEC, '--port', '0', '--status-port', '0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEADROOM_TOKEN: '', [MARKER]: '1' } },
  );
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`headroom run did not start:\n${out}\n${err}`)), 60_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const d = /dashboard\s+(http:\/\/\S+?)\/?(\s|$)/.exec(out);
      const b = /send requests to\s+(http:\/\/\S+)/.exec(out);
      if (d && b) {
        clearTimeout(timer);
        const run = { child, dashboard: d[1]!, balancer: b[1]!, stdout: () => out, stderr: () => err, exited };
        runs.push(run);
        resolve(run);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`headroom run exited ${code}:\n${out}\n${err}`));
    });
  });
}

/** Processes that inherited our marker (headroom run's instances), still alive. */
function marked(): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, 'utf8').includes(`${MARKER}=1`)) pids.push(Number(p));
    } catch {
      // gone or not ours
    }
  }
  return pids;
}

function describePid(pid: number): string {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const inst = env.find((e) => e.startsWith('HEADROOM_INSTANCE=')) ?? '';
    const started = readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[21];
    return `${pid} ${inst} start tick ${started}`;
  } catch {
    return String(pid);
  }
}

async function stop(run: Run): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGTERM');
    const t = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
    await run.exited;
    clearTimeout(t);
  }
  // headroom run drains its instances before it exits; if any outlive it (give them 5 s to finish
  // exiting), say so and end them.
  let left = marked();
  for (let i = 0; i < 50 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = marked();
  }
  if (left.length > 0) {
    console.warn(
      `headroom run left ${left.length} instance(s) running (${left.map(describePid).join('; ')}), ` +
        `headroom run pid ${run.child.pid} exit ${run.child.exitCode}/${run.child.signalCode}:\n` +
        `${run.stdout().slice(-1500)}\n${run.stderr().slice(-1500)}`,
    );
    for (const pid of left) process.kill(pid, 'SIGKILL');
  }
}

const browser = chromiumPerFile();

afterAll(() => {
  if (SHOT_DIR) rmSync(SHOT_DIR, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(runs.splice(0).map(stop));
});

/** Every request the page makes, to check that nothing leaves the server (works offline). */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  return urls;
}

const num = async (page: Page, selector: string): Promise<number> =>
  Number((await page.locator(selector).first().textContent())?.trim());

describe('dashboard in Chromium', () => {
  it('loads from headroom run, shows the service, follows load live, explains decisions, plans what-ifs', async () => {
    const run = await headroomRun();
    expect(run.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await browser.ctx.newPage();
    const requests = recordRequests(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(run.dashboard + '/');
    const row = page.locator('tr[data-service="web"]');
    await row.waitFor({ timeout: 30_000 });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
    expect(await page.title()).toContain('web');
    // Four uPlot charts, drawn on canvases.
    await expect.poll(() => page.locator('.chart canvas').count(), { timeout: 15_000 }).toBe(4);

    // Idle: the spec's minimum, 1 instance.
    await expect.poll(() => num(page, '#replicas-ready'), { timeout: 30_000 }).toBe(1);
    const before = await num(page, 'tr[data-service="web"] [data-field="desired"]');
    expect(before).toBe(1);
    // examples/run.yaml has prices: 250m × 0.0316 + 0.125 GiB × 0.0042 = 0.008425 USD an hour, × 730.
    await expect.poll(() => page.locator('#cost').textContent(), { timeout: 15_000 }).toBe('6.15 USD now');
    expect(await page.locator('.stat:has(#cost)').getAttribute('title')).toBe(
      '0.008425 USD per instance-hour × 730 h a month',
    );
    // A marker that a reload would wipe: updates must arrive without one.
    await page.evaluate('window.__noReload = 1');

    // 200 rps ≈ 2.5× what one instance serves (80 rps): the loop must scale up.
    const stopLoad = new AbortController();
    const traffic: TrafficRun = driveTraffic(run.balancer, [{ name: 'load', seconds: 150, rps: () => 200 }], {
      signal: stopLoad.signal,
      maxRequests: 32_000,
      maxInFlight: 256,
    });
    try {
      await expect
        .poll(() => num(page, 'tr[data-service="web"] [data-field="desired"]'), { timeout: 90_000, interval: 500 })
        .toBeGreaterThanOrEqual(3);
      await expect
        .poll(() => num(page, '#replicas-ready'), { timeout: 90_000, interval: 500 })
        .toBeGreaterThanOrEqual(3);
      // The page agrees with the server.
      const status = (await (await fetch(run.dashboard + '/api/status')).json()) as { replicas: { desired: number } };
      expect(status.replicas.desired).toBeGreaterThanOrEqual(3);
      // Demand on the page reflects the load.
      await expect
        .poll(async () => parseFloat((await page.locator('#demand').textContent()) ?? ''), { timeout: 30_000 })
        .toBeGreaterThan(50);
      // Where the latency went (the balancer holds the queue): the caption splits the burst window's
      // p99 into the wait for a slot and the time at the instance, as /api/status does. The second is
      // the instance's: a 50-ms exponential service's p99 is 230 ms, far above any sane hop.
      const caption = /p99 waiting for a slot (\d+) ms, at the instance (\d+) ms$/;
      await expect.poll(() => page.locator('#latency-caption').textContent(), { timeout: 15_000 }).toMatch(caption);
      const split = caption.exec((await page.locator('#latency-caption').textContent()) ?? '')!;
      expect(Number(split[2])).toBeGreaterThanOrEqual(100);
      expect(Number(split[2])).toBeLessThan(2000);
      const burst = (
        (await (await fetch(run.dashboard + '/api/status')).json()) as {
          traffic: { burst: { waitMs?: { p99: number }; atInstanceMs?: { p99: number } } };
        }
      ).traffic.burst;
      expect(burst.waitMs!.p99).toBeGreaterThanOrEqual(0);
      expect(burst.atInstanceMs!.p99).toBeGreaterThanOrEqual(100);
      // A little more history under steady load, for the README screenshot.
      await page.waitForTimeout(12_000);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(readFileSync(SCREENSHOT).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      stopLoad.abort();
      await traffic.done;
    }
    expect(await page.evaluate('window.__noReload')).toBe(1);
    // examples/run.yaml states concurrency 4: requests wait at the balancer, and none is left waiting.
    expect(await page.locator('#queue').textContent()).toBe('at the balancer, ≤ 4 per instance');
    await expect
      .poll(() => page.locator('#inflight').textContent(), { timeout: 15_000 })
      .toBe('0, 0 waiting for a slot');
    const idle = (await (await fetch(run.dashboard + '/api/status')).json()) as {
      service: { queue: string };
      traffic: { inFlight: number; queued: number };
    };
    expect([idle.service.queue, idle.traffic.inFlight, idle.traffic.queued]).toEqual(['balancer', 0, 0]);

    // The decision that scaled up is in the log, with its reasons.
    const scaled = page.locator('#decisions li.decision', { has: page.locator('.desired', { hasText: /^[3-8] / }) });
    await expect.poll(() => scaled.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    const reasons = scaled.first().locator('.reason');
    expect(await reasons.count()).toBeGreaterThanOrEqual(1);
    const reasonText = (await reasons.first().textContent()) ?? '';
    expect(reasonText.trim().length).toBeGreaterThan(10);
    expect(await reasons.first().getAttribute('data-code')).toMatch(/\S/);
    // The newest decision carries the plan's warnings: examples/run.yaml runs concurrency 4 on 250m.
    await expect
      .poll(() => page.locator('#decisions li.decision').first().locator('.reason.warn').allTextContents())
      .toEqual([expect.stringMatching(/^! concurrency 4 on 0\.25 CPU: if requests are CPU-bound/)]);
    expect(await page.locator('#decisions li.decision').nth(1).locator('.reason.warn').count()).toBe(0);

    // A page opened now starts where the first one is: the decisions the server kept (the idle one at 1
    // and the scale-up), and a CPU/memory chart over the same history as the demand chart, not from
    // the moment it opened. Local mode fills both charts: no "not collected" notes.
    const late = await browser.ctx.newPage();
    const opened = Date.now() / 1000;
    await late.goto(run.dashboard + '/');
    await late.locator('tr[data-service="web"]').waitFor({ timeout: 30_000 });
    await expect
      .poll(() => late.locator('#decisions li.decision').count(), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    expect(await late.locator('#decisions li.decision .desired', { hasText: /^1 / }).count()).toBeGreaterThanOrEqual(1);
    const first = async (id: string): Promise<number> => Number(await late.locator(id).getAttribute('data-first'));
    await expect.poll(() => first('#chart-resources'), { timeout: 10_000 }).toBeGreaterThan(0);
    expect(Math.abs((await first('#chart-resources')) - (await first('#chart-demand')))).toBeLessThanOrEqual(2);
    // From before the late page opened (sampling each push would start at `opened`).
    expect(await first('#chart-resources')).toBeLessThan(opened - 5);
    expect(await late.locator('#latency-note').isHidden()).toBe(true);
    expect(await late.locator('#resources-note').isHidden()).toBe(true);
    await late.close();

    // What-if: more demand needs more instances; the answer comes from the server's plan.
    const plan = async (rps: number): Promise<number> => {
      await page.fill('#whatif-form input[name="demandRps"]', String(rps));
      const answered = page.waitForResponse((r) => r.url().endsWith('/api/what-if'));
      await page.click('#whatif-form button[type="submit"]');
      await answered;
      await page.locator('#whatif-replicas').waitFor();
      return parseInt((await page.locator('#whatif-replicas').textContent()) ?? '', 10);
    };
    const low = await plan(40);
    const high = await plan(400);
    expect(low).toBeGreaterThanOrEqual(1);
    expect(high).toBeGreaterThan(low);
    expect(await page.locator('#whatif-result li').count()).toBeGreaterThan(1);

    // Phone width: one column, no sideways scrolling of the page.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'), { timeout: 5_000 })
      .toBeLessThanOrEqual(1);

    // Read-only by default: no action buttons, and the action API refuses.
    expect(await page.locator('#actions').isHidden()).toBe(true);
    const denied = await fetch(run.dashboard + '/api/actions/pause', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paused: true }),
    });
    expect(denied.status).toBe(403);

    // Offline: every request went to the server itself (no CDN), and the page had no errors.
    expect(requests.length).toBeGreaterThan(5);
    expect(requests.filter((u) => !u.startsWith(run.dashboard + '/'))).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 170_000);

  it('with a token, the page and its API refuse requests without it and work with it', async () => {
    const run = await headroomRun(['--token', TOKEN, '--allow-write']);
    const page = await browser.ctx.newPage();
    const bare = await page.goto(run.dashboard + '/');
    expect(bare?.status()).toBe(401);
    const wrong = await page.goto(run.dashboard + '/?token=' + 'x'.repeat(TOKEN.length));
    expect(wrong?.status()).toBe(401);
    for (const path of ['/api/status', '/api/events', '/metrics', '/assets/app.js']) {
      expect((await fetch(run.dashboard + path)).status, path).toBe(401);
    }
    const ok = await page.goto(run.dashboard + '/?token=' + TOKEN);
    expect(ok?.status()).toBe(200);
    await page.locator('tr[data-service="web"]').waitFor({ timeout: 30_000 });
    await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
    // --allow-write: the page's buttons act (through the token-carrying fetch) and the change shows live.
    const mode = page.locator('tr[data-service="web"] [data-field="mode"]');
    expect(await mode.textContent()).toBe('active');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => mode.textContent(), { timeout: 15_000 }).toBe('active, paused');
    await page.getByRole('button', { name: 'Switch to shadow' }).click();
    await expect.poll(() => mode.textContent(), { timeout: 15_000 }).toBe('shadow, paused');
    const status = (await (
      await fetch(run.dashboard + '/api/status', { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as { shadow: boolean; paused?: boolean };
    expect(status).toMatchObject({ shadow: true, paused: true });
    await page.close();
  });

  it('listening off loopback without a token is refused before anything starts (HR_TOKEN_REQUIRED, exit 2)', async () => {
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning',
        MAIN,
        'run',
        SPEC,
        '--host',
        '0.0.0.0',
        '--port',
        '0',
        '--status-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEADROOM_TOKEN: '' } },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    clearTimeout(kill);
    expect(code).toBe(2);
    expect(err).toContain('HR_TOKEN_REQUIRED');
    expect(err).toContain('0.0.0.0');
    expect(out).not.toContain('send requests to');
  });
});
