// What the controller shows and alerts on, per HeadroomPolicy. Pure: the caller gives the time.
//   policyStatusSnapshot → one StatusSnapshot (src/server/status.ts) for /api/status and the dashboard
//   policyAlertSnapshot  → one ServiceSnapshot (src/alerting/types.ts) for the alert engine
// The decision comes from the policy's status (in memory on the leader, else the persisted
// status the leader wrote), so a standby shows the same last decision as the leader.
import { alertStatusOf, type AlertStatus } from '../alerting/runtime.ts';
import type { ServiceSnapshot } from '../alerting/types.ts';
import type { RateCounts, ServiceModel } from '../core/model.ts';
import {
  STATUS_KIND,
  demandTrend,
  type DecisionView,
  type HistoryPoint,
  type StatusEvent,
  type StatusSnapshot,
  type WindowStatus,
} from '../server/status.ts';
import { restoreCalibration } from '../loop/step.ts';
import { demandCounts, type HeadroomPolicy, type ModelStatus, type PolicyStatus } from './policy.ts';
import { viewOfStored } from './status.ts';

/** What the leader observed in its last reconcile of a policy (absent on a standby). */
export interface Observed {
  /** ms */
  at: number;
  specReplicas: number;
  /** Pods that exist (scale status.replicas). */
  statusReplicas: number;
  /** Of those, the Ready ones: the capacity decide() counted (absent in old fixtures = statusReplicas). */
  readyReplicas?: number;
  demandRps?: number;
  burstRps?: number;
  /** Learned service time, ms (capacity.learned). */
  serviceTimeMs?: number;
  /** Measured latency at the SLO percentile (spec.latency), ms, and what the spec's model predicts there. */
  latencyMs?: number;
  predictedLatencyMs?: number;
  /** Count the model needs before max is applied (decision.plan.needed), valid decisions only. */
  needed?: number;
  sizedForRps?: number;
  /** The scale was written this round. */
  applied: boolean;
}

export interface PolicyView {
  policy: HeadroomPolicy;
  /** The newest status (in memory on the leader), else policy.status. */
  status?: PolicyStatus | undefined;
  model?: ServiceModel | undefined;
  observed?: Observed | undefined;
  history: readonly HistoryPoint[];
  events: readonly StatusEvent[];
  /** Recent distinct decisions, newest first (the leader's; empty on a standby). */
  decisions?: readonly DecisionView[];
}

/** The service name alerts and the dashboard use: namespace/name (policy names repeat across namespaces). */
export function serviceName(p: HeadroomPolicy): string {
  return `${p.metadata.namespace}/${p.metadata.name}`;
}

const finite = (x: number | undefined | null): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * The model's scale and error as the loop used them: from the calibrator's state where status
 * carries it. status.model keeps 3 significant digits, and the dashboard runs sizingCapacity on
 * these (a scale of 1.024, sized with from whole responses, reads 1.02 there: not past 2 %).
 */
function modelNumbers(m: ModelStatus): { scale: number; error: number } {
  const st = m.state === undefined ? undefined : restoreCalibration(m.state);
  return st && st.samples > 0 ? { scale: Math.exp(st.logScale), error: Math.exp(st.logError) } : m;
}

