// The alerting model. Producers (the local cluster under `headroom run`, the Kubernetes controller)
// build one ServiceSnapshot per service every tick; the engine evaluates rules over them. Every
// measured field is optional: a missing field is "no data", and a rule over no data neither fires
// nor resolves (the alert keeps its state), as a metrics outage must not page or un-page anyone.

export interface InstanceSnapshot {
  /** Stable instance id (pod name, local process id). */
  id: string;
  /** CPU used / CPU request (or limit when there is no request), 0..1 (may exceed 1 without a limit). */
  cpuUtilization?: number;
  /** Memory used / memory limit (or request), 0..1. */
  memoryUtilization?: number;
  /** Restarts since the instance was created (a counter; the engine takes its increase over a window). */
  restarts?: number;
}

export interface ServiceSnapshot {
  service: string;
  /** Snapshot time, seconds (the producer's clock; the engine never reads one). */
  time: number;
  /** Instances known to the producer. An instance absent from a present list is gone: its alerts resolve. */
  instances?: InstanceSnapshot[];
  /** Replica counts: what the decider wants, what exists, what is ready, and the configured bounds. */
  desired?: number;
  current?: number;
  ready?: number;
  min?: number;
  max?: number;
  /** Count the model needs before the upper bound (max) is applied: needed > max means "capped". */
  needed?: number;
  /** False when the cluster (or host) cannot place `needed` instances. */
  fits?: boolean;
  /** Observed demand, requests per second. */
  demandRps?: number;
  /** Demand trend, rps per second (positive = growing), e.g. a regression slope over the last minutes. */
  demandTrendRpsPerSec?: number;
  /** Measured latency at the SLO percentile, ms, and the SLO it is held to. */
  latencyMs?: number;
  slo?: { latencyMs: number; percentile: number };
  /**
   * Fraction of requests in the last tick that broke the SLO (slower than slo.latencyMs, or failed),
   * 0..1. The engine averages it over windows (weighted by demandRps) to get burn rates:
   * burn = badFraction / (1 − percentile/100); for p99, 14.4× means 14.4 % of requests are bad.
   */
  sloBadFraction?: number;
  /** Fraction of requests that failed (5xx, reset, timeout), 0..1. */
  errorRate?: number;
  /**
   * How far the latency model is off: measured ÷ predicted latency at the SLO percentile (smoothed),
   * as a factor ≥ 1 either way (0.5 and 2 are both 2). src/core/calibrate.ts.
   */
  modelErrorFactor?: number;
}

export type Severity = 'critical' | 'warning' | 'info';
export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';

/** What a rule measures. instance.* give one alert per instance, service.* one per service. */
export type MetricName =
  | 'instance.cpuUtilization'
  | 'instance.memoryUtilization'
  | 'instance.restarts'
  | 'service.cpuUtilization'
  | 'service.memoryUtilization'
  | 'service.latencyMs'
  | 'service.latencyRatio'
  | 'service.burnRate'
  | 'service.errorRate'
  | 'service.desired'
  | 'service.current'
  | 'service.ready'
  | 'service.unready'
  | 'service.needed'
  | 'service.fits'
  | 'service.demandRps'
  | 'service.demandTrend'
  | 'service.atMaxWhileGrowing'
  | 'service.modelError';

/** A validated rule. Durations are seconds. */
export interface AlertRule {
  /** Alert name (the `alertname` label), e.g. HeadroomInstanceCpuHigh. */
  name: string;
  metric: MetricName;
  op: Comparison;
  threshold: number;
  /**
   * Hysteresis: once pending or firing, the alert stays active until the value crosses this instead
   * of `threshold` (e.g. fire above 0.90, clear below 0.85, so 0.89 ↔ 0.91 noise does not flap).
   */
  clearThreshold?: number;
  /** instance.restarts: increase over this window. */
  windowSeconds?: number;
  /** service.burnRate: every window's burn rate must pass the threshold (multiwindow, Google SRE). */
  windowsSeconds?: number[];
  forSeconds: number;
  keepFiringForSeconds: number;
  severity: Severity;
  labels: Record<string, string>;
  /** Templates: {{ $labels.service }}, {{ $value }}, {{ $value | humanizePercentage }}, {{ $threshold }}. */
  annotations: Record<string, string>;
  /** Only these services (all when absent). */
  services?: string[];
}

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface Alert {
  /** Stable identity: rule name + sorted labels. */
  fingerprint: string;
  rule: string;
  state: AlertState;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The last value seen (the left side of the comparison). */
  value: number;
  /** Seconds: first became true (pending), fired, last true, resolved. */
  activeAt: number;
  firedAt?: number;
  lastTrueAt: number;
  resolvedAt?: number;
}

export interface Transition {
  fingerprint: string;
  from: 'inactive' | AlertState;
  to: 'inactive' | AlertState;
  at: number;
  alert: Alert;
}

export interface Evaluation {
  /** Every pending and firing alert after this evaluation, plus the ones resolved in it. */
  alerts: Alert[];
  /** What changed in this evaluation (pending, firing, resolved, pending → inactive). */
  transitions: Transition[];
}
