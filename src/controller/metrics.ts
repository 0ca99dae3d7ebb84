// The controller's Prometheus series (names in src/alerting/metric-names.ts), and how one
// reconcile's outcome moves them.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import * as M from '../alerting/metric-names.ts';
import { createAlertMetrics } from '../server/alert-metrics.ts';
import type { ReconcileResult } from './reconcile.ts';

export type ControllerMetrics = ReturnType<typeof makeMetrics>;

export function makeMetrics(reg: Registry, apiRequests: () => number, leader: () => boolean) {
  const labelNames = ['namespace', 'policy'] as const;
  return {
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
      help: 'Measured demand per policy',
      labelNames,
      registers: [reg],
    }),
    api: new Gauge({
      name: M.CONTROLLER_API_REQUESTS,
      help: 'Kubernetes API requests sent since start',
      registers: [reg],
      collect() {
        this.set(apiRequests());
      },
    }),
    // The series the exported alert rules query, from the same snapshots the engine gets.
    alerts: createAlertMetrics(reg, { integrateCounts: true }),
    leader: new Gauge({
      name: M.CONTROLLER_LEADER,
      help: '1 when this instance holds the lease',
      registers: [reg],
      collect() {
        this.set(leader() ? 1 : 0);
      },
    }),
  };
}

/** What one reconcile changed: counts by result, writes, external writes, and the policy's gauges. */
export function recordReconcile(
  m: ControllerMetrics,
  id: { namespace: string; policy: string },
  r: Pick<ReconcileResult, 'result' | 'outcome'>,
): void {
  const o = r.outcome;
  m.reconciles.inc({ result: r.result });
  if (o.demand && o.demand.kind !== 'ok') m.metricFailures.inc({ kind: o.demand.kind });
  if (o.externalWrite) m.externalWrites.inc();
  if (o.decision && o.reading) {
    m.desired.set(id, o.decision.desired);
    m.current.set(id, o.scale?.kind === 'scaled' ? o.scale.to : o.reading.specReplicas);
    if (o.demand?.kind === 'ok') m.demand.set(id, o.demand.value);
  }
  if (o.scale?.kind === 'scaled') m.scaleWrites.inc();
}
