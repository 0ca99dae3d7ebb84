// A HeadroomPolicy object → what one reconcile needs: the ServiceModel (validated by the same code
// as `headroom plan`), the PromQL queries, the target and the mode.
import { parseDuration } from '../alerting/config.ts';
import type { RateCounts, ServiceModel } from '../core/model.ts';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import { graphUnsupported, serviceModelFromSpec } from '../input/load.ts';
import { capacityProfileSchema, type CapacityProfile } from '../input/profile.ts';
import type { ScaleTargetRef } from '../ports/actuator.ts';
import type { PodCounter } from '../ports/metrics.ts';
import { METRIC_NAME } from './crd.ts';

export interface PolicyCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface PolicyStatus {
  observedGeneration?: number;
  currentReplicas?: number;
  desiredReplicas?: number;
  recommendedReplicas?: number;
  binding?: string;
  demand?: string;
  lastScaleTime?: string;
  consecutiveMetricFailures?: number;
  lastDecision?: {
    time: string;
    desired: number;
    recommended: number;
    valid: boolean;
    binding: string;
    mode: string;
    demandRps: number | null;
    predictedUtilization: number | null;
    predictedLatencyMs: number | null;
    reasons: { code: string; message: string }[];
    /** The plan's warnings at this decision (absent when none). */
    warnings?: string[];
  };
  conditions?: PolicyCondition[];
  decideState?: unknown;
  /** The latency model checked against measured latency (spec.latency): see ModelStatus. */
  model?: ModelStatus;
  /** The count this controller last wrote, while the target still holds it (hold.ts). */
  appliedReplicas?: number;
  /** The object appliedReplicas and backoffUntil are about: apiVersion/kind/name/uid (hold.ts appliedTarget). */
  appliedTarget?: string;
  /** Another writer changed the replicas: no writes until then (RFC 3339). */
  backoffUntil?: string;
  /** The `headroom.dev/paused` annotation in effect: "true", "up" or "down". */
  paused?: string;
  /** A HeadroomApplication member: its share of the end-to-end SLO (own p99 at its count, ms; null: none). */
  graph?: { application: string; entry: string; budgetMs: number | null };
}

/**
 * The latency model against what the service measured (src/core/calibrate.ts), e.g. scale 2.1,
 * error 2.3: the service measured p99 2.3× what the spec's model predicts, and the controller
 * sizes with service times 2.1× the spec's (calibrate: true).
 */
export interface ModelStatus {
  percentile: number;
  /** Service-time scale in use (1 = the spec). */
  scale: number;
  /** Smoothed measured ÷ predicted (1 = the model is right). */
  error: number;
  /** Correcting the model (spec.latency.calibrate), or only reporting how far off it is. */
  calibrating: boolean;
  measuredLatencyMs: number | null;
  predictedLatencyMs: number | null;
  calibratedLatencyMs: number | null;
  /** Measurements taken in. */
  samples: number;
  /**
   * Read from the histogram template: how far its read moves per move of the service time
   * (src/core/calibrate.ts Calibration.sensitivity); the error is read as the scale it implies.
   */
  sensitivity?: number;
  /** The calibrator's state, so a restart or a new leader carries on (src/loop/step.ts). */
  state?: unknown;
}

/** Measured latency at the SLO percentile, for the model check. */
export interface LatencySpec {
  /** PromQL returning the latency at the SLO percentile, in `unit`. */
  query?: string;
  /** PromQL returning how many requests the latency query's window holds (≥ 200 to count). */
  requestsQuery?: string;
  unit?: 's' | 'ms';
  /** histogram: a Prometheus histogram `<metric>_bucket/_count` (seconds, the Prometheus convention). */
  template?: { name: 'histogram'; metric: string; selector?: Record<string, string>; window?: string };
  /** Correct the model from it (default true); false only reports the error (status, alert). */
  calibrate?: boolean;
  /** Half-life of the correction, s (default 60): how long a new measurement takes to count half. */
  halfLifeSeconds?: number;
}

export interface DemandTemplate {
  name: 'requestRate';
  metric: string;
  selector?: Record<string, string>;
  window?: string;
  burstWindow?: string;
  /** A gauge of requests in flight: the rate becomes arrivals (answered + its growth). */
  inFlight?: string;
}

