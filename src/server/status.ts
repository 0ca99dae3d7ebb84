// The status document served at GET /api/status: what runs, what the loop decided and why.
// Local mode (`headroom run`) fills it today; the dashboard reads it, and the Kubernetes controller
// can fill the same shape (instances = pods). Plain JSON, versioned by `kind`.
import type { AlertStatus } from '../alerting/runtime.ts';
import type { Decision } from '../core/decide.ts';
import type { RateCounts, ServiceTimeModel } from '../core/model.ts';

export const STATUS_KIND = 'headroom.dev/status/v1';

export type InstanceStatusState = 'starting' | 'ready' | 'unready' | 'draining' | 'stopping' | 'backoff';

export interface InstanceStatus {
  id: string;
  state: InstanceStatusState;
  pid?: number;
  port?: number;
  restarts: number;
  /** ISO time the current process started / became ready. */
  startedAt?: string;
  readySince?: string;
  /** Why it last stopped, e.g. "exited with code 1". */
  lastExit?: string;
  /** Requests in flight from the balancer right now, and since start. */
  inFlight: number;
  requests: number;
  errors: number;
  /** Cores used over the last sample (0.25 = a quarter core); null before the first sample. */
  cpuCores: number | null;
  memoryBytes: number | null;
}

export interface ReasonStatus {
  code: string;
  message: string;
}

/**
 * A decision as every mode shows it: /api/status (local and Kubernetes), the dashboard, the
 * controller's in-memory outcome. The core's `Decision` (src/core/decide.ts) becomes one through
 * `decisionView`; the only other shape is its stored form in a HeadroomPolicy's
 * status.lastDecision (src/controller/status.ts writes it, src/controller/snapshot.ts reads it back).
 */
export interface DecisionView {
  /** ISO time of the tick. */
  at: string;
  desired: number;
  recommended: number;
  valid: boolean;
  binding: string;
  mode: string;
  reasons: ReasonStatus[];
  /**
   * What the plan behind the count says needs a person's attention (the same lines as `headroom
   * plan`'s warnings): an assumed exponential service time or load balancing, replicas.max or the
   * cluster capping the count below what the SLO needs, an overload. Empty when none.
   */
  warnings: string[];
  predicted: { utilization: number | null; latencyMs: number | null };
  /** Demand the count was sized for (max of stable, burst and forecast). */
  sizedForRps: number | null;
  /** True when the decision was applied (false in shadow mode or when desired = current). */
  applied: boolean;
}

/** What decisionView reads: the core's Decision, or one stored in a policy's status and read back. */
export type DecisionFields = Pick<Decision, 'desired' | 'recommended' | 'valid' | 'predicted' | 'sizedForRps'> & {
  binding: string;
  mode: string;
  reasons: readonly ReasonStatus[];
  /** Stored with the decision (status.lastDecision), or rendered from the core's plan on first read. */
  warnings?: readonly string[];
  plan?: { readonly warnings: readonly string[] };
  /** The latency check's own (the core's Decision.checkWarnings), after the plan's. */
  checkWarnings?: readonly string[];
};

/**
 * The one mapper to the view. `at`: ms since the epoch, or an ISO time kept as it is. A utilization
 * that is not finite (0 ready instances under load) shows as null, as JSON would write it anyway.
 */
export function decisionView(d: DecisionFields, at: number | string, applied: boolean): DecisionView {
  const u = d.predicted.utilization;
  return {
    at: typeof at === 'string' ? at : new Date(at).toISOString(),
    desired: d.desired,
    recommended: d.recommended,
    valid: d.valid,
    binding: d.binding,
    mode: d.mode,
    reasons: d.reasons.map((r) => ({ code: r.code, message: r.message })),
    warnings: [...(d.warnings ?? d.plan?.warnings ?? []), ...(d.checkWarnings ?? [])],
    predicted: { utilization: u === null || !Number.isFinite(u) ? null : u, latencyMs: d.predicted.latencyMs },
    sizedForRps: d.sizedForRps ?? null,
    applied,
  };
}

export interface ReplicaCounts {
  /**
   * null: not known yet — a controller's policy before its first round has read the scale target
   * (no data is not zero: a dashboard must not show "0 running" for a Deployment it has not read).
   */
  desired: number | null;
  current: number | null;
  ready: number | null;
  min: number;
  max: number;
  /** How many instances the host can fit (cores and memory per instance); null when unknown. */
  fitLimit: number | null;
}

/** A local cluster's snapshot (`headroom run`): it always knows its own counts. */
export type LocalStatusSnapshot = StatusSnapshot & {
  replicas: ReplicaCounts & { desired: number; current: number; ready: number };
};

export interface WindowStatus {
  windowSeconds: number;
  /** Seconds of data behind the numbers (less than the window just after start). */
  seconds: number;
  arrivalRps: number;
  completionRps: number;
  /**
   * What a controller's rate counts, where its spec says: `answers` (a request counter incremented
   * on the answer: a saturated pool reads its own capacity, not its demand) or `arrivals` (the
   * counter plus the growth of the `inFlight` gauge). Absent: a raw PromQL query (not known), or
   * local mode, whose balancer counts arrivals.
   */
  counts?: RateCounts;
  errorRatio: number;
  meanConcurrency: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number } | null;
  /**
   * Local mode, the burst window: of that latency, the wait at the balancer for a slot (0 unless requests wait there)
   * and the time after dispatch (with `run.queue: instances`, the instance's own queue too), over
   * the requests dispatched in the window.
   */
  waitMs?: { p50: number; p90: number; p99: number } | null;
  atInstanceMs?: { p50: number; p90: number; p99: number; p999: number; mean: number } | null;
}

