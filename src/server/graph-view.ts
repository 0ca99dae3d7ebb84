// What the dashboard draws for a call graph (docs/graph.md): the services as nodes with their count
// and latency budget, the calls as edges with their rate, and the end-to-end prediction next to what
// the entry measures. Local mode (a graph run) and the controller (a HeadroomApplication) fill it
// from the same GraphPlan, so the picture and `plan` agree.
import type { GraphPlan } from '../core/graph.ts';
import type { ServiceModel } from '../core/model.ts';

export interface GraphNodeView {
  name: string;
  /** The count asked for now (the plan's, or what the loop set). */
  replicas: number;
  /** Ready instances, where the mode knows them. */
  ready?: number;
  /** Own response time (queue + work, not its calls) at the SLO percentile; null: overloaded. */
  budgetMs: number | null;
  demandRps: number;
  /** The constraint that set the count (plan's binding), where known. */
  binding?: string;
}

export interface GraphEdgeView {
  from: string;
  to: string;
  perRequest: number;
  mode: 'sequential' | 'parallel';
  /** Calls per second along the edge: the caller's demand × perRequest. */
  rps: number;
}

export interface GraphView {
  entry: string;
  slo: { latencyMs: number; percentile: number };
  /** End-to-end latency at the SLO percentile the model predicts at these counts; null past 2 × SLO. */
  predictedMs: number | null;
  /**
   * The same prediction at the counts ready now, where the mode runs the graph (a local graph run):
   * what the measured latency is to be read against while members are still starting or draining.
   * null: past 2 × SLO.
   */
  predictedNowMs?: number | null;
  /** Measured at the entry, where the mode measures it (null: no traffic yet). */
  measuredMs?: number | null;
  feasible: boolean;
  /** Callees before callers, as the plan orders them. */
  nodes: GraphNodeView[];
  edges: GraphEdgeView[];
}

export interface GraphViewExtras {
  /** Counts the loop actually set, when they differ from the plan's. */
  replicas?: Readonly<Record<string, number>>;
  ready?: Readonly<Record<string, number>>;
  binding?: Readonly<Record<string, string>>;
  measuredMs?: number | null;
  predictedNowMs?: number | null;
}

export function graphView(models: readonly ServiceModel[], plan: GraphPlan, extra: GraphViewExtras = {}): GraphView {
  const demand = new Map(plan.services.map((s) => [s.name, s.demandRps]));
  const edges: GraphEdgeView[] = [];
  for (const m of models) {
    if (!demand.has(m.name)) continue;
    for (const c of m.calls ?? []) {
      const rps = (demand.get(m.name) ?? 0) * c.perRequest;
      edges.push({ from: m.name, to: c.service, perRequest: c.perRequest, mode: c.mode, rps });
    }
  }
  return {
    entry: plan.entry,
    slo: { latencyMs: plan.slo.latencyMs, percentile: plan.slo.percentile },
    predictedMs: plan.predictedMs,
    ...(extra.predictedNowMs !== undefined ? { predictedNowMs: extra.predictedNowMs } : {}),
    ...(extra.measuredMs !== undefined ? { measuredMs: extra.measuredMs } : {}),
    feasible: plan.feasible,
    nodes: plan.services.map((s) => ({
      name: s.name,
      replicas: extra.replicas?.[s.name] ?? s.replicas,
      ...(extra.ready?.[s.name] !== undefined ? { ready: extra.ready[s.name] } : {}),
      budgetMs: s.budgetMs,
      demandRps: s.demandRps,
      ...(extra.binding?.[s.name] !== undefined ? { binding: extra.binding[s.name] } : {}),
    })),
    edges,
  };
}