/** spec.demand.pods; path defaults to /metrics. */
export type PodsSpec = Omit<PodCounter, 'path'> & { path?: string };

export interface PolicySpec {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  mode?: 'active' | 'shadow';
  intervalSeconds?: number;
  service: Record<string, unknown>;
  capacity?: {
    profile?: { configMapKeyRef: { name: string; key: string } };
    learned?: { serviceTimeQuery: string; concurrency?: number };
  };
  /**
   * `pods`: the burst path reads the target's ready pods' counter itself each round (1-s fresh,
   * like Knative's KPA) instead of a Prometheus burst query; the stable demand stays Prometheus'.
   */
  demand: { query?: string; burstQuery?: string; template?: DemandTemplate; pods?: PodsSpec };
  latency?: LatencySpec;
  fallback?: { afterFailures: number; replicas: number };
  /** After another writer changes the replicas, leave them alone this long (default 300; 0 = write back). */
  externalWriteBackoffSeconds?: number;
}

export interface HeadroomPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: Date;
    annotations?: Record<string, string>;
  };
  spec: PolicySpec;
  status?: PolicyStatus;
}

export interface Queries {
  demand: string;
  /** The burst read from the pods (spec.demand.pods, path defaulted), instead of `burst`. */
  pods?: PodCounter;
  burst?: string;
  /** The burst template's window, s (a raw burstQuery's is not known). */
  burstWindowSeconds?: number;
  serviceTime?: string;
  /** Latency at the SLO percentile (in `latencyUnit`), the requests behind it, and completions/s. */
  latency?: string;
  latencyRequests?: string;
  latencyUnit?: 's' | 'ms';
  completions?: string;
  /** The histogram template's window, s (a raw latency query's is not known). */
  latencyWindowSeconds?: number;
  /**
   * The latency histogram's bucket bounds, one series per `le` (bucketsOfQuery: the template's, or a
   * raw query that is one whole histogram_quantile): the model is read through them as
   * histogram_quantile reads the measurement.
   */
  latencyBuckets?: string;
}

const selector = (sel: Record<string, string> | undefined): string =>
  Object.entries(sel ?? {})
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
    .join(',');

/**
 * The PromQL for demand. requestRate: sum(rate(http_requests_total{job="web"}[1m])); with inFlight
 * http_requests_in_flight, + sum(deriv(http_requests_in_flight{job="web"}[1m])).
 */
export function demandQueries(spec: PolicySpec, percentile = 99): Queries {
  const d = spec.demand;
  const learned = spec.capacity?.learned?.serviceTimeQuery;
  const extra = { ...(learned ? { serviceTime: learned } : {}), ...latencyQueries(spec.latency, percentile) };
  if (d.pods && (d.burstQuery || d.template?.burstWindow))
    throw invalid(
      'spec.demand.pods',
      'give one burst source: demand.pods, or burstQuery / template.burstWindow (Prometheus)',
      d.pods,
    );
  const pods = d.pods ? { pods: podCounter(d.pods) } : {};
  const { template: t, burst } = demandSources(d);
  if (d.query) return { demand: d.query, ...(burst === 'query' ? { burst: d.burstQuery } : {}), ...pods, ...extra };
  if (!t) throw invalid('spec.demand', 'give demand.query or demand.template', d);
  // Answered + the growth in flight = arrived (a saturated pool's answers stop at its capacity).
  const gauge = inFlightGauge('spec.demand.template.inFlight', t.inFlight).inFlight;
  const waiting = (w: string): string => (gauge ? ` + sum(deriv(${gauge}{${selector(t.selector)}}[${w}]))` : '');
  const rate = (w: string): string => `sum(rate(${t.metric}{${selector(t.selector)}}[${w}]))${waiting(w)}`;
  return {
    demand: rate(t.window ?? '1m'),
    ...(burst === 'template' && t.burstWindow
      ? { burst: rate(t.burstWindow), burstWindowSeconds: parseDuration(t.burstWindow) }
      : burst === 'query'
        ? { burst: d.burstQuery }
        : {}),
    ...pods,
    ...extra,
  };
}

/**
 * Which part of spec.demand each reading comes from, decided once for demandQueries and
 * demandCounts: a raw query before the template (whose burst is then the raw burstQuery), the pods
 * before any Prometheus burst, the template's burstWindow before a burstQuery.
 */
