// The call graph on the dashboard as a user sees it: the real status server with the dashboard
// plugin serves graphs that graphView() builds from planGraph() on examples/graph.yaml (read by the
// real spec loader); real headless Chromium draws them. What the page shows is compared with
// `headroom plan … --json` run as a real CLI, and the calls with the spec file parsed on its own.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planGraph } from '../../src/core/graph.ts';
import { loadSpecFile } from '../../src/input/load.ts';
import { dashboard } from '../../src/server/dashboard/plugin.ts';
import { graphView, type GraphView, type GraphViewExtras } from '../../src/server/graph-view.ts';
import { startStatusServer, type StatusServer } from '../../src/server/server.ts';
import type { StatusSnapshot } from '../../src/server/status.ts';
import { snapshot } from '../dashboard/fixtures.ts';
import { launchChromium, openOfflinePage } from './support/chromium.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SPEC = fileURLToPath(new URL('../../examples/graph.yaml', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../../docs/dashboard-graph.png', import.meta.url));

interface PlanJson {
  graph: {
    entry: string;
    predictedMs: number | null;
    feasible: boolean;
    services: Array<{ name: string; budgetMs: number | null; demandRps: number; replicas: number }>;
  };
}

/** `headroom plan FILE --json [--demand N]`, as a user runs it. */
function planCli(file: string, demand?: number): PlanJson {
  const args = ['--disable-warning=ExperimentalWarning', MAIN, 'plan', file, '--json'];
  if (demand !== undefined) args.push('--demand', String(demand));
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

/** The calls as the spec file writes them, parsed without our loader. */
function callsOf(file: string): Array<{ from: string; to: string; perRequest: number; mode: string }> {
  const doc = parse(readFileSync(file, 'utf8')) as {
    services: Array<{ name: string; calls?: Array<{ service: string; perRequest: number; mode?: string }> }>;
  };
  return doc.services.flatMap((s) =>
    (s.calls ?? []).map((c) => ({
      from: s.name,
      to: c.service,
      perRequest: c.perRequest,
      mode: c.mode ?? 'sequential',
    })),
  );
}

/** The view a live mode would serve: the loader's models, planGraph's plan, the loop's extras. */
function viewOf(file: string, demand?: number, extra: GraphViewExtras = {}): GraphView {
  const spec = loadSpecFile(file);
  const entry = spec.services.find((m) => m.endToEndSlo)!.name;
  const plan = planGraph(spec.services, { entry, ...(demand !== undefined ? { entryDemandRps: demand } : {}) });
  return graphView(spec.services, plan, extra);
}

/** The browser's getComputedStyle, typed here (the tests compile without the DOM types). */
interface Styled {
  getComputedStyle(e: unknown): { strokeDasharray: string };
}

let ctx: BrowserContext;
let profile: string;
let server: StatusServer;
let graphs: GraphView[] = [];
let snaps: StatusSnapshot[] = [];

function serve(view: GraphView): void {
  graphs = [view];
  const base = snapshot();
  snaps = view.nodes.map((n) =>
    snapshot({
      service: { ...base.service, name: n.name },
      replicas: { ...base.replicas, desired: n.replicas, current: n.replicas, ready: n.ready ?? n.replicas },
    }),
  );
}

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'headroom-chromium-'));
  ctx = await launchChromium(profile);
  serve(viewOf(SPEC));
  server = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    status: () => snaps[0]!,
    plugins: [dashboard({ status: () => snaps, graphs: () => graphs, pushIntervalMs: 250, title: 'Headroom graph' })],
  });
});