export interface StatusEvent {
  at: string;
  type: string;
  instance?: string;
  message: string;
  warning: boolean;
}

/** One control-loop tick, kept for charts (the newest last). */
export interface HistoryPoint {
  /** Seconds since the epoch. */
  t: number;
  demandRps: number | null;
  burstRps: number | null;
  p99Ms: number | null;
  /** What the spec's model predicts at that load and count (the latency model checking itself). */
  predictedP99Ms?: number | null;
  desired: number;
  current: number;
  ready: number;
  /** Mean CPU (cores) and memory (bytes) per instance at that tick, where the mode measures them. */
  cpuCores?: number | null;
  memoryBytes?: number | null;
}

export interface StatusSnapshot {
  kind: typeof STATUS_KIND;
  mode: 'local' | 'kubernetes';
  /** ISO time of the snapshot, and seconds since start. */
  time: string;
  uptimeSeconds: number;
  service: {
    name: string;
    /** Where clients send requests (the balancer), e.g. http://127.0.0.1:8080 */
    url?: string;
    command?: string[];
    loadBalancing: string;
    /** Local mode: where requests wait when every instance is busy (run.queue). */
    queue?: 'balancer' | 'instances';
    /**
     * The SLO this service's measured latency is read against. `scope: 'endToEnd'`: a call graph's
     * entry, whose SLO covers the whole request (its balancer measures its calls too).
     */
    slo?: { latencyMs: number; percentile: number; scope?: 'endToEnd' };
    /** Per-instance capacity the loop sizes with, and where it came from. */
    capacity: { serviceTimeMs: number; concurrency: number; source: 'spec' | 'profile' | 'learned' };
  };
  /** Decide and report, but do not act. */
  shadow: boolean;
  /** The control loop neither decides nor acts (dashboard action); absent = not supported. */
  paused?: boolean;
  replicas: ReplicaCounts;
  decision: DecisionView | null;
  /**
   * The recent decisions that differed from the one before (count, binding, mode or reason codes),
   * newest first, at most RECENT_DECISIONS: a page opened later shows how the count got here.
   */
  decisions?: DecisionView[];
  /**
   * The latency model against measured latency at the SLO percentile (src/core/calibrate.ts):
   * predicted by the spec's model, by the calibrated one, measured; error = measured ÷ predicted
   * (smoothed); scale = the service-time factor the loop sizes with. Absent where not measured.
   */
  model?: {
    percentile: number;
    predictedMs: number | null;
    calibratedMs: number | null;
    measuredMs: number | null;
    error: number;
    scale: number;
    samples: number;
    calibrating: boolean;
    /** Read from whole responses only (no balancer split): a scale within 5 % counts (sizingCapacity). */
    wholeResponse?: boolean;
    /** Read from a histogram: how far its read moves per move of the service time (Calibration.sensitivity). */
    sensitivity?: number;
    /** Local mode: the time at an instance in the shape the loop sizes with, when heavier than the spec's. */
    serviceTime?: ServiceTimeModel;
  };
  traffic: {
    inFlight: number;
    /** Local mode: of those, waiting at the balancer for a free instance slot. */
    queued?: number;
    stable: WindowStatus | null;
    burst: WindowStatus | null;
    totals: { requests: number; errors: number };
  };
  instances: InstanceStatus[];
  host: {
    cores: number;
    memoryBytes: number;
    cpuMillisPerInstance: number | null;
    memoryBytesPerInstance: number | null;
  };
  events: StatusEvent[];
  history: HistoryPoint[];
  /** Pending and firing alerts and delivery stats, when the producer runs alerting. */
  alerts?: AlertStatus;
}

/** How many distinct decisions a snapshot keeps (newest first). */
export const RECENT_DECISIONS = 30;

/** Adds `d` to `list` (newest first) unless it repeats the newest one; keeps RECENT_DECISIONS. */
export function keepDecision(list: DecisionView[], d: DecisionView): void {
  const key = (x: DecisionView): string =>
    [x.desired, x.recommended, x.binding, x.mode, x.valid, x.reasons.map((r) => r.code).join(',')].join('|');
  const newest = list[0];
  if (newest && key(newest) === key(d)) {
    // The same decision again: it keeps its first time, and shows the plan's warnings of now.
    newest.warnings = d.warnings;
    return;
  }
  list.unshift(d);
  if (list.length > RECENT_DECISIONS) list.length = RECENT_DECISIONS;
}

/**
 * Least-squares slope of demand (rps per second) over the last `windowSeconds` of history;
 * undefined with fewer than 3 points or under 30 s of data (too little to call a trend).
 */
export function demandTrend(history: readonly HistoryPoint[], windowSeconds = 300): number | undefined {
  const last = history.at(-1);
  if (!last) return undefined;
  const pts = history.filter(
    (h) => typeof h.demandRps === 'number' && Number.isFinite(h.demandRps) && h.t >= last.t - windowSeconds,
  ) as Array<HistoryPoint & { demandRps: number }>;
  const first = pts[0];
  if (pts.length < 3 || !first || last.t - first.t < 30) return undefined;
  const n = pts.length;
  const mt = pts.reduce((a, p) => a + p.t, 0) / n;
  const md = pts.reduce((a, p) => a + p.demandRps, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of pts) {
    num += (p.t - mt) * (p.demandRps - md);
    den += (p.t - mt) ** 2;
  }
  const slope = den > 0 ? num / den : undefined;
  return slope !== undefined && Number.isFinite(slope) ? slope : undefined;
}
