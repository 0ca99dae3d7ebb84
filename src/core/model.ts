// The validated, normalized description of a service that every mode works from: `plan`, `run`,
// the Kubernetes controller and the simulator. The spec loader (src/input) turns YAML/JSON into this;
// the core trusts it (ranges already checked) and never reads files.
import type { PricingModel } from './cost.ts';
import type { LatencySlo, LoadBalancing } from './pool.ts';

export type { LatencySlo, LoadBalancing } from './pool.ts';

/** Service-time quantiles of one request with no queueing, ms (p50 < p90 < p99 < p999). */
export interface ServiceTimeQuantiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/**
 * How one request's service time varies around its mean. Absent = exponential (CV 1), the M/M/c
 * assumption, which `plan` then warns about.
 */
export interface ServiceTimeModel {
  /** Coefficient of variation (standard deviation ÷ mean): 0 fixed, 1 exponential. */
  cv: number;
  /** Measured quantiles; when given they shape the distribution and the CV only scales the wait. */
  quantilesMs?: ServiceTimeQuantiles;
  /**
   * Where it came from: the spec's keys, the probe of a `headroom loadtest` profile, or the local
   * balancer's time at the instance (a calibrated model, src/core/calibrate.ts).
   */
  source: 'spec' | 'profile' | 'balancer';
}

/** What the `headroom loadtest` profile behind an instance's capacity measured (for plan's warnings). */
export interface MeasuredProfile {
  /** Highest rate at which the profile's SLO held. */
  kneeRps: number;
  /** No rate broke the SLO (--max-rps reached, or the run stopped first): the true knee is higher. */
  kneeIsLowerBound: boolean;
  /** The run was interrupted or cut by a budget. */
  partial: boolean;
  /**
   * It saw the instance's throughput ceiling, so `concurrency` is measured (ceiling × service time),
   * not inferred from how latency grew: `headroom run` then holds requests at its balancer for c.
   */
  concurrencyMeasured: boolean;
  /** The SLO the knee was measured for. */
  slo: LatencySlo;
}

export interface InstanceModel {
  /** Mean service time of one request, ms. */
  serviceTimeMs: number;
  /**
   * Where serviceTimeMs/concurrency came from: 'profile' when a `headroom loadtest` profile supplied
   * at least one of them; absent or 'spec' when the spec's own keys gave both.
   */
  capacitySource?: 'spec' | 'profile';
  /** The profile's measurement, when capacitySource is 'profile'. */
  profile?: MeasuredProfile;
  /** Service-time variability; absent = exponential. */
  serviceTime?: ServiceTimeModel;
  /** Requests one instance serves at once (servers per instance in the M/M/c model). */
  concurrency: number;
  /** CPU request per instance, millicores (500m → 500). */
  cpuMillis?: number;
  /** Memory request per instance, bytes. */
  memoryBytes?: number;
  /** CPU limit per instance, millicores (vertical advice compares against it). */
  cpuLimitMillis?: number;
  /** Memory limit per instance, bytes. */
  memoryLimitBytes?: number;
}

export interface AvailabilityModel {
  /** Zones the instances are spread over evenly (1 = no zone rule). */
  zones: number;
  /** Whole zones that may fail at once (f < zones). */
  zoneFailures: number;
  /** Further single instances that may fail after the zones (k). */
  instanceFailures: number;
}

/** One rate policy, as in HPA `behavior`: at most `value` pods or percent per `periodSeconds`. */
export interface RatePolicy {
  type: 'pods' | 'percent';
  value: number;
  periodSeconds: number;
}

export interface DirectionBehavior {
  /** Recommendations are stabilized over this window (HPA: up 0 s, down 300 s). */
  stabilizationSeconds: number;
  policies: RatePolicy[];
  /** max = the most permissive policy (HPA default), min = the least, disabled = never. */
  select: 'max' | 'min' | 'disabled';
}

