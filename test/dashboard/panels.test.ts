// The dashboard's helpers that do not touch the page's live state (src/server/dashboard/assets/
// panels.js), run in a bare JS context as graph.test.ts runs graph.js: the texts from a snapshot
// (fixtures.ts), and the list items on a small stand-in document that records what is written (how
// they are patched into the page, keeping its nodes, is tested in Chromium: test/e2e/dashboard-live).
// The page in a real browser: test/e2e/dashboard.
import { createContext, runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { sizingCapacity } from '../../src/core/decide.ts';
import { assetText } from '../../src/server/dashboard/assets.ts';
import type { DashboardCost, DashboardSnapshot } from '../../src/server/dashboard/plugin.ts';
import { snapshotCapacity } from '../../src/server/dashboard/whatif.ts';
import type { HistoryPoint, WindowStatus } from '../../src/server/status.ts';
import { history, snapshot } from './fixtures.ts';

interface Texts {
  text: string;
  cls: string;
}
interface ChartData {
  demand: { t: number[]; demand: Array<number | null>; capacity: Array<number | null> };
  instances: { t: number[]; ready: number[]; starting: number[]; desired: number[] };
  latency: { t: number[]; latency: Array<number | null>; slo: Array<number | null> };
  resources: { t: number[]; cpu: Array<number | null>; memoryMiB: Array<number | null> };
}
interface Entry {
  snap: DashboardSnapshot;
  history: HistoryPoint[];
  resources: Array<{ t: number; cpu: number | null; memoryMiB: number | null }>;
}
interface Panels {
  fmt(v: number | null, digits?: number): string;
  plural(n: number, word: string): string;
  sloKey(slo: { percentile: number } | undefined): string;
  sloStatus(s: DashboardSnapshot, stale?: boolean): Texts;
  perInstanceRps(s: DashboardSnapshot): number | null;
  latencyCaption(s: DashboardSnapshot): string;
  costText(c: DashboardCost): string;
  costTitle(c: DashboardCost): string;
  chartData(e: Entry): ChartData;
  chartNotes(e: Entry, d: ChartData): { latency: string | null; resources: string | null };
  alertItems(alerts: unknown[]): FakeNode[];
  serviceRow(name: string, s: DashboardSnapshot, selected: boolean, stale?: boolean): FakeNode;
  detailStats(s: DashboardSnapshot): FakeNode[];
  demandText(w: WindowStatus | null): string;
  eventItems(events: unknown[] | undefined): FakeNode[];
  decisionItems(decisions: Array<{ d: unknown; key?: string }>): FakeNode[];
}

/** Just enough of a DOM for el(): elements keep their attributes, class and children; no markup is parsed. */
class FakeNode {
  attrs: Record<string, string> = {};
  className = '';
  children: FakeNode[] = [];
  tag: string;
  ownText: string;
  constructor(tag: string, text = '') {
    this.tag = tag;
    this.ownText = text;
  }
  set textContent(t: string) {
    this.ownText = t;
    this.children = [];
  }
  get textContent(): string {
    return this.ownText + this.children.map((c) => c.textContent).join('');
  }
  setAttribute(k: string, v: string): void {
    this.attrs[k] = String(v);
  }
  appendChild(c: FakeNode): void {
    this.children.push(c);
  }
  replaceChildren(...c: FakeNode[]): void {
    this.children = c;
  }
}
const document = {
  createElement: (tag: string) => new FakeNode(tag),
  createTextNode: (text: string) => new FakeNode('#text', text),
};

// The same file the server sends the page (assets.ts).
const ctx = createContext({ document });
runInContext(assetText('panels.js'), ctx);
const P = (ctx as { HeadroomPanels: Panels }).HeadroomPanels;

const win = (p99: number, over: Partial<WindowStatus> = {}): WindowStatus => ({
  windowSeconds: 60,
  seconds: 60,
  arrivalRps: 100,
  completionRps: 100,
  errorRatio: 0,
  meanConcurrency: 2,
  latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, mean: p99 / 3, max: p99 * 2 },
  ...over,
});
const traffic = (stable: WindowStatus | null, burst: WindowStatus | null = null): DashboardSnapshot['traffic'] => ({
  inFlight: 0,
  stable,
  burst,
  totals: { requests: 0, errors: 0 },
});
const model = (over: Partial<NonNullable<DashboardSnapshot['model']>>): DashboardSnapshot['model'] => ({
  percentile: 99,
  predictedMs: 100,
  calibratedMs: 100,
  measuredMs: 100,
  error: 1,
  scale: 1,
  samples: 10,
  calibrating: false,
  ...over,
});
/** A snapshot as the dashboard's server sends it: with `sizing`, the core's sizingCapacity on it (plugin.ts). */
const served = (s: DashboardSnapshot): DashboardSnapshot => ({ ...s, sizing: snapshotCapacity(s) });

