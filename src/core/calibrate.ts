// The loop checks its model against measured latency and corrects it (issue 13: the model is exact
// only for the services it assumes).
//
// Each tick with enough requests, the measured latency percentile at the observed demand and ready
// count is compared with what the model predicts there. The correction is one number: a service-
// time scale s (every service time × s, so capacity ÷ s), the one that makes the model predict what
// was measured, found by bisection on ln s (the predicted percentile grows with s). It is smoothed
// over time (half-life 60 s unless the caller sets one; a quarter of it for a rise while the SLO is
// broken and the model does not explain why), needs 200 requests per observation, and stays within [1, 4]: latency
// alone cannot tell a faster mean from a lighter tail, so it may make the model more careful, never
// less. A fixed-time service told "exponential" measures a lower p99 than predicted; scaling its
// service time down to match would overload it (the simulator measured 24 % of a day violating).
// That direction is reported (the error, and the drift alert) for a person to fix the spec.
//
// Worked example: spec 20 ms, concurrency 4, 150 rps on 2 instances, exponential: the model says
// p99 = 94 ms. A release that doubles the service time measures ~200 ms; s = 2 reproduces it, so
// the loop sizes as if serviceTimeMs were 40 and 150 rps needs ≥ 2 × 1.5 = 3 instances more.
//
// `error` is the measured ÷ predicted percentile of the spec's own model (s = 1), smoothed alike:
// the `HeadroomModelDrift` alert fires when it stays away from 1, because a calibrated loop still
// means the spec (or the release) no longer describes the service.
import type { ServiceModel } from './model.ts';
import { poolShape } from './plan.ts';
import { latencyPercentileMs, type PoolShape } from './pool.ts';

export interface CalibrationState {
  /** Smoothed ln of the service-time scale (0 = the spec's model). */
  logScale: number;
  /** Smoothed ln of measured ÷ predicted by the spec's model. */
  logError: number;
  /** Observations taken in. */
  samples: number;
  /** Time of the last one, seconds. */
  at?: number;
  /** Ready counts of recent samples, [time s, ready], as long as a measurement window reaches back. */
  readyLog?: Array<[number, number]>;
}

export interface LatencySample {
  /** Demand over the window the latency was measured in, rps. */
  demandRps: number;
  /** Ready instances that served it. */
  ready: number;
  /** Measured response time at the SLO percentile, ms. */
  measuredMs: number;
  /** Requests behind the measurement. */
  requests: number;
  /** The percentile measured (the SLO's by default): a balancer may only keep p50/p90/p99. */
  percentile?: number;
  /** Requests completed per second over the same window (when known). */
  completionRps?: number;
  /**
   * How far back the measurement reaches, s (the balancer's 6-s burst window, the histogram's 1m).
   * The window's requests were served by the fewest instances ready in it, not by the count now.
   */
  windowSeconds?: number;
}

export interface Calibration {
  /** Service-time scale in use (1 = the spec). */
  scale: number;
  /** The spec's model at the observed load and count, ms; the calibrated one; and what was measured. */
  predictedMs: number | null;
  calibratedMs: number | null;
  measuredMs: number | null;
  /** The percentile measured and predicted (a balancer keeping p50/p90/p99 reports p99 for a p99.9 SLO). */
  percentile: number;
  /** Smoothed measured ÷ spec-model prediction (1 = the model is right). */
  error: number;
  /** Observations taken in so far. */
  samples: number;
}

export const CALIBRATION = {
  minRequests: 200,
  halfLifeSeconds: 60,
  minScale: 1,
  maxScale: 4,
} as const;

/** While the SLO is broken, a larger scale is taken this many times faster than the half-life says. */
export const UP_SPEEDUP = 4;
/**
 * ...once the smoothed error says the model has been off for a while (1.5×, the drift alert's
 * threshold): a burst's few slow windows on a ramp (the fidelity trace) do not get there, a bad
 * release (17× at once) does within ~15 s.
 */
const SUSTAINED_LOG_ERROR = Math.log(1.5);

export function initialCalibration(): CalibrationState {
  return { logScale: 0, logError: 0, samples: 0 };
}

const percentileOf = (model: ServiceModel): number => model.slo?.percentile ?? 99;

function predict(shape: PoolShape, ready: number, pct: number, scale: number): number {
  return latencyPercentileMs({ ...shape, serviceTimeMs: shape.serviceTimeMs * scale }, ready, pct);
}

/**
 * Take in one latency sample. Samples with too few requests, no ready instance or no demand change
 * nothing (no data is not evidence). Returns the new state and what the loop shows.
 */
