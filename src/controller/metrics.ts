// The controller's Prometheus series (names in src/alerting/metric-names.ts), and how one
// reconcile's outcome moves them.
//
// Per-policy series follow the policy's status: a count the status does not show (an invalid
// policy, a missing target, a failed round) is not exported, a demand without a reading this round
// is not exported, and a deleted policy's series are removed (forgetPolicy). A standby exports no
// per-policy or per-service series (clearPolicies): only the leader's are current, and a former
// leader's last values would be stale duplicates beside its successor's.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import * as M from '../alerting/metric-names.ts';
import { createAlertMetrics } from '../server/alert-metrics.ts';
import type { PolicyStatus } from './policy.ts';
import type { ReconcileResult } from './reconcile.ts';

export type ControllerMetrics = ReturnType<typeof makeMetrics>;

/** A policy's labels on its headroom_policy_* series. */
export interface PolicyId {
  namespace: string;
  policy: string;
}

export function makeMetrics(reg: Registry, apiRequests: () => number, leader: () => boolean) {
  const labelNames = ['namespace', 'policy'] as const;
  let apiSeen = 0;
  const m = {
    reconciles: new Counter({
      name: M.CONTROLLER_RECONCILES_TOTAL,
      help: 'Policy reconciles by result',
      labelNames: ['result'],
      registers: [reg],
    }),
    duration: new Histogram({
      name: M.CONTROLLER_RECONCILE_DURATION_SECONDS,
      help: 'Time for one policy reconcile',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [reg],
    }),
    scaleWrites: new Counter({
      name: M.CONTROLLER_SCALE_WRITES_TOTAL,
      help: 'Scale subresource writes',
      registers: [reg],
    }),
    externalWrites: new Counter({
      name: M.CONTROLLER_EXTERNAL_WRITES_TOTAL,
      help: 'Times another writer changed replicas this controller had written (each starts a back-off)',
      registers: [reg],
    }),
    metricFailures: new Counter({
      name: M.CONTROLLER_METRIC_FAILURES_TOTAL,
      help: 'Demand queries without a value',
      labelNames: ['kind'],
      registers: [reg],
    }),
    desired: new Gauge({
      name: M.POLICY_DESIRED_REPLICAS,
      help: 'Desired replicas per policy',
      labelNames,
      registers: [reg],
    }),
    current: new Gauge({
      name: M.POLICY_CURRENT_REPLICAS,
      help: 'Current replicas per policy',
      labelNames,
      registers: [reg],
    }),
    demand: new Gauge({
      name: M.POLICY_DEMAND_RPS,
      help: 'Measured demand per policy (absent while the demand query has no value)',
      labelNames,
      registers: [reg],
    }),
    // The same series as `headroom run` (src/server/prometheus.ts), with service = namespace/name.
    modelLatency: new Gauge({
      name: M.MODEL_LATENCY_SECONDS,
      help: 'Latency at the SLO percentile: predicted by the spec model, by the calibrated model, and measured',
      labelNames: ['service', 'kind'],
      registers: [reg],
    }),
    modelScale: new Gauge({
      name: M.MODEL_SERVICE_TIME_SCALE,
      help: 'Service-time scale the loop sizes with after calibration (1 = spec)',
      labelNames: ['service'],
      registers: [reg],
    }),
    api: new Counter({
      name: M.CONTROLLER_API_REQUESTS_TOTAL,
      help: 'Kubernetes API requests sent since start',
      registers: [reg],
      collect() {
        const total = apiRequests();
        if (total > apiSeen) this.inc(total - apiSeen);
        apiSeen = Math.max(apiSeen, total);
      },
    }),
    // The series the exported alert rules query, from the same snapshots the engine gets.
    alerts: createAlertMetrics(reg, { integrateCounts: true, forgetMissing: true }),
    leader: new Gauge({
      name: M.CONTROLLER_LEADER,
      help: '1 when this instance holds the lease',
      registers: [reg],
      collect() {
        this.set(leader() ? 1 : 0);
      },
    }),
  };
  return m;
}

const serviceOf = (id: PolicyId): string => `${id.namespace}/${id.policy}`;

/** Remove every series of one policy (deleted, or it no longer decides). */
export function forgetPolicy(m: ControllerMetrics, id: PolicyId): void {
  forgetCounts(m, id);
  forgetModel(m, id);
}

function forgetCounts(m: ControllerMetrics, id: PolicyId): void {
  m.desired.remove(id);
  m.current.remove(id);
  m.demand.remove(id);
}

function forgetModel(m: ControllerMetrics, id: PolicyId): void {
  const service = serviceOf(id);
  for (const kind of ['predicted', 'calibrated', 'measured']) m.modelLatency.remove({ service, kind });
  m.modelScale.remove({ service });
}

/** A standby (or a former leader): no per-policy or per-service series at all. */
export function clearPolicies(m: ControllerMetrics): void {
  m.desired.reset();
  m.current.reset();
  m.demand.reset();
  m.modelLatency.reset();
  m.modelScale.reset();
  m.alerts.update([]);
}

/** A round that threw (no outcome): counted as an error; its counts are not known, as in its status. */
export function recordFailedRound(m: ControllerMetrics, id: PolicyId): void {
  m.reconciles.inc({ result: 'error' });
  forgetCounts(m, id);
}

/** What one reconcile changed: counts by result, writes, external writes, and the policy's gauges. */
export function recordReconcile(
  m: ControllerMetrics,
  id: PolicyId,
  r: Pick<ReconcileResult, 'result' | 'outcome'> & { status?: Pick<PolicyStatus, 'model'> },
): void {
  const o = r.outcome;
  m.reconciles.inc({ result: r.result });
  if (o.demand && o.demand.kind !== 'ok') m.metricFailures.inc({ kind: o.demand.kind });
  if (o.externalWrite) m.externalWrites.inc();
  if (o.decision && o.reading) {
    m.desired.set(id, o.decision.desired);
    m.current.set(id, o.scale?.kind === 'scaled' ? o.scale.to : o.reading.specReplicas);
    // No reading this round (no data, query failed): no value, as status.demand says.
    if (o.demand?.kind === 'ok') m.demand.set(id, o.demand.value);
    else m.demand.remove(id);
  } else {
    // Invalid, yielding, its target unreadable: the status shows no counts, nor does /metrics.
    forgetCounts(m, id);
  }
  if (o.scale?.kind === 'scaled') m.scaleWrites.inc();
  // The model against measured latency: the numbers status.model shows (spec.latency).
  const model = r.status?.model;
  if (model && o.decision) {
    const service = serviceOf(id);
    for (const [kind, v] of [
      ['predicted', model.predictedLatencyMs],
      ['calibrated', model.calibratedLatencyMs],
      ['measured', model.measuredLatencyMs],
    ] as const) {
      if (v !== null && v !== undefined && Number.isFinite(v)) m.modelLatency.set({ service, kind }, v / 1000);
      else m.modelLatency.remove({ service, kind });
    }
    // This round's scale unrounded (status keeps 3 digits): the one decide() sized with.
    if (model.samples > 0) m.modelScale.set({ service }, o.model?.scale ?? model.scale);
    else m.modelScale.remove({ service });
  } else if (!o.decision) forgetModel(m, id);
}