describe('panels.js texts', () => {
  it('reads the window percentile closest to the SLO percentile', () => {
    expect([99.9, 95, 91, 90, 75, 51, 50, 10].map((percentile) => P.sloKey({ percentile }))).toEqual([
      'p99',
      'p99',
      'p99',
      'p90',
      'p90',
      'p90',
      'p50',
      'p50',
    ]);
    expect(P.sloKey(undefined)).toBe('p99');
  });

  it('SLO status: met at the limit, missed above it, the burst window before the stable one', () => {
    // SLO p99 ≤ 500 ms (fixtures.ts).
    expect(P.sloStatus(snapshot({ traffic: traffic(win(500)) }))).toEqual({
      text: 'met (p99 500 / 500 ms)',
      cls: 'ok',
    });
    expect(P.sloStatus(snapshot({ traffic: traffic(win(500.6)) }))).toEqual({
      text: 'missed (p99 501 / 500 ms)',
      cls: 'bad',
    });
    expect(P.sloStatus(snapshot({ traffic: traffic(win(100), win(900)) })).cls).toBe('bad');
    // A p90 SLO is judged on the window's p90 (here half its p99).
    const p90 = snapshot({ traffic: traffic(win(800)) });
    p90.service.slo = { latencyMs: 450, percentile: 90 };
    expect(P.sloStatus(p90)).toEqual({ text: 'met (p90 400 / 450 ms)', cls: 'ok' });
    expect(P.sloStatus(snapshot({ traffic: traffic(win(100, { latencyMs: null })) })).text).toBe('no data');
    expect(P.sloStatus(snapshot({ traffic: traffic(null) })).text).toBe('no data');
    const none = snapshot({ traffic: traffic(win(100)) });
    delete none.service.slo;
    expect(P.sloStatus(none)).toEqual({ text: 'none', cls: 'muted' });
  });

  it('SLO status on the percentile the SLO names: bounded by the measured ones, else said not measured', () => {
    const at = (percentile: number, lat: Record<string, number>, latencyMs = 200) => {
      const s = snapshot({ traffic: traffic(win(0, { latencyMs: { p50: 20, mean: 30, ...lat } as never })) });
      s.service.slo = { latencyMs, percentile };
      return P.sloStatus(s);
    };
    // p99.9: p99 150 within 200 says nothing about it (the max is 900).
    expect(at(99.9, { p90: 60, p99: 150, max: 900 })).toEqual({
      text: 'p99.9 not measured (p99 150, max 900 / 200 ms)',
      cls: 'muted',
    });
    // ...but p99 over the SLO misses it (p99.9 ≥ p99), and a max within it meets it.
    expect(at(99.9, { p90: 60, p99: 300, max: 900 })).toEqual({
      text: 'missed (p99.9 ≥ p99 300 / 200 ms)',
      cls: 'bad',
    });
    expect(at(99.9, { p90: 60, p99: 150, max: 180 })).toEqual({ text: 'met (p99.9 ≤ max 180 / 200 ms)', cls: 'ok' });
    // p95 lies between p90 and p99.
    expect(at(95, { p90: 180, p99: 400, max: 900 })).toEqual({
      text: 'p95 not measured (p90 180, p99 400 / 200 ms)',
      cls: 'muted',
    });
    expect(at(95, { p90: 100, p99: 150, max: 900 }).text).toBe('met (p95 ≤ p99 150 / 200 ms)');
    expect(at(75, { p90: 400, p99: 500, max: 900, p50: 250 }).text).toBe('missed (p75 ≥ p50 250 / 200 ms)');
    // The exact percentile is read as it is.
    expect(at(90, { p90: 180, p99: 400, max: 900 }).text).toBe('met (p90 180 / 200 ms)');
  });

  it('a graph entry is read against its end-to-end SLO, said so', () => {
    const s = snapshot({ traffic: traffic(win(450)) });
    s.service.slo = { latencyMs: 600, percentile: 99, scope: 'endToEnd' };
    expect(P.sloStatus(s)).toEqual({ text: 'met (end-to-end p99 450 / 600 ms)', cls: 'ok' });
    const stat = P.detailStats(s).find((x) => x.children[0]!.textContent === 'SLO')!;
    expect(stat.children[1]!.textContent).toBe('end-to-end p99 ≤ 600 ms');
  });

  it('stale data (the stream dropped) is never green: the row is marked and the SLO muted', () => {
    const s = snapshot({ traffic: traffic(win(100)) });
    expect(P.sloStatus(s).cls).toBe('ok');
    expect(P.sloStatus(s, true)).toEqual({ text: 'met (p99 100 / 500 ms)', cls: 'muted' });
    const row = P.serviceRow('web', s, true, true);
    expect(row.className).toBe('sel stale');
    expect(row.children.find((c) => c.attrs['data-field'] === 'slo')!.className).toBe('muted');
    expect(P.serviceRow('web', s, false).className).toBe('');
  });

  it('capacity: as the loop sizes it (the server’s sizing, calibrated), said where calibrated', () => {
    const s: DashboardSnapshot = snapshot();
    s.sizing = {
      serviceTimeMs: 62,
      concurrency: 4,
      source: 'spec',
      perInstanceRps: 64.516,
      scale: 1.24,
      calibrated: true,
    };
    expect(P.perInstanceRps(s)).toBe(64.516);
    const cap = P.detailStats(s).find((x) => x.children[0]!.textContent === 'capacity')!;
    expect(cap.children[1]!.textContent).toBe('64.5 req/s per instance (spec, calibrated ×1.24)');
    const d = P.chartData({ snap: s, history: history(3), resources: [] });
    expect(d.demand.capacity).toEqual(history(3).map((p) => p.ready * 64.516));
    s.sizing = { ...s.sizing, serviceTimeMs: 50, perInstanceRps: 80, scale: 1, calibrated: false };
    expect(P.detailStats(s).find((x) => x.children[0]!.textContent === 'capacity')!.children[1]!.textContent).toBe(
      '80.0 req/s per instance (spec)',
    );
  });

  it('capacity per instance is concurrency ÷ service time; none without a service time', () => {
    expect(P.perInstanceRps(snapshot())).toBe(80); // 4 at 50 ms
    const s = snapshot();
    s.service.capacity = { serviceTimeMs: 0, concurrency: 4, source: 'spec' };
    expect(P.perInstanceRps(s)).toBeNull();
  });

  it("the caption says 'sizing with' exactly where decide() sizes with the scale (sizingCapacity)", () => {
    // The page reads the server's `sizing` (plugin.ts: snapshotCapacity on each snapshot), which
    // runs the core's rule; the grid runs both, through that path, against the rule called here.
    for (const scale of [1, 1.015, 1.021, 1.04, 1.049, 1.051, 1.5])
      for (const error of [0.9, 1.01, 1.021, 1.5])
        for (const wholeResponse of [true, false]) {
          const m = { scale, error, samples: 10, ...(wholeResponse ? { wholeResponse } : {}) };
          const caption = P.latencyCaption(served(snapshot({ model: model({ ...m, calibrating: true }) })));
          const sized = sizingCapacity({ serviceTimeMs: 50, concurrency: 4 }, undefined, m) !== undefined;
          expect(caption.includes('sizing with'), JSON.stringify(m)).toBe(sized);
          if (sized) expect(caption).toContain(`×${scale.toFixed(2)}`);
        }
    // The page keeps no copy of the rule: a 1.9× scale without the server's word is not said sized with.
    const unsent = snapshot({ model: model({ scale: 1.9, error: 1.9, samples: 10, calibrating: true }) });
    expect(P.latencyCaption(unsent)).not.toContain('sizing with');
    expect(P.latencyCaption(served(unsent))).toContain('sizing with service time ×1.90');
    // Not while the loop does not calibrate (learned capacity, or calibration off).
    expect(
      P.latencyCaption(served(snapshot({ model: model({ scale: 1.9, error: 1.9, samples: 10, calibrating: false }) }))),
    ).not.toContain('sizing with');
  });

  it('latency caption: the SLO, then the model check once it has samples', () => {
    expect(P.latencyCaption(snapshot())).toBe('Latency p99 vs SLO (p99 ≤ 500 ms)');
    expect(P.latencyCaption(snapshot({ model: model({ samples: 0, error: 3 }) }))).toBe(
      'Latency p99 vs SLO (p99 ≤ 500 ms)',
    );
    // Off is the ratio either way round: measured at half the prediction is 2× off too.
    expect(P.latencyCaption(snapshot({ model: model({ measuredMs: 49.6, predictedMs: 99.4, error: 0.5 }) }))).toBe(
      'Latency p99 vs SLO (p99 ≤ 500 ms) · measured 50 ms, model 99 ms (2.00× off)',
    );
    const calibrating = (scale: number, error = 1.9, wholeResponse = true) =>
      P.latencyCaption(
        served(snapshot({ model: model({ measuredMs: null, error, scale, calibrating: true, wholeResponse }) })),
      );
    expect(calibrating(1.9)).toBe(
      'Latency p99 vs SLO (p99 ≤ 500 ms) · measured – ms, model 100 ms (1.90× off), sizing with service time ×1.90',
    );
    // As decide() sizes (sizingCapacity): within 5 % only read from whole responses that read slow
    // too, past 2 % (where the balancer splits each request, a scale within 5 % is the host's own).
    expect(calibrating(1.04)).toContain('sizing with service time ×1.04');
    expect(calibrating(1.04, 1.01)).not.toContain('sizing');
    expect(calibrating(1.04, 1.9, false)).not.toContain('sizing');
    expect(calibrating(1.015)).not.toContain('sizing');
    const noSlo = snapshot();
    delete noSlo.service.slo;
    expect(P.latencyCaption(noSlo)).toBe('Latency p99 vs SLO');
    // No prediction now: no error to state (the smoothed one is from before).
    expect(P.latencyCaption(snapshot({ model: model({ measuredMs: 2400, predictedMs: null, error: 1.02 }) }))).toBe(
      'Latency p99 vs SLO (p99 ≤ 500 ms) · measured 2400 ms, model – ms',
    );
    // Local mode, the queue at the balancer: the shape sized with, and where the window's time went.
    const split = snapshot({
      model: model({
        measuredMs: 41,
        predictedMs: 24,
        error: 1.7,
        scale: 1.02,
        calibrating: true,
        serviceTime: { cv: 0.3, quantilesMs: { p50: 21, p90: 23, p99: 38.2, p999: 50 }, source: 'balancer' },
      }),
    });
    split.traffic.burst = {
      windowSeconds: 6,
      seconds: 6,
      arrivalRps: 500,
      completionRps: 500,
      errorRatio: 0,
      meanConcurrency: 11,
      latencyMs: { p50: 22, p90: 25, p99: 41, mean: 23, max: 60 },
      waitMs: { p50: 0, p90: 0.4, p99: 12.6 },
      atInstanceMs: { p50: 21, p90: 23, p99: 38.2, p999: 50, mean: 21.5 },
    };
    expect(P.latencyCaption(served(split))).toBe(
      'Latency p99 vs SLO (p99 ≤ 500 ms) · measured 41 ms, model 24 ms (1.70× off), sizing with service time ×1.02 in the shape measured at the instances (p99 38 ms) · p99 waiting for a slot 13 ms, at the instance 38 ms',
    );
    // The chart has p99 only: a p90 SLO's threshold is not drawn against it, and the caption says so.
    const p90 = snapshot();
    p90.service.slo = { latencyMs: 200, percentile: 90 };
    expect(P.latencyCaption(p90)).toBe('Latency p99 (SLO p90 ≤ 200 ms: not drawn, only p99 is kept)');
    expect(P.chartData({ snap: p90, history: history(3), resources: [] }).latency.slo).toEqual([null, null, null]);
    const p999 = snapshot();
    p999.service.slo = { latencyMs: 200, percentile: 99.9 };
    expect(P.chartData({ snap: p999, history: history(3), resources: [] }).latency.slo).toEqual([200, 200, 200]);
  });

  it('cost: two decimals with thousands separators; desired only when it differs; the price in the title', () => {
    const c = { currency: 'EUR', perInstanceHour: 0.0416666, currentPerMonth: 1234.5, desiredPerMonth: 2469 };
    expect(P.costText(c)).toBe('1,234.50 EUR now, 2,469.00 EUR at desired');
    expect(P.costText({ ...c, desiredPerMonth: 1234.5 })).toBe('1,234.50 EUR now');
    expect(P.costTitle(c)).toBe('0.04167 EUR per instance-hour × 730 h a month');
  });

  it('number helpers', () => {
    expect([P.fmt(null), P.fmt(NaN), P.fmt(Infinity), P.fmt(2.46, 1), P.fmt(7.6)]).toEqual(['–', '–', '–', '2.5', '8']);
    expect([P.plural(1, 'instance'), P.plural(0, 'instance'), P.plural(2, 'instance')]).toEqual([
      '1 instance',
      '0 instances',
      '2 instances',
    ]);
  });
});