function demandSources(d: PolicySpec['demand']): {
  template: DemandTemplate | undefined;
  burst: 'pods' | 'template' | 'query' | undefined;
} {
  const template = d.query ? undefined : d.template;
  if (d.pods) return { template, burst: 'pods' };
  if (template?.burstWindow) return { template, burst: 'template' };
  return { template, burst: d.burstQuery ? 'query' : undefined };
}

/**
 * What the stable and the burst demand count (the status and the dashboard say it): a template
 * or the pods' counter counts answers unless `inFlight` is given; a raw query is not known.
 */
export function demandCounts(d: PolicySpec['demand']): { stable?: RateCounts; burst?: RateCounts } {
  const of = (c: { inFlight?: string }): RateCounts => (c.inFlight !== undefined ? 'arrivals' : 'answers');
  const { template, burst } = demandSources(d);
  const stable = template ? of(template) : undefined;
  const b = burst === 'pods' && d.pods ? of(d.pods) : burst === 'template' ? stable : undefined;
  return { ...(stable ? { stable } : {}), ...(b ? { burst: b } : {}) };
}

/** spec.demand.pods checked beyond the CRD: a port number 1–65535 or a port name (IANA_SVC_NAME). */
function podCounter(c: PodsSpec): PodCounter {
  const port = c.port;
  const ok =
    typeof port === 'number'
      ? Number.isInteger(port) && port >= 1 && port <= 65535
      : typeof port === 'string' &&
        /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(port) &&
        !port.includes('--');
  if (!ok)
    throw invalid('spec.demand.pods.port', 'a port number 1–65535 or a container port name (≤ 15 of a-z 0-9 -)', port);
  if (typeof c.metric !== 'string' || !METRIC_NAME.test(c.metric))
    throw invalid('spec.demand.pods.metric', 'a Prometheus metric name', c.metric);
  const path = c.path ?? '/metrics';
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalid('spec.demand.pods.path', 'a path from /', path);
  const inFlight = inFlightGauge('spec.demand.pods.inFlight', c.inFlight);
  return { port, path, metric: c.metric, ...(c.labels ? { labels: c.labels } : {}), ...inFlight };
}

/** `inFlight` (template or pods): absent, or a metric name, the gauge of requests in flight. */
function inFlightGauge(path: string, name: unknown): { inFlight?: string } {
  if (name === undefined) return {};
  if (typeof name !== 'string' || !METRIC_NAME.test(name))
    throw invalid(path, 'a Prometheus metric name (a gauge of requests in flight)', name);
  return { inFlight: name };
}

/**
 * histogram (metric http_request_duration_seconds, job="web", window 1m, SLO p99):
 *   latency   histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[1m])))
 *   requests  sum(increase(http_request_duration_seconds_count{job="web"}[1m]))
 *   completed sum(rate(http_request_duration_seconds_count{job="web"}[1m]))
 *   buckets   count by (le) (http_request_duration_seconds_bucket{job="web"})
 * histogram_quantile interpolates inside a bucket: the estimate is only as fine as the buckets
 * around the SLO (Prometheus documents the same), so the model is read through the same bounds
 * before the two are compared (src/core/calibrate.ts histogramBoundsMs).
 */
export function latencyQueries(l: LatencySpec | undefined, percentile: number): Partial<Queries> {
  if (!l) return {};
  const t = l.template;
  if (t) {
    const sel = selector(t.selector);
    const w = t.window ?? '1m';
    const latency = `histogram_quantile(${percentile / 100}, sum by (le) (rate(${t.metric}_bucket{${sel}}[${w}])))`;
    return {
      latency,
      latencyRequests: `sum(increase(${t.metric}_count{${sel}}[${w}]))`,
      completions: `sum(rate(${t.metric}_count{${sel}}[${w}]))`,
      latencyUnit: 's',
      latencyWindowSeconds: parseDuration(w),
      ...bucketsQuery(latency),
    };
  }
  if (!l.query || !l.requestsQuery) {
    throw invalid('spec.latency', 'give latency.template, or latency.query with latency.requestsQuery', l);
  }
  return {
    latency: l.query,
    latencyRequests: l.requestsQuery,
    latencyUnit: l.unit ?? 's',
    ...bucketsQuery(l.query),
  };
}

