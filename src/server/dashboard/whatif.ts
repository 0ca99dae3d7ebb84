// POST /api/what-if: `plan` for other demand or SLO values of a running service. The service's own
// model is the base; the request overrides demand, SLO latency/percentile or target utilization.
// It sizes with the capacity the loop uses now (learned or spec, with the latency calibration's
// scale) and the host's fit limit, so the answer is what the loop would ask for at that demand.
import { z } from 'zod';
import type { ServiceModel, ServiceTimeModel } from '../../core/model.ts';
import { planService, type PlanContext, type ServicePlan } from '../../core/plan.ts';
import type { StatusSnapshot } from '../status.ts';
import { count, fmt } from '../../core/plan-explain.ts';
import { instanceCapacityRps } from '../../core/pool.ts';
import { sizingCapacity } from '../../core/decide.ts';

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
  /** What it sized with: the loop's capacity now (scale: the calibration applied, 1 = none). */
  capacity: { serviceTimeMs: number; concurrency: number; source: string; scale: number };
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

/** The per-instance capacity the loop sizes with now, and how it got there. */
export interface SizingCapacity {
  serviceTimeMs: number;
  concurrency: number;
  source: 'spec' | 'profile' | 'learned';
  /** Requests per second one fully busy instance completes (instanceCapacityRps). */
  perInstanceRps: number;
  /** The calibration's service-time factor applied to the snapshot's capacity; 1 = none. */
  scale: number;
  /**
   * decide() sizes with the calibration now (sizingCapacity returned a capacity: a scale, a shape
   * or both). The page says "sizing with" from this, not from a copy of the rule.
   */
  calibrated: boolean;
  /** The shape measured at the balancer that the loop sizes with, when heavier than the spec's. */
  serviceTime?: ServiceTimeModel;
}

/**
 * What decide() sizes with for a snapshot (sizingCapacity, the core's one rule): learned capacity
 * as it is; otherwise, while the loop corrects its model (model.calibrating), the service time ×
 * the calibration scale.
 */
export function snapshotCapacity(snap: Pick<StatusSnapshot, 'service' | 'model'>): SizingCapacity {
  const cap = snap.service.capacity;
  const m = snap.model;
  const calibrated =
    cap.source === 'learned'
      ? undefined
      : sizingCapacity(
          cap,
          undefined,
          m?.calibrating
            ? {
                samples: m.samples,
                scale: m.scale,
                error: m.error,
                ...(m.wholeResponse ? { wholeResponse: true } : {}),
                ...(m.sensitivity !== undefined ? { sensitivity: m.sensitivity } : {}),
                ...(m.serviceTime ? { serviceTime: m.serviceTime } : {}),
              }
            : undefined,
        );
  const used = calibrated ?? cap;
  return {
    serviceTimeMs: used.serviceTimeMs,
    concurrency: used.concurrency,
    source: cap.source,
    perInstanceRps: instanceCapacityRps(used),
    scale: used.serviceTimeMs / cap.serviceTimeMs,
    calibrated: calibrated !== undefined,
    ...('serviceTime' in used && used.serviceTime ? { serviceTime: used.serviceTime } : {}),
  };
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
  const cap = snap
    ? snapshotCapacity(snap)
    : { serviceTimeMs: model.instance.serviceTimeMs, concurrency: model.instance.concurrency, source: 'spec' as const };
  const fitLimit = snap?.replicas.fitLimit;
  const ctx: PlanContext = {
    demandRps,
    capacity: {
      serviceTimeMs: cap.serviceTimeMs,
      concurrency: cap.concurrency,
      ...('serviceTime' in cap && cap.serviceTime ? { serviceTime: cap.serviceTime } : {}),
    },
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
  if ('scale' in cap && cap.scale !== 1) {
    // Said first: every number below rests on it, as the loop's Calibrated reason says for its own.
    explanation.unshift(
      `capacity (calibrated ×${fmt(cap.scale, 4)}): service time ${fmt(cap.serviceTimeMs, 4)} ms, ${fmt(cap.perInstanceRps, 4)} rps per instance, as the loop sizes with now`,
    );
  }
  explanation.push(
    `→ ${count(plan.replicas, 'instance')}, binding: ${plan.binding}${plan.feasible ? '' : ' (not feasible: see warnings)'}`,
  );
  return {
    service: model.name,
    input: { demandRps, slo: m.slo ?? null, targetUtilization: m.targetUtilization },
    capacity: {
      serviceTimeMs: cap.serviceTimeMs,
      concurrency: cap.concurrency,
      source: cap.source,
      scale: 'scale' in cap ? cap.scale : 1,
    },
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