describe('panels.js chart data', () => {
  const h = history(8);

  it('capacity is ready × per-instance capacity; starting is running − ready; the SLO on every point', () => {
    const e: Entry = { snap: snapshot(), history: h, resources: [] };
    const d = P.chartData(e);
    expect(d.demand.t).toEqual(h.map((p) => p.t));
    expect(d.demand.capacity).toEqual(h.map((p) => p.ready * 80));
    expect(d.instances.starting).toEqual(h.map((p) => p.current - p.ready));
    expect(d.latency.slo).toEqual(h.map(() => 500));
  });

  it('CPU and memory from the tick history when it has them, else from what each push showed', () => {
    const pushed = [{ t: 5, cpu: 0.5, memoryMiB: 64 }];
    const measured = h.map((p, i) => ({ ...p, cpuCores: i === 0 ? null : 0.25, memoryBytes: 2 * 1048576 }));
    const fromTicks = P.chartData({ snap: snapshot(), history: measured, resources: pushed }).resources;
    expect(fromTicks.t).toEqual(h.map((p) => p.t));
    expect(fromTicks.cpu[0]).toBeNull();
    expect(fromTicks.memoryMiB).toEqual(h.map(() => 2));
    expect(P.chartData({ snap: snapshot(), history: h, resources: pushed }).resources).toEqual({
      t: [5],
      cpu: [0.5],
      memoryMiB: [64],
    });
  });

  it('explains an empty chart only in controller mode, and only while it is empty', () => {
    const empty = h.map((p) => ({ ...p, p99Ms: null }));
    const notes = (mode: 'local' | 'kubernetes', hist: HistoryPoint[]) => {
      const e: Entry = { snap: snapshot({ mode }), history: hist, resources: [] };
      return P.chartNotes(e, P.chartData(e));
    };
    expect(notes('local', empty)).toEqual({ latency: null, resources: null });
    expect(notes('kubernetes', empty).latency).toContain('No measured latency');
    expect(notes('kubernetes', empty).resources).toContain('not collected');
    expect(notes('kubernetes', h).latency).toBeNull();
  });
});