export function calibrate(
  model: ServiceModel,
  state: CalibrationState,
  sample: LatencySample | undefined,
  now: number,
  /** How fast measurements move the scale (default CALIBRATION.halfLifeSeconds). */
  halfLifeSeconds: number = CALIBRATION.halfLifeSeconds,
): { state: CalibrationState; calibration: Calibration } {
  const pct = sample?.percentile ?? percentileOf(model);
  const view = (
    s: CalibrationState,
    predictedMs: number | null,
    calibratedMs: number | null,
    measuredMs: number | null,
  ) => ({
    state: s,
    calibration: {
      scale: Math.exp(s.logScale),
      predictedMs,
      calibratedMs,
      measuredMs,
      percentile: pct,
      error: Math.exp(s.logError),
      samples: s.samples,
    },
  });
  // A window that straddles a change of the ready count is no evidence: just after a scale-up from
  // 3 to 4, a 6-s window still holds the backlog 3 built, and read against 4 it looks like a slower
  // service (with the fast rise below, the fidelity trace went to 5 instances on that where 4 carry
  // its peak). Such a sample only extends the log of counts; the next whole window counts. Every
  // sample's count is logged, evidence or not: an instance that hung left 0 ready for 12 s, too few
  // requests to be a sample, and the first windows after its replacement (10-s waits at 1 ready)
  // were read as a service 4× slower than it is.
  const windowS = sample?.windowSeconds ?? 0;
  const logged = sample !== undefined && windowS > 0;
  const readyLog = logged ? (state.readyLog ?? []).filter(([t]) => t > now - windowS && t <= now) : [];
  const straddles = logged && readyLog.some(([, r]) => r !== sample.ready);
  if (logged) readyLog.push([now, sample.ready]);
  const ok =
    sample !== undefined &&
    sample.requests >= CALIBRATION.minRequests &&
    sample.ready >= 1 &&
    sample.demandRps > 0 &&
    Number.isFinite(sample.measuredMs) &&
    sample.measuredMs > 0;
  const measuredMs = sample && Number.isFinite(sample.measuredMs) ? sample.measuredMs : null;
  if (!ok) return view(logged ? { ...state, readyLog } : state, null, null, measuredMs);
  if (straddles) return view({ ...state, readyLog }, null, null, sample.measuredMs);
  const ready = sample.ready;
  const shape = poolShape(model, { demandRps: sample.demandRps });
  const predicted = predict(shape, ready, pct, 1);
  // The scale that reproduces the measurement: bisection on ln s within the bounds.
  let lo = Math.log(CALIBRATION.minScale);
  let hi = Math.log(CALIBRATION.maxScale);
  if (predicted >= sample.measuredMs) hi = lo;
  else if (predict(shape, ready, pct, Math.exp(hi)) <= sample.measuredMs) lo = hi;
  for (let i = 0; i < 40 && hi - lo > 1e-5; i++) {
    const mid = (lo + hi) / 2;
    if (predict(shape, ready, pct, Math.exp(mid)) < sample.measuredMs) lo = mid;
    else hi = mid;
  }
  let observed = (lo + hi) / 2;
  // Saturated (work piling up: fewer completions than arrivals): a queue growing without bound
  // has no steady-state percentile to invert, and the bisection stops below the scale at which
  // the model itself saturates (3 instances × 50 rps at 85 rps: 1.76 even for a 2.07× release).
  // Then throughput says it: ready·c busy servers completing completionRps take ready·c/completionRps
  // each, e.g. 3 × 1 / 73 rps = 41 ms for a 20-ms spec: 2.05.
  // Only with the SLO broken: on a ramp, completions trail arrivals by the growing in-flight work
  // (545 rps arriving, 530 completing at ρ 0.9) though nothing is saturated, and the formula, which
  // takes every server as busy, read that as a 13 % slower service.
  const done = sample.completionRps;
  const broken = model.slo === undefined || sample.measuredMs > model.slo.latencyMs;
  const saturated = done !== undefined && done > 0 && sample.demandRps > done * 1.02 && broken;
  if (saturated) {
    const perServerMs = (ready * model.instance.concurrency * 1000) / done;
    const byThroughput = Math.log(perServerMs / model.instance.serviceTimeMs);
    observed = Math.min(Math.log(CALIBRATION.maxScale), Math.max(observed, byThroughput));
  }
  const logError = Number.isFinite(predicted)
    ? Math.log(sample.measuredMs / predicted)
    : Math.log(CALIBRATION.maxScale);
  // Weighted by elapsed time since the last sample (half-life), so a slow tick rate does not slow the
  // correction and a fast one does not speed it. The first sample only starts the clock: a cold
  // start's first window (JIT, new connections) must not set the scale on its own.
  const dt = state.at === undefined ? 0 : Math.max(0, now - state.at);
  const a = 1 - 0.5 ** (dt / halfLifeSeconds);
  // Up fast while the SLO is broken in a way the model in use cannot explain, as the HPA scales up
  // without waiting and down after a window: a window over the SLO where the model at the current
  // scale predicts the SLO met moves the scale up with a quarter of the half-life, once the
  // smoothed error passes 1.5. A bad release: 85 rps on 3 instances, the model says p99 104 ms
  // ≤ 300, measured 1,800 ms → fast from ~15 s on, until the scale explains it. Not on a breach the
  // model explains (demand past what the count carries, on a ramp the loop is already scaling
  // for: the fidelity trace went to 5 instances where 4 carry its peak), and not under the SLO:
  // fast-up-slow-down on every window would ratchet the scale up on noise. docs/benchmarks.md:
  // SLO back for good at T + 81 s after a bad release, was T + 147 s with 60 s both ways.
  const slo = model.slo;
  const nextLogError = state.logError + a * (logError - state.logError);
  const unexplained =
    slo !== undefined &&
    pct <= slo.percentile &&
    sample.measuredMs > slo.latencyMs &&
    nextLogError > SUSTAINED_LOG_ERROR &&
    predict(shape, ready, pct, Math.exp(state.logScale)) <= slo.latencyMs;
  const up = unexplained && observed > state.logScale ? 1 - 0.5 ** ((dt * UP_SPEEDUP) / halfLifeSeconds) : a;
  const next: CalibrationState = {
    logScale: state.logScale + up * (observed - state.logScale),
    logError: nextLogError,
    samples: state.samples + 1,
    at: now,
    ...(windowS > 0 ? { readyLog } : {}),
  };
  const calibrated = predict(shape, ready, pct, Math.exp(next.logScale));
  return view(
    next,
    Number.isFinite(predicted) ? predicted : null,
    Number.isFinite(calibrated) ? calibrated : null,
    sample.measuredMs,
  );
}
