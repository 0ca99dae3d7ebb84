// Every reason code a decision can carry, in one place (issue 14): the codes are a closed union so
// grep finds each, and docs/reasons.md documents exactly these (test/docs/reasons.test.ts checks both
// directions, as for the HR_ error codes). Each mode shows them as they are: status lastDecision,
// Kubernetes Events and conditions, the dashboard, `headroom run` lines.
import type { ConstraintName } from './plan.ts';

export const REASON_CODES = {
  // What the count was sized by (decide() step 2), one per binding constraint.
  SizedByLatency: 'the latency SLO, through the queueing model, set the count',
  SizedByUtilization: 'the target utilization set the count',
  SizedByEndToEnd: "the service's share of a call graph's end-to-end SLO set the count (src/core/graph.ts)",
  SizedByAvailability: 'surviving zone and instance failures set the count',
  SizedByMinReplicas: 'replicas.min is above what the demand needs',
  SizedByCapacity: 'what the host or cluster fits capped the count',
  SizedByMaxReplicas: 'replicas.max capped the count',
  // What the count was sized for (step 1).
  Burst:
    'the short window asked more than the ready instances carry: sized for the burst (and how far past bursts went on)',
  Forecast: 'the forecast peak over the startup horizon is above the demand: sized for it',
  ForecastPeriodic:
    'a detected period (e.g. a spike every 2 h) says demand rises within the startup horizon: sized for the matched phase',
  ForecastWorstMiss:
    "every recent miss of the forecast fits the SLO: the utilization target holds at the forecast's central value, not over its margin too",
  Calibrated: 'measured latency differs from the model: sized with scaled service times',
  // Missing metrics.
  NoMetrics:
    'no valid demand: holding the current count (never down on missing data), or more for a burst read on its own (the pods)',
  Fallback: 'metrics missing for behavior.fallback.afterFailures decisions: at the fallback count',
  // Behaviour between the recommendation and the count applied (steps 3–5).
  WithinTolerance: 'a scale-down within the tolerance: keeping the current count',
  ScaleUpStabilized: 'the scale-up stabilization window holds a lower count',
  ScaleDownStabilized: 'the scale-down stabilization window holds a higher count',
  QuietPhase:
    "a detected period's last two cycles show no rise ahead: the scale-down window drops the counts a spike that is over asked for",
  DemandFell:
    "demand fell to under 2/3 of the scale-down window's highest reading, and this service's last 2 falls did not come back: the window holds the startup horizon only",
  ScaleUpLimit: 'the scale-up rate policies allow no more now',
  ScaleDownLimit: 'the scale-down rate policies allow no fewer now',
  RecentDemand:
    "a scale-down stops at what the short window's demand needs: the stable window lags a rise, and a count below it would come back at the next burst check",
  TooFewReplicas: 'raised to replicas.min',
  TooManyReplicas: 'capped at replicas.max',
  CapacityLimited: 'the host or cluster fits no more',
  Steady: 'the current count is right',
  // The loop, not decide().
  Paused: 'the control loop is paused (dashboard): nothing decided or applied',
} as const;

export type ReasonCode = keyof typeof REASON_CODES;

const SIZED_BY: Record<ConstraintName, ReasonCode> = {
  latency: 'SizedByLatency',
  endToEnd: 'SizedByEndToEnd',
  utilization: 'SizedByUtilization',
  availability: 'SizedByAvailability',
  minReplicas: 'SizedByMinReplicas',
  capacity: 'SizedByCapacity',
  maxReplicas: 'SizedByMaxReplicas',
};

/** The reason code for a binding constraint: latency → SizedByLatency. */
export function sizedBy(binding: ConstraintName): ReasonCode {
  return SIZED_BY[binding];
}