export interface BehaviorModel {
  /** Ignore changes whose ratio to the current count is within ±tolerance (HPA: 0.1). */
  tolerance: number;
  scaleUp: DirectionBehavior;
  scaleDown: DirectionBehavior;
  /**
   * Burst path: when short-window demand ≥ threshold × what the ready instances can carry. `learn`:
   * size a burst for how far this service's past bursts went on (src/core/burst.ts).
   */
  burst: { enabled: boolean; windowSeconds: number; threshold: number; learn: boolean };
  /**
   * Forecast path: start instances `startupSeconds` ahead of predicted demand (daily, weekly,
   * periodic). `quietPhase`: in a detected period's quiet phase the scale-down window holds only
   * that phase's recommendations (decide() step 4, reason QuietPhase), and after a fall only the
   * startup horizon's once the service's last 2 falls did not come back (src/core/falls.ts, reason
   * DemandFell); false holds the full window always, as the HPA does. `historySeconds`: how much of
   * the demand's past the controller reads from Prometheus for a policy with no history yet (its
   * first round, or a status reset), so the forecast starts calibrated with its periods found
   * rather than learning them for hours; 0 reads none (default FORECAST_HISTORY_SECONDS, 8 days).
   */
  forecast: { enabled: boolean; quietPhase: boolean; historySeconds?: number };
  /** After this many consecutive decisions without metrics, go to `replicas` (KEDA-style). */
  fallback?: { afterFailures: number; replicas: number };
}

/** One edge of a call graph: what a service calls for each request it serves (docs/graph.md). */
export interface CallModel {
  service: string;
  /** Mean calls per request (> 0); a fraction means ⌊p⌋ or ⌈p⌉ calls. */
  perRequest: number;
  /** sequential: one after another, after the service's own work; parallel: all together, the slowest counts. */
  mode: 'sequential' | 'parallel';
}

/**
 * What a request-rate reading counts. `arrivals`: every request that came (the local cluster's
 * balancer; a counter plus the growth of an in-flight gauge, spec.demand … inFlight). `answers`: a
 * counter incremented on the answer, as http_requests_total usually is: it cannot rise faster than
 * the ready instances answer, so a saturated pool reads its capacity, not its demand.
 */
export type RateCounts = 'arrivals' | 'answers';

export interface ServiceModel {
  name: string;
  /** Planned demand (plan/what-if). Live modes observe demand instead. */
  demandRps: number;
  instance: InstanceModel;
  loadBalancing: LoadBalancing;
  /**
   * The spec did not say how requests reach the instances: leastRequests is assumed, and plan says
   * what `random` (a kube-proxy Service) would need when that differs. Absent under `headroom run`,
   * whose own balancer is what leastRequests describes.
   */
  loadBalancingAssumed?: true;
  slo?: LatencySlo;
  /** What this service calls per request (a call graph); absent = calls nothing. */
  calls?: CallModel[];
  /** An SLO on the whole request as the caller sees it (this service and everything it calls). */
  endToEndSlo?: LatencySlo;
  /**
   * Target average utilization in (0, 1]. Defaults: 0.7 without an SLO, 0.9 (a cap) with one. Live
   * modes hold it at the forecast's central value, and over its margin too unless every recent miss
   * fits the SLO (decide() step 2b, ForecastWorstMiss).
   */
  targetUtilization: number;
  replicas: { min: number; max: number };
  availability: AvailabilityModel;
  /** Seconds from a scale-up decision to a ready instance (simulator, forecast lead time). */
  startupSeconds: number;
  behavior: BehaviorModel;
  /** Prices (the file's `pricing:` or the service's own); absent = no money shown. */
  pricing?: PricingModel;
}

/**
 * The demand history a new policy reads (8 days): what the forecast keeps (5-minute means for the
 * weekly term), and at 15-s readings 46,080 points, folded in ~1.0–1.2 s (src/core/forecast.ts historyFrom).
 */
export const FORECAST_HISTORY_SECONDS = 8 * 86_400;

/** HPA autoscaling/v2 defaults (k/k pkg/apis/autoscaling/v2/defaults.go) plus Headroom's paths. */
export function defaultBehavior(): BehaviorModel {
  return {
    tolerance: 0.1,
    scaleUp: {
      stabilizationSeconds: 0,
      policies: [
        { type: 'pods', value: 4, periodSeconds: 15 },
        { type: 'percent', value: 100, periodSeconds: 15 },
      ],
      select: 'max',
    },
    scaleDown: {
      stabilizationSeconds: 300,
      policies: [{ type: 'percent', value: 100, periodSeconds: 15 }],
      select: 'max',
    },
    burst: { enabled: true, windowSeconds: 6, threshold: 1.0, learn: true },
    forecast: { enabled: true, quietPhase: true, historySeconds: FORECAST_HISTORY_SECONDS },
  };
}
