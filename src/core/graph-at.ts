// A graph plan re-evaluated at other counts than the split's: what the cluster fits (`plan`), or
// what the live loops run. The budgets stay the split's (each member's share of the SLO); the counts,
// the total, the end-to-end prediction and whether it meets the SLO follow the counts given.
//
// E.g. examples/graph.yaml at 500 rps splits 200 ms into 51 instances (p99 198.1 ms); with a member
// capped below its share, `plan` reports the p99 at the capped count instead of keeping 198.1.
import { predictGraph, unitCost, type GraphOptions, type GraphPlan } from './graph.ts';
import type { ServiceModel } from './model.ts';

export function graphAtCounts(
  models: readonly ServiceModel[],
  plan: GraphPlan,
  counts: Readonly<Record<string, number>>,
  opts: Pick<GraphOptions, 'entryDemandRps' | 'gridPoints'> = {},
): GraphPlan {
  const services = plan.services.map((s) => ({ ...s, replicas: counts[s.name] ?? s.replicas }));
  if (services.every((s, i) => s.replicas === plan.services[i]?.replicas)) return plan;
  const byName = new Map(models.map((m) => [m.name, m]));
  const p = predictGraph(models, Object.fromEntries(services.map((s) => [s.name, s.replicas])), {
    ...opts,
    entry: plan.entry,
  });
  let total = 0;
  for (const s of services) {
    const m = byName.get(s.name);
    total += s.replicas * (m ? unitCost(m, plan.objective) : 1);
  }
  const feasible = p.attainment >= plan.slo.percentile / 100;
  const { binding, ...rest } = plan;
  return {
    ...rest,
    services,
    predictedMs: p.predictedMs,
    attainment: p.attainment,
    feasible,
    total,
    ...(!feasible && binding ? { binding } : {}),
  };
}