describe('panels.js lists', () => {
  it('alerts: firing first, then pending, then resolved; names written as text; the input not reordered', () => {
    const alerts = [
      { state: 'resolved', rule: 'Old', labels: {} },
      { state: 'pending', rule: 'Soon', labels: { service: 'web' }, value: 0.123 },
      { state: 'firing', rule: '<img src=x onerror=alert(1)>', labels: { severity: 'page' } },
    ];
    const ul = new FakeNode('ul');
    ul.replaceChildren(...P.alertItems(alerts));
    expect(ul.children.map((li) => li.attrs['data-state'])).toEqual(['firing', 'pending', 'resolved']);
    expect(ul.children[0]!.textContent).toBe('firing <img src=x onerror=alert(1)> · page');
    expect(ul.children[0]!.children.some((c) => c.tag === 'img')).toBe(false);
    expect(ul.children[1]!.textContent).toBe('pending Soon · web · value 0.12');
    expect(alerts.map((a) => a.state)).toEqual(['resolved', 'pending', 'firing']);
    ul.replaceChildren(...P.alertItems([]));
    expect(ul.children.map((li) => li.textContent)).toEqual(['No alerts.']);
  });

  it('events: the last 30, newest first; none → a placeholder', () => {
    const events = Array.from({ length: 35 }, (_, i) => ({
      at: 'not a time',
      type: 'scale',
      message: 'event ' + i,
      warning: i === 34,
    }));
    const ol = new FakeNode('ol');
    ol.replaceChildren(...P.eventItems(events));
    expect(ol.children).toHaveLength(30);
    expect(ol.children[0]!.textContent).toBe('not a time scale event 34');
    expect(ol.children[0]!.className).toBe('warn');
    expect(ol.children[29]!.textContent).toBe('not a time scale event 5');
    ol.replaceChildren(...P.eventItems(undefined));
    expect(ol.children.map((li) => li.textContent)).toEqual(['No events.']);
  });

  it("decisions: each reason with its code; the newest one's plan warnings marked !; none → a placeholder", () => {
    const d = snapshot().decision!;
    const warnings = ['replicas.max caps the count at 8, below the 11 needed'];
    const ol = new FakeNode('ol');
    ol.replaceChildren(...P.decisionItems([{ d: { ...d, warnings } }, { d: { ...d, warnings } }]));
    const [newest, older] = ol.children.map((li) => li.children[1]!.children);
    expect(newest!.map((li) => li.textContent)).toEqual([
      'SLO p99 500 ms needs 3 instances at 160 rps',
      '! replicas.max caps the count at 8, below the 11 needed',
    ]);
    expect(newest!.map((li) => li.className)).toEqual(['reason', 'reason warn']);
    expect(older!.map((li) => li.textContent)).toEqual(['SLO p99 500 ms needs 3 instances at 160 rps']);
    // A server from before warnings sends none.
    ol.replaceChildren(...P.decisionItems([{ d: { ...d, warnings: undefined } }]));
    expect(ol.children[0]!.children[1]!.children).toHaveLength(1);
    ol.replaceChildren(...P.decisionItems([]));
    expect(ol.children.map((li) => li.textContent)).toEqual(['No decision yet.']);
  });

  it('counts not known yet (a controller policy before its first round) show as –, never as 0', () => {
    const known = snapshot({ mode: 'kubernetes' });
    const fresh = snapshot({
      mode: 'kubernetes',
      decision: null,
      replicas: { ...known.replicas, desired: null, current: null, ready: null },
    });
    const cell = (row: FakeNode, field: string): string | undefined =>
      [row, ...row.children.flatMap((c) => [c, ...c.children])].find((n) => n.attrs['data-field'] === field)
        ?.textContent;
    const stats = (x: DashboardSnapshot): string[] => P.detailStats(x).map((n) => n.textContent);
    const row = P.serviceRow('shop/web', fresh, false);
    expect(['ready', 'current', 'desired'].map((f) => cell(row, f))).toEqual(['–', '–', '–']);
    expect(stats(fresh).slice(0, 3)).toEqual(['ready–', 'running–', 'desired–']);
    const r = known.replicas;
    expect(stats(known).slice(0, 3)).toEqual([`ready${r.ready}`, `running${r.current}`, `desired${r.desired}`]);
    expect(cell(P.serviceRow('shop/web', known, false), 'ready')).toBe(String(r.ready));
  });

  it('local mode: where requests wait, and how many wait at the balancer; a controller has neither', () => {
    const stats = (x: DashboardSnapshot): string[] => P.detailStats(x).map((n) => n.textContent);
    const base = snapshot();
    const held = snapshot({
      service: { ...base.service, queue: 'balancer' },
      traffic: { ...base.traffic, inFlight: 11, queued: 3 },
    });
    expect(stats(held)).toContain('queueat the balancer, ≤ 4 per instance');
    expect(stats(held)).toContain('in flight11, 3 waiting for a slot');
    const direct = snapshot({
      service: { ...base.service, queue: 'instances' },
      traffic: { ...base.traffic, inFlight: 7 },
    });
    expect(stats(direct)).toContain('queuein the instances');
    expect(stats(direct)).toContain('in flight7');
    const k8s = stats(snapshot({ mode: 'kubernetes' }));
    expect(k8s.some((t) => t.startsWith('queue') || t.startsWith('in flight'))).toBe(false);
  });

  it('a controller counter of answers is marked as such, with why in the title; arrivals and local windows are not', () => {
    expect(P.demandText(win(50, { arrivalRps: 19.54, counts: 'answers' }))).toBe('19.5 req/s answered');
    expect(P.demandText(win(50, { arrivalRps: 53.79, counts: 'arrivals' }))).toBe('53.8 req/s');
    expect(P.demandText(win(50, { arrivalRps: 53.79 }))).toBe('53.8 req/s');
    expect(P.demandText(null)).toBe('–');
    const answered = snapshot({ traffic: traffic(win(50, { arrivalRps: 19.54, counts: 'answers' })) });
    const stat = P.detailStats(answered).find((n) => n.textContent.startsWith('demand'));
    expect(stat?.textContent).toBe('demand19.5 req/s answered');
    expect((stat as FakeNode & { title?: string }).title).toContain('not what arrives');
    const arrivals = snapshot({ traffic: traffic(win(50, { arrivalRps: 53.79, counts: 'arrivals' })) });
    const plain = P.detailStats(arrivals).find((n) => n.textContent.startsWith('demand'));
    expect((plain as FakeNode & { title?: string }).title).toBeUndefined();
  });
});
