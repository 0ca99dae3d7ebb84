// Sizing: each constraint gives its own instance count; the largest lower bound wins, then the upper
// bounds cap it. The result names the binding constraint and explains every count with its numbers.
//
// Worked example (examples/plan.yaml, `checkout`): 900 rps, 20 ms, concurrency 1, leastRequests,
// p99 ≤ 100 ms, target utilization 0.7, min 2, 3 zones surviving 1 zone:
//   utilization  900 ÷ (50 rps × 0.7) = 25.7 → 26
//   latency      M/M/(N·1): 20 instances give P(T ≤ 100 ms) = 98.96 %, 21 give 99.19 % → 21
//   availability 39 spread 13/13/13 keeps 26 after losing a zone → 39
//   → needed 39, binding availability.
//
// Modules: this file computes the counts; plan-explain.ts renders their details and warnings;
// availability.ts is the zone-loss arithmetic.
import { fitPerZone, maxEvenSpread, place, type ClusterModel } from './cluster.ts';
import type { ServiceModel, ServiceTimeModel } from './model.ts';
import {
  instanceCapacityRps,
  minInstancesForSlo,
  poolPrediction,
  type LatencySlo,
  type PoolShape,
  type SloSearch,
} from './pool.ts';
import { availabilityCount } from './availability.ts';
import { PlanResult, type Why } from './plan-explain.ts';

export { availabilityCount, survivors } from './availability.ts';

export type ConstraintName =
  'latency' | 'endToEnd' | 'utilization' | 'availability' | 'minReplicas' | 'capacity' | 'maxReplicas';

/**
 * Tie-break order among lower bounds: demand-driven constraints explain a count best; a call graph's
 * share of an end-to-end SLO binds only when it asks for more than the service's own constraints.
 */
const LOWER_ORDER: readonly ConstraintName[] = ['latency', 'utilization', 'availability', 'minReplicas', 'endToEnd'];

export interface ConstraintResult {
  name: ConstraintName;
  bound: 'lower' | 'upper';
  /** The count this constraint asks for (lower) or allows (upper). */
  replicas: number;
  /** One line with the numbers behind the count (rendered on first read). */
  readonly detail: string;
}

export interface ServicePlan {
  name: string;
  /** What to apply: `needed` capped by the upper bounds. */
  replicas: number;
  /** The largest lower bound, before upper bounds. */
  needed: number;
  binding: ConstraintName;
  /** needed fits the cluster/host and is within replicas.max, and the SLO is reachable. */
  feasible: boolean;
  constraints: Partial<Record<ConstraintName, number>>;
  details: ConstraintResult[];
  predicted: {
    utilization: number;
    /** Response time at the SLO percentile (p99 without an SLO); null when overloaded. */
    latencyMs: number | null;
    percentile: number;
    /** P(response time ≤ SLO latency); null without an SLO. */
    attainment: number | null;
  };
  /** Rendered on first read. */
  readonly warnings: string[];
}

export interface PlanContext {
  /** Demand to size for, overriding model.demandRps (live modes, forecasts, what-if). */
  demandRps?: number;
  /** Per-instance capacity overriding the model's (learned from observation). */
  capacity?: { serviceTimeMs: number; concurrency: number; serviceTime?: ServiceTimeModel };
  /** Upper bound from what the cluster or host can fit, with its explanation. */
  fit?: { replicas: number; detail: string };
  /**
   * This service's share of a call graph's end-to-end SLO (src/core/graph.ts): its own response time
   * (queue + work, not its calls) at the entry's percentile must stay within latencyMs.
   */
  budget?: EndToEndBudget;
}

export interface EndToEndBudget extends LatencySlo {
  /** The entry service whose end-to-end SLO this is a share of, and that SLO. */
  entry: string;
  endToEnd: LatencySlo;
}

export function poolShape(model: ServiceModel, ctx: PlanContext = {}): PoolShape {
  const serviceTimeMs = ctx.capacity?.serviceTimeMs ?? model.instance.serviceTimeMs;
  return {
    demandRps: ctx.demandRps ?? model.demandRps,
    serviceTimeMs,
    concurrency: ctx.capacity?.concurrency ?? model.instance.concurrency,
    loadBalancing: model.loadBalancing,
    serviceTime:
      ctx.capacity?.serviceTime ?? scaled(model.instance.serviceTime, serviceTimeMs / model.instance.serviceTimeMs),
  };
}

/** The spec's shape at another mean (calibrated or learned capacity): its quantiles scale with it. */
function scaled(st: ServiceTimeModel | undefined, k: number): ServiceTimeModel | undefined {
  if (!st?.quantilesMs || Math.abs(k - 1) < 1e-12) return st;
  const q = st.quantilesMs;
  return { ...st, quantilesMs: { p50: q.p50 * k, p90: q.p90 * k, p99: q.p99 * k, p999: q.p999 * k } };
}

/** ceil that ignores floating-point dust: 900 / (50 × 0.72) = 25.000000000000004 → 25. */
function ceilClean(x: number): number {
  return Math.ceil(x - 1e-9);
}