afterAll(async () => {
  await server?.close();
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const node = (page: Page, name: string) =>
  page.locator('#graphs g.node').filter({ has: page.locator(`title`, { hasText: name }) });
const field = async (page: Page, name: string, f: string): Promise<string> => {
  const g = page.locator('#graphs g.node').and(page.locator(`[data-node="${name}"]`));
  return ((await g.locator(`[data-field="${f}"]`).textContent()) ?? '').trim();
};
/** The first number in a text after a leading percentile: "p99 ≤ 16.9 ms" → 16.9, "750 calls/s" → 750. */
const numberIn = (text: string): number => Number(/\d+(\.\d+)?/.exec(text.replace(/^p[\d.]+ /, ''))?.[0]);
/** Shown with 3 significant digits: within 0.5 % (plus a hair) of the exact value. */
const near = (shown: number, exact: number): boolean => Math.abs(shown - exact) <= Math.abs(exact) * 0.005 + 1e-9;

describe('call graph on the dashboard, in Chromium', () => {
  it('draws the plan of examples/graph.yaml, updates it live in place, and shows names as text', async () => {
    const truth = planCli(SPEC).graph;
    const calls = callsOf(SPEC);
    const page = await ctx.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });

    await page.goto(server.url + '/');
    await page.locator('#graphs svg.graph').waitFor({ timeout: 30_000 });
    expect(await page.locator('#graphs').isVisible()).toBe(true);

    // One node per service, with the CLI plan's count, budget and demand.
    expect(await page.locator('#graphs g.node').count()).toBe(truth.services.length);
    for (const s of truth.services) {
      expect(await field(page, s.name, 'name')).toBe(s.name);
      expect(await field(page, s.name, 'count')).toBe(`${s.replicas} instance${s.replicas === 1 ? '' : 's'}`);
      const budget = await field(page, s.name, 'budget');
      expect(budget).toMatch(/^p99 ≤ [\d.]+ ms$/);
      expect(near(numberIn(budget), s.budgetMs!), `${s.name} budget ${budget} vs ${s.budgetMs}`).toBe(true);
      expect(near(numberIn(await field(page, s.name, 'demand')), s.demandRps)).toBe(true);
    }
    // The entry is marked, and the layout runs left to right from it.
    expect(await page.locator(`#graphs g.node.entry[data-node="${truth.entry}"]`).count()).toBe(1);

    // One edge per call in the file, its rate = the caller's planned demand × perRequest, drawn
    // solid (sequential) or dashed (parallel); what reaches a callee adds up to its demand.
    expect(await page.locator('#graphs g.edge').count()).toBe(calls.length);
    const demand = new Map(truth.services.map((s) => [s.name, s.demandRps]));
    const inbound = new Map<string, number>();
    for (const c of calls) {
      const g = page.locator(`#graphs g.edge[data-from="${c.from}"][data-to="${c.to}"]`);
      expect(await g.count(), `${c.from} → ${c.to}`).toBe(1);
      const label = ((await g.locator('[data-field="rate"]').textContent()) ?? '').trim();
      const rate = numberIn(label);
      expect(near(rate, demand.get(c.from)! * c.perRequest), `${c.from} → ${c.to}: ${label}`).toBe(true);
      expect(label).toContain(`×${c.perRequest}`);
      inbound.set(c.to, (inbound.get(c.to) ?? 0) + rate);
      expect(await g.getAttribute('data-mode')).toBe(c.mode);
      const dash = await g
        .locator('path')
        .evaluate((p) => (globalThis as unknown as Styled).getComputedStyle(p).strokeDasharray);
      expect(dash === 'none', `${c.from} → ${c.to} dash ${dash}`).toBe(c.mode === 'sequential');
      const from = await page.locator(`#graphs g.node[data-node="${c.from}"] rect`).boundingBox();
      const to = await page.locator(`#graphs g.node[data-node="${c.to}"] rect`).boundingBox();
      expect(to!.x).toBeGreaterThan(from!.x + from!.width - 1);
    }
    for (const [to, rps] of inbound) expect(near(rps, demand.get(to)!), `into ${to}`).toBe(true);

    // The header: the SLO, the CLI's predicted latency, and that the plan is feasible (nothing measured
    // here, so not called met).
    const head = page.locator('#graphs .graph-head');
    expect(await head.locator('[data-field="slo"]').textContent()).toBe('end-to-end p99 ≤ 200 ms at gateway');
    const predicted = (await head.locator('[data-field="predicted"]').textContent()) ?? '';
    expect(near(numberIn(predicted), truth.predictedMs!), predicted).toBe(true);
    expect(await head.locator('[data-field="status"]').textContent()).toBe('plan feasible (latency not measured here)');
    expect(await head.locator('[data-field="status"]').getAttribute('class')).toBe('muted');
    expect(await head.locator('[data-field="measured"]').textContent()).toBe('');

    // Accessible: the picture is a labelled group; every service and call is a labelled list item.
    await expect
      .poll(() => page.getByRole('group', { name: /^Call graph from gateway: end-to-end p99/ }).count())
      .toBe(1);
    expect(await page.getByRole('listitem', { name: /^cart: \d+ instances, own p99/ }).count()).toBe(1);
    expect(
      await page.getByRole('listitem', { name: /^gateway → search: 500 calls\/s, 1 per request, parallel$/ }).count(),
    ).toBe(1);

    await page.locator('#graphs').screenshot({ path: SCREENSHOT });

    // Live: the loop sets other counts and the entry measures; the page follows without a reload
    // and redraws nothing but texts (the same SVG element, the same boxes).
    await page.evaluate("window.__svg = document.querySelector('#graphs svg.graph')");
    const cartBox = await page.locator('#graphs g.node[data-node="cart"] rect').boundingBox();
    const cart = truth.services.find((s) => s.name === 'cart')!;
    serve(
      viewOf(SPEC, undefined, {
        replicas: { cart: cart.replicas + 1 },
        ready: { cart: cart.replicas },
        measuredMs: 187.4,
      }),
    );
    await expect
      .poll(() => field(page, 'cart', 'count'), { timeout: 10_000 })
      .toBe(`${cart.replicas} / ${cart.replicas + 1} ready`);
    expect(await head.locator('[data-field="measured"]').textContent()).toBe(' · measured 187 ms');
    // Measured within the SLO: met, green. Measured 40× over it: missed, red, though the plan is feasible.
    expect(await head.locator('[data-field="status"]').textContent()).toBe('meets the SLO');
    expect(await head.locator('[data-field="status"]').getAttribute('class')).toBe('ok');
    serve(viewOf(SPEC, undefined, { measuredMs: 8000 }));
    await expect
      .poll(() => head.locator('[data-field="status"]').textContent(), { timeout: 10_000 })
      .toBe('misses the SLO: measured 8000 ms');
    expect(await head.locator('[data-field="status"]').getAttribute('class')).toBe('bad');
    expect(await page.evaluate("document.querySelector('#graphs svg.graph') === window.__svg")).toBe(true);
    expect(await page.locator('#graphs g.node[data-node="cart"] rect').boundingBox()).toEqual(cartBox);

    // More demand at the entry (as `--demand` gives it): the page shows what the CLI plans for it.
    const busier = planCli(SPEC, 800).graph;
    serve(viewOf(SPEC, 800));
    const db = busier.services.find((s) => s.name === 'db')!;
    await expect.poll(() => field(page, 'db', 'demand'), { timeout: 10_000 }).toMatch(new RegExp(`^${db.demandRps} `));
    for (const s of busier.services) {
      expect(await field(page, s.name, 'count')).toBe(`${s.replicas} instance${s.replicas === 1 ? '' : 's'}`);
    }

    // Beyond what replicas.max allows: infeasible, said plainly, and the overloaded service marked.
    const over = planCli(SPEC, 5000).graph;
    expect(over.feasible).toBe(false);
    serve(viewOf(SPEC, 5000));
    await expect
      .poll(() => head.locator('[data-field="status"]').textContent(), { timeout: 10_000 })
      .toMatch(/^infeasible/);
    expect(await head.locator('[data-field="status"]').getAttribute('class')).toBe('bad');
    expect(await head.locator('[data-field="predicted"]').textContent()).toBe('predicted > 400 ms');
    for (const s of over.services.filter((x) => x.budgetMs === null)) {
      expect(await field(page, s.name, 'budget')).toBe('overloaded');
      expect(await page.locator(`#graphs g.node.overloaded[data-node="${s.name}"]`).count()).toBe(1);
    }

    // Hostile names go in as text. The spec loader refuses them (a service name is a DNS label), so
    // the page's own defence is what is tested: a served view whose names carry markup.
    const evil: Record<string, string> = {
      db: '<script>window.__pwned=1</script>',
      search: '<img src=x onerror="window.__pwned=2">',
    };
    const rename = (n: string): string => evil[n] ?? n;
    const plain = viewOf(SPEC);
    serve({
      ...plain,
      nodes: plain.nodes.map((n) => ({ ...n, name: rename(n.name) })),
      edges: plain.edges.map((e) => ({ ...e, from: rename(e.from), to: rename(e.to) })),
    });
    await expect
      .poll(() => page.locator('#graphs g.node title', { hasText: evil.db! }).count(), { timeout: 10_000 })
      .toBe(1);
    for (const bad of Object.values(evil)) {
      const g = node(page, bad);
      expect(await g.count()).toBe(1);
      // Cut at 32 characters on the picture, whole in its title.
      expect(await g.locator('[data-field="name"]').textContent()).toBe(`${bad.slice(0, 31)}…`);
    }
    expect(await page.locator('#graphs script, #graphs img, #graphs foreignObject').count()).toBe(0);
    await page.waitForTimeout(500);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(dialogs).toEqual([]);

    // Phone width: the picture shrinks to fit, the page does not scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await expect
      .poll(() => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'), { timeout: 5_000 })
      .toBeLessThanOrEqual(1);
    const pic = await page.locator('#graphs svg.graph').boundingBox();
    expect(pic!.width).toBeLessThanOrEqual(390);

    // No graphs served: no panel.
    graphs = [];
    await expect.poll(() => page.locator('#graphs').isHidden(), { timeout: 10_000 }).toBe(true);

    // Never reloaded: what the page kept in window is still there.
    expect(await page.evaluate('window.__svg instanceof SVGElement')).toBe(true);
    expect(requests.filter((u) => !u.startsWith(server.url + '/'))).toEqual([]);
    expect(requests.some((u) => u.includes('/assets/dagre.min.js'))).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('`plan --html` draws the same picture offline, from one file', async () => {
    const truth = planCli(SPEC).graph;
    const dir = mkdtempSync(join(tmpdir(), 'headroom-graph-html-'));
    try {
      const file = join(dir, 'graph.html');
      const r = spawnSync(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', MAIN, 'plan', SPEC, '--html', file],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const { page, requests, errors } = await openOfflinePage(ctx, file);
      await page.locator('svg.graph').waitFor({ timeout: 15_000 });
      expect(await page.locator('g.node').count()).toBe(truth.services.length);
      for (const s of truth.services) {
        const g = page.locator(`g.node[data-node="${s.name}"]`);
        expect(await g.locator('[data-field="count"]').textContent()).toBe(
          `${s.replicas} instance${s.replicas === 1 ? '' : 's'}`,
        );
      }
      const predicted = (await page.locator('[data-field="predicted"]').textContent()) ?? '';
      expect(near(numberIn(predicted), truth.predictedMs!), predicted).toBe(true);
      // The plan's binding constraint is in each node's title (cart is sized by its end-to-end share).
      expect(await page.locator('g.node[data-node="cart"] title').textContent()).toContain('binding endToEnd');
      expect(requests).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