function bucketsQuery(latency: string): { latencyBuckets?: string } {
  const b = bucketsOfQuery(latency);
  return b ? { latencyBuckets: b } : {};
}

/**
 * A raw latency query that is histogram_quantile over one histogram (the whole query, so its result
 * is in the bounds' unit): the query for that histogram's bounds, as the template has. E.g.
 * `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))`
 * → `count by (le) (http_request_duration_seconds_bucket{job="web"})`. Anything else (a product, two
 * histograms, a recording rule): none, and the model's own percentile is compared.
 */
export function bucketsOfQuery(query: string): string | undefined {
  if (!/^\s*histogram_quantile\s*\(/.test(query) || !/\)\s*$/.test(query)) return undefined;
  const found = new Set(
    [...query.matchAll(/([A-Za-z_:][\w:]*_bucket)(?![\w:])\s*(\{[^{}]*\})?/g)].map((m) => `${m[1]}${m[2] ?? ''}`),
  );
  const [only] = found;
  return found.size === 1 && only !== undefined ? `count by (le) (${only})` : undefined;
}

export function targetOf(p: HeadroomPolicy): ScaleTargetRef {
  const r = p.spec.scaleTargetRef;
  return { apiVersion: r.apiVersion, kind: r.kind, name: r.name, namespace: p.metadata.namespace };
}

/** A DNS-label name for the model (CR names may be longer DNS subdomains with dots). */
export function modelName(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'policy' : s;
}

/**
 * spec.service (+ capacity profile, + top-level fallback) → ServiceModel. Throws HeadroomError with
 * paths such as `spec.service.replicas.min`, the same checks and messages as a plan spec file.
 * `profileJson` is the ConfigMap value when spec.capacity.profile is set.
 */
export function buildModel(p: HeadroomPolicy, profileJson?: string): ServiceModel {
  const svc: Record<string, unknown> = { ...p.spec.service, name: modelName(p.metadata.name) };
  delete svc.demand;
  const instance = { ...((svc.instance as Record<string, unknown> | undefined) ?? {}) };
  let profile: CapacityProfile | undefined;
  if (p.spec.capacity?.profile) {
    const ref = p.spec.capacity.profile.configMapKeyRef;
    const where = `spec.capacity.profile.configMapKeyRef (ConfigMap ${ref.name}, key ${ref.key})`;
    if (profileJson === undefined) throw invalid(where, 'the ConfigMap or key does not exist', ref.name);
    let data: unknown;
    try {
      data = JSON.parse(profileJson);
    } catch {
      throw new HeadroomError({ code: 'HR_PROFILE_INVALID', path: where, message: 'not JSON' });
    }
    const prof = capacityProfileSchema.safeParse(data);
    if (!prof.success) {
      throw new HeadroomError({
        code: 'HR_PROFILE_INVALID',
        path: where,
        message: 'not a capacity profile written by `headroom loadtest`',
      });
    }
    // Read by the same code as a plan spec's instance.profile: explicit instance fields win, and the
    // probe's service-time distribution comes with it.
    profile = prof.data;
  }
  if (p.spec.capacity?.learned?.concurrency !== undefined) instance.concurrency ??= p.spec.capacity.learned.concurrency;
  svc.instance = instance;
  if (p.spec.fallback) {
    const behavior = { ...((svc.behavior as Record<string, unknown> | undefined) ?? {}) };
    behavior.fallback ??= p.spec.fallback;
    svc.behavior = behavior;
  }
  const model = serviceModelFromSpec(svc, { path: 'spec.service', ...(profile ? { profile } : {}) });
  const graph = graphUnsupported(
    model,
    { path: 'spec.service' },
    'a HeadroomPolicy',
    'by a HeadroomApplication linking the policies (docs/controller.md, "Applications")',
  );
  if (graph) throw new HeadroomError(graph);
  // Throws on a latency section without queries, or two burst sources.
  demandQueries(p.spec, model.slo?.percentile ?? 99);
  return model;
}

function invalid(path: string, message: string, value: unknown): HeadroomError {
  const p: ProblemDetail = { code: 'HR_SPEC_INVALID', path, message, value };
  return new HeadroomError(p);
}
