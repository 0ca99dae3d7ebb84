// POST /api/what-if: `plan` for other demand or SLO values of a running service. The service's own
// model is the base; the request overrides demand, SLO latency/percentile or target utilization.
// It sizes with the capacity the loop uses now (learned or spec) and the host's fit limit, so the
// answer is what the loop would ask for at that demand.
import { z } from 'zod';
import type { ServiceModel } from '../../core/model.ts';
import { planService, type PlanContext, type ServicePlan } from '../../core/plan.ts';
import type { StatusSnapshot } from '../status.ts';
import { count } from '../../core/plan-explain.ts';

export const whatIfRequestSchema = z.strictObject({
  /** Which service; optional when there is one. */
  service: z.string().min(1).max(253).optional(),
  demandRps: z.number().min(0).max(10_000_000).optional(),
  latencyMs: z.number().gt(0).max(3_600_000).optional(),
  percentile: z.number().gt(0).lt(100).optional(),
  targetUtilization: z.number().gt(0).max(1).optional(),
});

export type WhatIfRequest = z.infer<typeof whatIfRequestSchema>;

export interface WhatIfResult {
  service: string;
  input: { demandRps: number; slo: { latencyMs: number; percentile: number } | null; targetUtilization: number };
  capacity: { serviceTimeMs: number; concurrency: number; source: string };
  plan: {
    replicas: number;
    needed: number;
    binding: string;
    feasible: boolean;
    constraints: ServicePlan['constraints'];
    predicted: ServicePlan['predicted'];
    warnings: string[];
  };
  /** One line per constraint with its numbers, as `headroom plan` prints them. */
  explanation: string[];
  /** What the service runs with now, to compare. */
  current: { desired: number | null; ready: number | null } | null;
}

export function runWhatIf(model: ServiceModel, req: WhatIfRequest, snap: StatusSnapshot | undefined): WhatIfResult {
  const baseSlo = model.slo;
  let slo = baseSlo;
  if (req.latencyMs !== undefined || req.percentile !== undefined) {
    slo = {
      latencyMs: req.latencyMs ?? baseSlo?.latencyMs ?? 100,
      percentile: req.percentile ?? baseSlo?.percentile ?? 99,
    };
  }
  const demandRps = req.demandRps ?? snap?.decision?.sizedForRps ?? snap?.traffic.stable?.arrivalRps ?? model.demandRps;
  const m: ServiceModel = {
    ...model,
    demandRps,
    targetUtilization: req.targetUtilization ?? model.targetUtilization,
    ...(slo ? { slo } : {}),
  };
  const cap = snap?.service.capacity ?? {
    serviceTimeMs: model.instance.serviceTimeMs,
    concurrency: model.instance.concurrency,
    source: 'spec' as const,
  };
  const fitLimit = snap?.replicas.fitLimit;
  const ctx: PlanContext = {
    demandRps,
    capacity: { serviceTimeMs: cap.serviceTimeMs, concurrency: cap.concurrency },
    ...(fitLimit !== undefined && fitLimit !== null
      ? {
          fit: {
            replicas: fitLimit,
            detail: `the host fits ${count(fitLimit, 'instance')} (cores and memory per instance)`,
          },
        }
      : {}),
  };
  const plan = planService(m, ctx);
  const explanation = plan.details.map(
    (d) => `${d.name} (${d.bound === 'lower' ? 'needs' : 'allows'} ${d.replicas}): ${d.detail}`,
  );
  explanation.push(
    `→ ${count(plan.replicas, 'instance')}, binding: ${plan.binding}${plan.feasible ? '' : ' (not feasible: see warnings)'}`,
  );
  return {
    service: model.name,
    input: { demandRps, slo: m.slo ?? null, targetUtilization: m.targetUtilization },
    capacity: { ...cap },
    plan: {
      replicas: plan.replicas,
      needed: plan.needed,
      binding: plan.binding,
      feasible: plan.feasible,
      constraints: plan.constraints,
      predicted: plan.predicted,
      warnings: plan.warnings,
    },
    explanation,
    current: snap ? { desired: snap.replicas.desired, ready: snap.replicas.ready } : null,
  };
}
