// The pure parts of the dashboard's call-graph picture (src/server/dashboard/assets/graph.js): its
// texts (graph-text.js, re-exported) and its dagre layout, run in a bare JS context (no DOM) on a
// GraphView that graphView() builds from planGraph() on examples/graph.yaml. Drawing in a real browser: test/e2e/dashboard-graph.
import { fileURLToPath } from 'node:url';
import { createContext, runInContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { planGraph, predictGraph } from '../../src/core/graph.ts';
import { formatNumber } from '../../src/core/plan.ts';
import { loadSpecFile } from '../../src/input/load.ts';
import { assetText } from '../../src/server/dashboard/assets.ts';
import { graphView, type GraphView } from '../../src/server/graph-view.ts';

const SPEC = fileURLToPath(new URL('../../examples/graph.yaml', import.meta.url));

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface HeadroomGraph {
  num(x: number | null): string;
  nodeLines(n: GraphView['nodes'][number], v: GraphView): Array<{ field: string; text: string }>;
  edgeLabel(e: GraphView['edges'][number]): string;
  headline(v: GraphView): {
    slo: string;
    predicted: string;
    measured: string | null;
    total: string;
    status: string;
    state: string;
  };
  shapeKey(v: GraphView): string;
  layout(
    v: GraphView,
    dagre: unknown,
  ): {
    width: number;
    height: number;
    nodes: Record<string, Box>;
    edges: Array<{ points: Array<{ x: number; y: number }>; x: number; y: number } | null>;
  };
  pathOf(points: Array<{ x: number; y: number }>): string;
}

// The same files the server sends the page (assets.ts), so the test runs what the browser runs.
const ctx = createContext({ structuredClone });
runInContext(assetText('dagre.min.js'), ctx);
runInContext(assetText('graph-text.js'), ctx); // graph.js reads its texts from it, as on the page
runInContext(assetText('graph.js'), ctx);
const G = (ctx as { HeadroomGraph: HeadroomGraph }).HeadroomGraph;
const dagre = (ctx as { dagre: unknown }).dagre;

const spec = loadSpecFile(SPEC);
const plan = planGraph(spec.services, { entry: 'gateway' });
const view = graphView(spec.services, plan);
const clone = (): GraphView => JSON.parse(JSON.stringify(view)) as GraphView;

describe('graph.js texts', () => {
  it('formats numbers as `headroom plan` does (3 significant digits)', () => {
    for (const x of [7.75, 70.01, 148.54, 16.86, 2750, 1.5, 0.123456, 198.14, 1234.5, 12.345]) {
      expect(G.num(x)).toBe(formatNumber(x));
    }
    expect(G.num(null)).toBe('–');
  });

  it('each node shows its name, count, budget at the SLO percentile and demand from the plan', () => {
    for (const s of plan.services) {
      const n = view.nodes.find((x) => x.name === s.name)!;
      const lines = Object.fromEntries(G.nodeLines(n, view).map((l) => [l.field, l.text]));
      expect(lines).toEqual({
        name: s.name,
        count: `${s.replicas} instance${s.replicas === 1 ? '' : 's'}`,
        budget: `p99 ≤ ${formatNumber(s.budgetMs!)} ms`,
        demand: `${formatNumber(s.demandRps)} req/s`,
      });
    }
    const n = { ...view.nodes[0]!, ready: 2, replicas: 3, budgetMs: null, name: 'x'.repeat(40) };
    const lines = G.nodeLines(n, view);
    expect(lines.map((l) => l.text)).toEqual([`${'x'.repeat(31)}…`, '2 / 3 ready', 'overloaded', lines[3]!.text]);
  });

  it('an edge shows its rate (caller demand × perRequest) and marks parallel calls', () => {
    const toCart = view.edges.find((e) => e.to === 'cart')!;
    expect(G.edgeLabel(toCart)).toBe('750 calls/s · ×1.5');
    const toSearch = view.edges.find((e) => e.to === 'search')!;
    expect(G.edgeLabel(toSearch)).toBe('500 calls/s · ×1 ∥');
  });

  it('the header names the SLO, the prediction, the measurement when there is one, and infeasibility', () => {
    const h = G.headline(view);
    expect(h.slo).toBe('end-to-end p99 ≤ 200 ms at gateway');
    expect(h.predicted).toBe(`predicted ${formatNumber(plan.predictedMs!)} ms`);
    expect(h.measured).toBeNull();
    expect(h.total).toBe(`${plan.services.reduce((a, s) => a + s.replicas, 0)} instances`);
    // A plan alone (no measurement in this mode) is not a met SLO.
    expect([h.status, h.state]).toEqual(['plan feasible (latency not measured here)', 'unmeasured']);
    expect(G.headline({ ...clone(), measuredMs: null }).status).toBe('plan feasible, not measured yet');
    // Measured, the measurement decides: a feasible plan does not make 8 s meet 200 ms.
    const measured = (ms: number) => G.headline({ ...clone(), measuredMs: ms });
    expect([measured(200).status, measured(200).state]).toEqual(['meets the SLO', 'met']);
    expect([measured(8000).status, measured(8000).state]).toEqual(['misses the SLO: measured 8000 ms', 'missed']);
    const bad = { ...clone(), feasible: false, predictedMs: null, measuredMs: 187.4 };
    const hb = G.headline(bad);
    expect(hb.status).toMatch(/^infeasible/);
    expect(hb.state).toBe('infeasible');
    expect(hb.predicted).toBe('predicted > 400 ms');
    expect(hb.measured).toBe('measured 187 ms');
    expect(G.headline({ ...clone(), measuredMs: null }).measured).toBe('measured – (no traffic yet)');
  });

  it('a running graph also shows the prediction at the counts ready, which the measurement compares with', () => {
    // One cart instance still starting: the model at the counts ready, not the plan's.
    const ready = Object.fromEntries(plan.services.map((s) => [s.name, s.replicas - (s.name === 'cart' ? 1 : 0)]));
    const now = predictGraph(spec.services, ready, { entry: 'gateway' }).predictedMs;
    expect(now).not.toBe(plan.predictedMs);
    const running = graphView(spec.services, plan, { predictedNowMs: now, measuredMs: 250 });
    const h = G.headline(running);
    expect(h.predicted).toBe(
      `predicted ${formatNumber(plan.predictedMs!)} ms (plan), ${now === null ? '> 400 ms' : `${formatNumber(now)} ms`} at the counts ready`,
    );
    expect(G.headline({ ...running, predictedNowMs: null }).predicted).toBe(
      `predicted ${formatNumber(plan.predictedMs!)} ms (plan), > 400 ms at the counts ready`,
    );
  });

  it('the shape key ignores counts and rates, not names, calls or modes', () => {
    const k = G.shapeKey(view);
    const counted = clone();
    counted.nodes[0]!.replicas += 5;
    counted.edges[0]!.rps *= 2;
    expect(G.shapeKey(counted)).toBe(k);
    const moded = clone();
    moded.edges[0]!.mode = moded.edges[0]!.mode === 'parallel' ? 'sequential' : 'parallel';
    expect(G.shapeKey(moded)).not.toBe(k);
    const renamed = clone();
    renamed.nodes[0]!.name += '2';
    expect(G.shapeKey(renamed)).not.toBe(k);
  });
});

describe('graph.js layout (dagre)', () => {
  const pos = G.layout(view, dagre);

  it('runs left to right: every callee right of its caller, the entry leftmost', () => {
    for (const e of view.edges) expect(pos.nodes[e.to]!.x, `${e.from} → ${e.to}`).toBeGreaterThan(pos.nodes[e.from]!.x);
    const xs = Object.values(pos.nodes).map((b) => b.x);
    expect(pos.nodes.gateway!.x).toBe(Math.min(...xs));
  });

  it('boxes do not overlap and fit in the drawing; every edge has a path and a label point', () => {
    const boxes = Object.values(pos.nodes);
    expect(boxes).toHaveLength(view.nodes.length);
    for (const [i, a] of boxes.entries()) {
      expect(a.x - a.width / 2).toBeGreaterThanOrEqual(0);
      expect(a.y - a.height / 2).toBeGreaterThanOrEqual(0);
      expect(a.x + a.width / 2).toBeLessThanOrEqual(pos.width);
      expect(a.y + a.height / 2).toBeLessThanOrEqual(pos.height);
      for (const b of boxes.slice(i + 1)) {
        const apart =
          Math.abs(a.x - b.x) >= (a.width + b.width) / 2 || Math.abs(a.y - b.y) >= (a.height + b.height) / 2;
        expect(apart).toBe(true);
      }
    }
    expect(pos.edges).toHaveLength(view.edges.length);
    for (const e of pos.edges) {
      expect(e!.points.length).toBeGreaterThanOrEqual(2);
      expect(Number.isFinite(e!.x) && Number.isFinite(e!.y)).toBe(true);
      expect(G.pathOf(e!.points)).toMatch(/^M[\d.]+,[\d.]+ [LQ]/);
    }
  });

  it('a count changing does not move anything (box sizes do not follow the texts)', () => {
    const more = clone();
    for (const n of more.nodes) n.replicas *= 1000;
    expect(G.layout(more, dagre)).toEqual(pos);
  });
});
