// Prometheus metrics of a Headroom service (prom-client, one Registry per service so several can
// live in one process, e.g. in tests). Counters and the latency histogram are fed per request;
// gauges are set from the status snapshot at scrape time, so /metrics and /api/status agree. Names
// come from src/alerting/metric-names.ts; `alerts` holds the series the exported alert rules query.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import * as M from '../alerting/metric-names.ts';
import { createAlertMetrics, type AlertMetrics } from './alert-metrics.ts';
import type { StatusSnapshot } from './status.ts';

export interface ServiceMetrics {
  registry: Registry;
  /** One proxied request: latency in seconds and HTTP status (0 = no answer). */
  observeRequest(latencySeconds: number, status: number): void;
  /** Set the gauges from a status snapshot (call before rendering). */
  update(status: StatusSnapshot): void;
  /** The series the exported alert rules query; the cluster sets them every tick. */
  alerts: AlertMetrics;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  const reg = [registry];
  const requests = new Counter({
    name: M.REQUESTS_TOTAL,
    help: 'Requests through the load balancer, by status class (2xx, 4xx, 5xx, none)',
    labelNames: ['code'] as const,
    registers: reg,
  });
  const latency = new Histogram({
    name: M.REQUEST_DURATION_SECONDS,
    help: 'Latency of requests through the load balancer, arrival to last byte',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: reg,
  });
  const g = (name: string, help: string, labelNames: string[] = []): Gauge =>
    new Gauge({ name, help, labelNames, registers: reg });
  const inFlight = g(M.INFLIGHT_REQUESTS, 'Requests in flight through the load balancer');
  const queued = g(M.QUEUED_REQUESTS, 'Requests waiting at the load balancer for a free instance slot');
  const demand = g(M.DEMAND_RPS, 'Arrival rate over a window (stable ~60 s, burst ~6 s)', ['window']);
  const concurrency = g(M.CONCURRENCY, 'Time-weighted mean requests in flight over a window', ['window']);
  const latencyQ = g(M.LATENCY_MS, 'Latency percentile over the stable window, ms', ['quantile']);
  const replicas = g(M.REPLICAS, 'Instance counts: desired, current, ready, min, max, fit', ['kind']);
  const instances = g(M.INSTANCES, 'Instances by state', ['state']);
  const recommended = g(M.RECOMMENDED_REPLICAS, 'Sizing result before stabilization and rate limits');
  const decisionValid = g(M.DECISION_VALID, '1 when the last decision had metrics, else 0');
  const predictedUtil = g(M.PREDICTED_UTILIZATION, 'Utilization the model predicts at desired');
  const shadow = g(M.SHADOW, '1 in shadow mode (decide, do not act)');
  const cpu = g(M.INSTANCE_CPU_CORES, 'CPU used by an instance, cores', ['instance']);
  const mem = g(M.INSTANCE_MEMORY_BYTES, 'Resident memory of an instance, bytes', ['instance']);
  const restarts = g(M.INSTANCE_RESTARTS, 'Restarts of an instance after crashes', ['instance']);
  const hostCores = g(M.HOST_CORES, 'CPU cores of the host');
  const hostMem = g(M.HOST_MEMORY_BYTES, 'Memory of the host, bytes');
  const modelLatency = g(
    M.MODEL_LATENCY_SECONDS,
    'Latency at the SLO percentile: predicted by the spec model, by the calibrated model, and measured',
    ['kind'],
  );
  const modelScale = g(
    M.MODEL_SERVICE_TIME_SCALE,
    'Service-time scale the loop sizes with after calibration (1 = spec)',
  );

  const alerts = createAlertMetrics(registry);

  return {
    registry,
    alerts,
    observeRequest(seconds, status) {
      latency.observe(seconds);
      requests.inc({ code: status === 0 ? 'none' : `${Math.floor(status / 100)}xx` });
    },
    update(s) {
      inFlight.set(s.traffic.inFlight);
      if (s.traffic.queued !== undefined) queued.set(s.traffic.queued);
      if (s.model) {
        for (const [kind, v] of [
          ['predicted', s.model.predictedMs],
          ['calibrated', s.model.calibratedMs],
          ['measured', s.model.measuredMs],
        ] as const) {
          if (v !== null) modelLatency.set({ kind }, v / 1000);
        }
        if (s.model.samples > 0) modelScale.set(s.model.scale);
      }
      for (const [w, win] of [
        ['stable', s.traffic.stable],
        ['burst', s.traffic.burst],
      ] as const) {
        if (win) {
          demand.set({ window: w }, win.arrivalRps);
          concurrency.set({ window: w }, win.meanConcurrency);
        }
      }
      const lat = s.traffic.stable?.latencyMs;
      if (lat) {
        latencyQ.set({ quantile: '0.5' }, lat.p50);
        latencyQ.set({ quantile: '0.9' }, lat.p90);
        latencyQ.set({ quantile: '0.99' }, lat.p99);
      }
      // A count not known yet is left out, not exported as 0.
      for (const kind of ['desired', 'current', 'ready', 'min', 'max'] as const) {
        const v = s.replicas[kind];
        if (v !== null) replicas.set({ kind }, v);
      }
      if (s.replicas.fitLimit !== null) replicas.set({ kind: 'fit' }, s.replicas.fitLimit);
      instances.reset();
      for (const i of s.instances) instances.inc({ state: i.state });
      if (s.decision) {
        recommended.set(s.decision.recommended);
        decisionValid.set(s.decision.valid ? 1 : 0);
        if (s.decision.predicted.utilization !== null && Number.isFinite(s.decision.predicted.utilization)) {
          predictedUtil.set(s.decision.predicted.utilization);
        }
      }
      shadow.set(s.shadow ? 1 : 0);
      cpu.reset();
      mem.reset();
      restarts.reset();
      for (const i of s.instances) {
        if (i.cpuCores !== null) cpu.set({ instance: i.id }, i.cpuCores);
        if (i.memoryBytes !== null) mem.set({ instance: i.id }, i.memoryBytes);
        restarts.set({ instance: i.id }, i.restarts);
      }
      hostCores.set(s.host.cores);
      hostMem.set(s.host.memoryBytes);
    },
  };
}