export function planService(model: ServiceModel, ctx: PlanContext = {}): ServicePlan {
  const shape = poolShape(model, ctx);
  const lambda = shape.demandRps;
  const perInstance = instanceCapacityRps(shape);
  const constraints: Partial<Record<ConstraintName, number>> = {};

  // Utilization: demand ÷ (capacity per instance × target).
  const u = model.targetUtilization;
  // Any demand needs an instance: 1e-8 rps ÷ 35 rps is 2.9e-10, which the dust rule would make 0.
  const utilCount = lambda > 0 ? Math.max(1, ceilClean(lambda / (perInstance * u))) : 0;
  constraints.utilization = utilCount;

  // Latency SLO through the queueing model.
  let latencyCount = 0;
  let search: SloSearch | undefined;
  if (model.slo) {
    search = minInstancesForSlo(shape, model.slo);
    if (search.ok) {
      latencyCount = search.instances;
      constraints.latency = latencyCount;
    }
  }

  let budget: Why['budget'];
  let budgetCount = 0;
  if (ctx.budget) {
    budget = { slo: ctx.budget, search: minInstancesForSlo(shape, ctx.budget) };
    if (budget.search.ok) {
      budgetCount = budget.search.instances;
      constraints.endToEnd = budgetCount;
    }
  }

  const base = Math.max(utilCount, latencyCount, budgetCount);
  const av = model.availability;
  let availability: Why['availability'];
  if (av.zones > 1 || av.zoneFailures > 0 || av.instanceFailures > 0) {
    const count = availabilityCount(base, av.zones, av.zoneFailures, av.instanceFailures);
    availability = { count, base };
    constraints.availability = count;
  }
  const { min, max } = model.replicas;
  constraints.minReplicas = min;
  const fit = ctx.fit;
  if (fit) constraints.capacity = fit.replicas;
  constraints.maxReplicas = max;

  // Largest lower bound (ties go to the earlier name in LOWER_ORDER), then the smallest upper bound.
  let needed = 0;
  let binding: ConstraintName = 'minReplicas';
  for (const name of LOWER_ORDER) {
    const c = constraints[name];
    if (c !== undefined && c > needed) {
      needed = c;
      binding = name;
    }
  }
  let replicas = needed;
  if (fit && fit.replicas < replicas) {
    replicas = fit.replicas;
    binding = 'capacity';
  }
  if (max < replicas) {
    replicas = max;
    binding = 'maxReplicas';
  }

  const sloReachable = (search === undefined || search.ok) && (budget === undefined || budget.search.ok);
  const feasible = (fit === undefined || needed <= fit.replicas) && needed <= max && sloReachable;
  const percentile = model.slo?.percentile ?? 99;
  const reuse = search?.ok === true && search.instances === replicas;
  const prediction = poolPrediction(shape, replicas, percentile, model.slo && !reuse ? model.slo.latencyMs : undefined);
  const latency = prediction.latencyMs;
  const utilization = replicas > 0 ? lambda / (replicas * perInstance) : lambda > 0 ? Infinity : 0;
  const measured = ctx.capacity === undefined ? model.instance.profile : undefined;
  const why: Why = {
    model,
    shape,
    lambda,
    perInstance,
    search,
    budget,
    availability,
    fit,
    fromProfile: ctx.capacity === undefined && model.instance.capacitySource === 'profile',
    measured,
  };
  return new PlanResult(why, replicas, needed, binding, feasible, constraints, {
    utilization,
    latencyMs: Number.isFinite(latency) ? latency : null,
    percentile,
    attainment: !model.slo
      ? null
      : search?.ok && search.instances === replicas
        ? search.attainment
        : prediction.attainment,
  });
}

export interface ClusterFit {
  replicas: number;
  detail: string;
}

/** What the free room of `nodes` can hold for one service, spread over its zones. */
export function clusterFit(
  nodes: ReadonlyArray<{ name: string; zone?: string; cpuMillis: number; memoryBytes: number }>,
  model: ServiceModel,
  perZone: Map<string, number>,
): ClusterFit {
  const zones = Math.max(1, model.availability.zones);
  const caps = [...perZone.values()];
  const total = caps.reduce((a, b) => a + b, 0);
  // Nodes without zone labels: the zone rule is not checked against the nodes.
  const labelled = [...perZone.keys()].some((z) => z !== '');
  if (zones <= 1 || !labelled)
    return { replicas: total, detail: `${nodes.length} node${nodes.length === 1 ? '' : 's'} fit ${total}` };
  const replicas = maxEvenSpread(caps, zones);
  const list = [...perZone.entries()].map(([z, c]) => `${z || '(no zone)'}: ${c}`).join(', ');
  return { replicas, detail: `${zones}-zone even spread fits ${replicas} (per zone ${list})` };
}

/**
 * Plans several services that share one cluster: each in turn (file order) is capped by what the
 * room left by the earlier ones can hold, then its instances are placed to consume that room.
 */
export function planServices(
  models: readonly ServiceModel[],
  cluster?: ClusterModel,
  ctxFor: (model: ServiceModel) => PlanContext = () => ({}),
): ServicePlan[] {
  const free = cluster?.nodes.map((n) => ({ ...n }));
  return models.map((model, i) => {
    const ctx = ctxFor(model);
    if (!free) return planService(model, ctx);
    const fit = clusterFit(free, model, fitPerZone(free, model.instance));
    if (i > 0) fit.detail += ' in the room left by the services above';
    const plan = planService(model, { ...ctx, fit: ctx.fit && ctx.fit.replicas < fit.replicas ? ctx.fit : fit });
    const labelled = free.some((n) => n.zone !== undefined);
    place(free, model.instance, plan.replicas, labelled ? Math.max(1, model.availability.zones) : 1);
    return plan;
  });
}

export { fmt as formatNumber } from './plan-explain.ts';
