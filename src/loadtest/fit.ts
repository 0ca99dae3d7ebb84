// Fit the M/M/c parameters (serviceTimeMs s, concurrency c) the core's queueing model uses from a
// load test's measurements, and the knee that model predicts. Pure: no I/O, no clock.
//
// 1. s: the mean latency of the probe — requests sent one at a time before the steps, so nothing
//    queues and latency = service time (+ loopback, ~0.1 ms) — or the smallest step mean if lower.
//    (Correcting a loaded step's mean with M/M/c instead would be wrong for non-exponential services:
//    a fixed 10 ms service at 50 rps, c = 1, measures 10 ms, but M/M/1 says 10/(1 − 0.5) = 20 ms, so
//    the "corrected" s would come out at 6.7 ms.)
// 2. c: if some step saturated (it delivered < 90 % of the asked rate), the target's throughput
//    ceiling X is the highest achieved rate, and c = round(X·s) since an instance serves c/s rps.
//    Then s = min(probe s, c/X): both only overestimate the time a slot is held (the probe adds the
//    round trip; a throughput dip on a busy machine lowers X), so the smaller is the better bound.
//    Otherwise c is the value in 1..256 whose M/M/c mean latency curve, at each step's achieved rate,
//    is closest to the measured means (least squares on log ratios).
// 3. The predicted knee: the highest λ at which the M/M/c percentile of (s, c) is ≤ the SLO latency.
//
// Worked example (sleep-mode example service, WORK_MS=20, CONCURRENCY=4, on a busy 2-core box):
// probe mean 22.0 ms; the 244 rps step delivered 165.5 rps (< 0.9·244: saturated) and the best step
// 193 rps, so X = 193, c = round(193 · 0.0220) = round(4.25) = 4, s = 4/193 = 20.7 ms. M/M/4 with
// s = 20.7 ms and an SLO of p99 ≤ 200 ms predicts a knee of 168 rps; the measured knee (207 rps) is
// higher because a fixed service time has no exponential tail, and a 2.5 s step is too short for a
// 4 % overload to build 200 ms of queue.
import { latencyPercentileMs } from '../core/pool.ts';
import { meanResponseTime } from '../core/queueing.ts';

export interface FitStep {
  targetRps: number;
  achievedRps: number;
  /** Mean latency (ms) of the step's responses. */
  meanMs: number;
  completed: number;
}

export interface FitInput {
  /** Mean latency (ms) of sequential probe requests, if a probe ran. */
  probeMeanMs?: number;
  steps: readonly FitStep[];
  slo: { latencyMs: number; percentile: number };
}

export interface QueueFit {
  serviceTimeMs: number;
  concurrency: number;
  /** c · 1000 / s. */
  capacityRps: number;
  /** How c was found. */
  method: 'saturation' | 'curve' | 'single-step';
  /** Highest rate the M/M/c model with (s, c) says meets the SLO; 0 if none does. */
  predictedKneeRps: number;
  /** Throughput ceiling seen, if any step saturated. */
  saturationRps?: number;
}

/** A step delivered less than this share of the asked rate: the target was saturated. */
export const SATURATION_SHARE = 0.9;
const MAX_FIT_CONCURRENCY = 256;

export function fitQueueModel(input: FitInput): QueueFit | undefined {
  const steps = input.steps.filter((s) => s.completed > 0 && Number.isFinite(s.meanMs) && s.meanMs > 0);
  const probe = input.probeMeanMs !== undefined && input.probeMeanMs > 0 ? input.probeMeanMs : undefined;
  // Every mean latency, the probe's or a step's, is at least the mean service time (queueing and the
  // round trip only add), so the smallest is the tightest bound. On a busy machine the sequential
  // probe can be the worst of them: each request waits for both idle processes to be scheduled.
  const sMs = Math.min(probe ?? Infinity, ...steps.map((s) => s.meanMs));
  if (!Number.isFinite(sMs)) return undefined;
  const sat = steps.filter((s) => s.achievedRps < SATURATION_SHARE * s.targetRps);
  let c: number;
  let s = sMs;
  let method: QueueFit['method'];
  let saturationRps: number | undefined;
  if (sat.length > 0) {
    saturationRps = Math.max(...steps.map((x) => x.achievedRps));
    c = Math.max(1, Math.round((saturationRps * sMs) / 1000));
    // Both are upper bounds of the time a slot is held: the probe's latency also includes the round
    // trip (client, loopback, parsing), and c/X is inflated when the target's throughput dipped
    // (a busy machine starving it for part of a step). The smaller one is the tighter bound.
    s = Math.min(sMs, (c * 1000) / saturationRps);
    method = 'saturation';
  } else if (steps.length >= 2) {
    c = curveFitConcurrency(sMs, steps);
    method = 'curve';
  } else {
    c = 1;
    method = 'single-step';
  }
  return {
    serviceTimeMs: s,
    concurrency: c,
    capacityRps: (c * 1000) / s,
    method,
    predictedKneeRps: predictKneeRps(s, c, input.slo),
    ...(saturationRps !== undefined ? { saturationRps } : {}),
  };
}

/** The c whose M/M/c mean-latency curve (service time s) best matches the measured step means. */
export function curveFitConcurrency(serviceTimeMs: number, steps: readonly FitStep[]): number {
  const mu = 1000 / serviceTimeMs;
  // Fewer servers than the highest achieved load needs cannot have served it.
  const minC = Math.max(1, Math.floor(Math.max(...steps.map((s) => s.achievedRps)) / mu) + 1);
  let best = minC;
  let bestErr = Infinity;
  for (let c = minC; c <= MAX_FIT_CONCURRENCY; c++) {
    let err = 0;
    for (const s of steps) {
      const model = meanResponseTime({ servers: c, arrivalRate: s.achievedRps, serviceRate: mu }) * 1000;
      const d = Math.log(model / s.meanMs);
      err += d * d;
    }
    // Strictly better only: among equal fits (the curve flattens as c grows) keep the smaller c.
    if (err < bestErr - 1e-12) {
      bestErr = err;
      best = c;
    }
  }
  return best;
}

/**
 * Highest arrival rate at which the M/M/c percentile stays within the SLO, by bisection on
 * (0, c/s): the percentile grows with λ. 0 when even an idle instance breaks it (e.g. p99 of an
 * exponential 20 ms service is 92.1 ms, so a p99 ≤ 80 ms SLO has no knee in the model).
 */
export function predictKneeRps(
  serviceTimeMs: number,
  concurrency: number,
  slo: { latencyMs: number; percentile: number },
): number {
  const ok = (rps: number): boolean =>
    latencyPercentileMs(
      { demandRps: rps, serviceTimeMs, concurrency, loadBalancing: 'leastRequests' },
      1,
      slo.percentile,
    ) <= slo.latencyMs;
  const cap = (concurrency * 1000) / serviceTimeMs;
  if (!ok(cap * 1e-9)) return 0;
  let lo = cap * 1e-9;
  let hi = cap;
  for (let i = 0; i < 60 && hi - lo > 1e-6 * cap; i++) {
    const mid = (lo + hi) / 2;
    if (ok(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