export function policyStatusSnapshot(
  v: PolicyView,
  nowMs: number,
  startedMs: number,
  alerts?: AlertStatus,
): StatusSnapshot {
  const p = v.policy;
  const status = v.status ?? p.status;
  const m = v.model;
  const o = v.observed;
  const svc = p.spec.service as { replicas?: { min?: unknown; max?: unknown } };
  const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  const d = status?.lastDecision;
  // Before the first round has read the scale target nothing is known: null, not 0.
  const current = o?.specReplicas ?? status?.currentReplicas ?? null;
  const name = serviceName(p);
  const mine = alerts ? alertStatusOf(alerts, name) : undefined;
  const counted = demandCounts(p.spec.demand);
  return {
    kind: STATUS_KIND,
    mode: 'kubernetes',
    time: new Date(nowMs).toISOString(),
    uptimeSeconds: Math.max(0, (nowMs - startedMs) / 1000),
    service: {
      name,
      loadBalancing: m?.loadBalancing ?? 'kubernetes',
      ...(m?.slo ? { slo: { ...m.slo } } : {}),
      capacity: {
        serviceTimeMs: o?.serviceTimeMs ?? m?.instance.serviceTimeMs ?? 0,
        concurrency: m?.instance.concurrency ?? 0,
        source: finite(o?.serviceTimeMs) ? 'learned' : p.spec.capacity?.profile ? 'profile' : 'spec',
      },
    },
    shadow: p.spec.mode === 'shadow',
    replicas: {
      desired: status?.desiredReplicas ?? current,
      current,
      // Only a round's reading knows which pods are Ready: a standby or an undecided policy says null.
      ready: o ? (o.readyReplicas ?? o.statusReplicas) : null,
      min: m?.replicas.min ?? num(svc.replicas?.min),
      max: m?.replicas.max ?? num(svc.replicas?.max),
      fitLimit: null,
    },
    decision: d ? viewOfStored(d, o) : null,
    ...(v.decisions && v.decisions.length > 0 ? { decisions: [...v.decisions] } : {}),
    ...(status?.model
      ? {
          model: {
            percentile: status.model.percentile,
            predictedMs: status.model.predictedLatencyMs,
            calibratedMs: status.model.calibratedLatencyMs,
            measuredMs: status.model.measuredLatencyMs,
            ...modelNumbers(status.model),
            samples: status.model.samples,
            calibrating: status.model.calibrating,
            ...(status.model.sensitivity !== undefined ? { sensitivity: status.model.sensitivity } : {}),
            wholeResponse: true, // one latency query a window: no split
          },
        }
      : {}),
    traffic: {
      inFlight: 0,
      stable: finite(o?.demandRps) ? window(o.demandRps, counted.stable) : null,
      burst: finite(o?.burstRps) ? window(o.burstRps, counted.burst) : null,
      totals: { requests: 0, errors: 0 },
    },
    instances: [],
    host: {
      cores: 0,
      memoryBytes: 0,
      cpuMillisPerInstance: m?.instance.cpuMillis ?? null,
      memoryBytesPerInstance: m?.instance.memoryBytes ?? null,
    },
    events: [...v.events],
    history: [...v.history],
    ...(mine ? { alerts: mine } : {}),
  };
}

/** Demand measured by a PromQL rate or the pods; the other window fields are not known to the controller. */
function window(rps: number, counts: RateCounts | undefined): WindowStatus {
  return {
    windowSeconds: 0,
    seconds: 0,
    arrivalRps: rps,
    completionRps: rps,
    ...(counts ? { counts } : {}),
    errorRatio: 0,
    meanConcurrency: 0,
    latencyMs: null,
  };
}

/** What the alert engine sees for one policy; unknown values are left out (no data ≠ zero). */
export function policyAlertSnapshot(v: PolicyView, nowSeconds: number): ServiceSnapshot {
  const p = v.policy;
  const m = v.model;
  const o = v.observed;
  const status = v.status ?? p.status;
  // Only from this leader's own observations: a standby's history is empty.
  const trend = o ? demandTrend(v.history) : undefined;
  return {
    service: serviceName(p),
    time: nowSeconds,
    ...(o
      ? {
          current: o.specReplicas,
          ready: o.readyReplicas ?? o.statusReplicas,
          ...(status?.desiredReplicas !== undefined ? { desired: status.desiredReplicas } : {}),
        }
      : {}),
    ...(m ? { min: m.replicas.min, max: m.replicas.max } : {}),
    ...(finite(o?.needed) ? { needed: o.needed } : {}),
    ...(finite(o?.demandRps) ? { demandRps: o.demandRps } : {}),
    ...(trend !== undefined ? { demandTrendRpsPerSec: trend } : {}),
    ...(m?.slo ? { slo: { ...m.slo } } : {}),
    ...(finite(o?.latencyMs) ? { latencyMs: o.latencyMs } : {}),
    // As in local mode: how far off the spec's model is, a factor ≥ 1 (HeadroomModelDrift).
    ...(o && status?.model && status.model.samples > 0 && status.model.error > 0
      ? { modelErrorFactor: ((e) => Math.max(e, 1 / e))(modelNumbers(status.model).error) }
      : {}),
  };
}
