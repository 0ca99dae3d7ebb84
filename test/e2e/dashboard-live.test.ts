// The dashboard page across live updates, in real Chromium: the real status server with the dashboard
// plugin pushes snapshots (built in the test) every 100 ms. The page must keep its elements while it
// updates (focus, a held click and a text selection survive), drop what a restarted server no longer
// has, take over the decisions made while it was away, and say when its data is from before the
// connection dropped.
import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboard } from '../../src/server/dashboard/plugin.ts';
import { startStatusServer, type StatusServer } from '../../src/server/server.ts';
import type { DecisionView, StatusSnapshot } from '../../src/server/status.ts';
import { history, snapshot } from '../dashboard/fixtures.ts';
import { chromiumPerFile } from './support/chromium.ts';

const TOKEN = 'e2e-dashboard-live-token-0123456789';

const browser = chromiumPerFile();
const servers: StatusServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A service whose figures change on every push (the ticks count up), so every push changes the page. */
class Service {
  tick = 0;
  paused = false;
  decisions: DecisionView[] = [decision(3, 1)];
  readonly name: string;
  readonly alerts: unknown[];
  constructor(name: string, alerts: unknown[] = []) {
    this.name = name;
    this.alerts = alerts;
  }
  snap(): StatusSnapshot {
    const t = ++this.tick;
    const base = snapshot({ history: history(5 + t) });
    return {
      ...base,
      service: { ...base.service, name: this.name },
      paused: this.paused,
      decision: this.decisions[0]!,
      decisions: this.decisions,
      traffic: {
        ...base.traffic,
        stable: {
          windowSeconds: 60,
          seconds: 60,
          arrivalRps: 100 + t,
          completionRps: 100 + t,
          errorRatio: 0,
          meanConcurrency: 2,
          latencyMs: { p50: 50, p90: 80, p99: 100 + t, mean: 60, max: 300 },
        },
      },
      ...(this.alerts.length ? { alerts: { alerts: this.alerts } } : {}),
    } as StatusSnapshot;
  }
}

function decision(desired: number, minute: number): DecisionView {
  return {
    ...snapshot().decision!,
    at: new Date(Date.UTC(2027, 0, 1, 12, minute)).toISOString(),
    desired,
    recommended: desired,
    reasons: [{ code: 'SizedByLatency', message: `p99 500 ms needs ${desired} instances` }],
  };
}

async function serve(services: Service[], port = 0): Promise<StatusServer> {
  const s = await startStatusServer({
    host: '127.0.0.1',
    port,
    status: () => services[0]!.snap(),
    plugins: [
      dashboard({
        status: () => services.map((x) => x.snap()),
        pushIntervalMs: 100,
        token: TOKEN,
        allowWrite: true,
        actions: {
          setPaused: (name, on) => {
            services.find((x) => x.name === name)!.paused = on;
          },
        },
      }),
    ],
  });
  servers.push(s);
  return s;
}

async function open(server: StatusServer): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${server.url}/?token=${TOKEN}`);
  await page.locator('#conn[data-state="live"]').waitFor({ timeout: 30_000 });
  return { page, errors };
}

/** Waits until the page has drawn `n` more pushes (the web row's demand counts the pushes up). */
async function updates(page: Page, n: number): Promise<void> {
  const demand = page.locator('tr[data-service="web"] [data-field="demand"]');
  const now = parseFloat((await demand.textContent()) ?? '');
  await expect
    .poll(async () => parseFloat((await demand.textContent()) ?? ''), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(now + n);
}

describe('dashboard live updates, in Chromium', () => {
  it('keeps focus, a held click, a text selection and the list items across updates', async () => {
    const web = new Service('web');
    const server = await serve([web, new Service('api')]);
    const { page, errors } = await open(server);

    // Keyboard focus on a row: the same element keeps it while its figures change.
    const ROW = 'tr[data-service="web"]';
    const PAUSE = '#actions button:nth-child(2)';
    // The element itself is kept (not one found again by selector), and must still hold the focus.
    const keep = (sel: string) => page.evaluate(`window.__kept = document.querySelector('${sel}')`);
    const stillFocused = () => page.evaluate('window.__kept.isConnected && document.activeElement === window.__kept');
    await page.focus(ROW);
    await keep(ROW);
    expect(await stillFocused()).toBe(true);
    await updates(page, 2);
    expect(await stillFocused()).toBe(true);

    // Focus on the Pause button, likewise.
    await page.focus(PAUSE);
    await keep(PAUSE);
    expect(await stillFocused()).toBe(true);
    await updates(page, 2);
    expect(await stillFocused()).toBe(true);

    // A slow click: the button pressed across two updates, then released, still clicks.
    const box = (await page.locator(PAUSE).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await updates(page, 2);
    await page.mouse.up();
    await expect
      .poll(() => page.locator('tr[data-service="web"] [data-field="mode"]').textContent())
      .toBe('active, paused');
    expect(web.paused).toBe(true);
    expect(await stillFocused()).toBe(true);
    expect(await page.locator(PAUSE).textContent()).toBe('Resume');

    // A text selection in a decision's reason outlives the updates.
    await page.evaluate(`(() => {
      const r = document.createRange();
      r.selectNodeContents(document.querySelector('#decisions li.decision .reason'));
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      window.__first = document.querySelector('#decisions li.decision');
    })()`);
    const selected = await page.evaluate('getSelection().toString()');
    expect(selected).toContain('needs 3 instances');
    await updates(page, 2);
    expect(await page.evaluate('getSelection().toString()')).toBe(selected);

    // A new decision goes in above the kept one, which stays the same element.
    web.decisions = [decision(5, 2), ...web.decisions];
    await expect.poll(() => page.locator('#decisions li.decision').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('#decisions li.decision .desired').allTextContents()).toEqual([
      '5 instances',
      '3 instances',
    ]);
    expect(await page.evaluate("document.querySelectorAll('#decisions li.decision')[1] === window.__first")).toBe(true);
    expect(await page.evaluate('getSelection().toString()')).toBe(selected);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('after the connection drops, says the data is old; after a restart, shows only what the server has', async () => {
    const web = new Service('web');
    const api = new Service('api', [{ rule: 'ApiSlow', state: 'firing', labels: { service: 'api' } }]);
    const first = await serve([web, api]);
    const { page, errors } = await open(first);
    await page.locator('tr[data-service="api"]').click();
    await expect.poll(() => page.locator('#detail-name').textContent()).toBe('api');
    expect(await page.locator('#alerts li.alert').allTextContents()).toEqual([expect.stringContaining('ApiSlow')]);
    expect(await page.locator('tr[data-service="web"] [data-field="slo"]').getAttribute('class')).toBe('ok');

    // The server goes away: the header says since when the data is, nothing shows as met.
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    await expect
      .poll(() => page.locator('#conn').textContent(), { timeout: 10_000 })
      .toMatch(/^disconnected since \d{1,2}:\d\d:\d\d.* — data below is from then/);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('down');
    // The header is set in the error handler; the page is redrawn on the next frame (schedule()).
    await expect.poll(() => page.evaluate("document.body.classList.contains('stale')")).toBe(true);
    expect(await page.locator('tr[data-service="web"]').getAttribute('class')).toBe('stale');
    expect(await page.locator('tr[data-service="web"] [data-field="slo"]').getAttribute('class')).toBe('muted');

    // It comes back on the same port without api, and web decided twice meanwhile.
    web.decisions = [decision(6, 4), decision(4, 3), ...web.decisions];
    await serve([web], first.port);
    await expect
      .poll(
        () => page.locator('#services tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))),
        {
          timeout: 30_000,
        },
      )
      .toEqual(['web']);
    expect(await page.locator('#conn').getAttribute('data-state')).toBe('live');
    expect(await page.evaluate("document.body.classList.contains('stale')")).toBe(false);
    // The dead service is neither selected nor alerting.
    expect(await page.locator('#detail-name').textContent()).toBe('web');
    expect(await page.locator('#alerts li').allTextContents()).toEqual(['No alerts.']);
    // The decisions made while the page was away are in its log, each once.
    await expect
      .poll(() => page.locator('#decisions li.decision .desired').allTextContents(), { timeout: 10_000 })
      .toEqual(['6 instances', '4 instances', '3 instances']);
    expect(await page.locator('tr[data-service="web"] [data-field="slo"]').getAttribute('class')).toBe('ok');
    expect(errors).toEqual([]);
    await page.close();
  });
});
