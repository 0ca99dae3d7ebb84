// Fit the M/M/c parameters (serviceTimeMs s, concurrency c) the core's queueing model uses from a
// load test's measurements, and the knee that model predicts. Pure: no I/O, no clock.
//
// 1. s: the mean latency of the probe — requests sent one at a time before the steps, so nothing
//    queues and latency = service time (+ loopback, ~0.1 ms) — or the smallest step mean if lower
//    (only a step whose mean is precise, CV/√n ≤ 5 %, when the probe measured the CV).
//    (Correcting a loaded step's mean with M/M/c instead would be wrong for non-exponential services:
//    a fixed 10 ms service at 50 rps, c = 1, measures 10 ms, but M/M/1 says 10/(1 − 0.5) = 20 ms, so
//    the "corrected" s would come out at 6.7 ms.)
// 2. c: if some step saturated (it delivered < 90 % of the asked rate), the target's throughput
//    ceiling X is the highest achieved rate, and c = round(X·s) since an instance serves c/s rps.
//    Then s = min(probe s, c/X): both only overestimate the time a slot is held (the probe adds the
//    round trip; a throughput dip on a busy machine lowers X), so the smaller is the better bound.
//    Otherwise c is the value in 1..256 whose M/M/c mean latency curve, at each step's achieved rate,
//    is closest to the measured means (least squares on log ratios).
// 3. The predicted knee: the highest λ at which the model's percentile of (s, c) is ≤ the SLO
//    latency. With a service-time distribution from the probe (≥ 200 samples: its CV and
//    p50/p90/p99/p999) the model is M/G/c: the core's latencyPercentileMs gets
//    shape.serviceTime = { cv, quantilesMs, source: 'profile' }, the quantiles scaled by s / probe
//    mean as the spec loader scales a profile's; without one it is M/M/c (CV 1).
//    Known case: a single-threaded Node server spending a fixed 5 ms of CPU per request, SLO
//    p99 ≤ 50 ms, measured a knee of 192 rps; M/M/1 with s = 5.2 ms says 1000/5.2 − ln(100)/0.05 =
//    192.3 − 92.1 = 100 rps, because an exponential service time has a tail a fixed one lacks.
//    M/G/1 with the probe's CV 0.05 says 144 rps; a simulated M/D/1 has its steady-state knee at
//    ~148 rps (p99 50.5 ms at 148 rps). The rest of the 192 is the 2 s steps: a queue at 0.8–1.0
//    load needs far longer than that to reach its steady-state tail.
//
// Worked example (sleep-mode example service, WORK_MS=20, CONCURRENCY=4, on a busy 2-core box):
// probe mean 22.0 ms; the 244 rps step delivered 165.5 rps (< 0.9·244: saturated) and the best step
// 193 rps, so X = 193, c = round(193 · 0.0220) = round(4.25) = 4, s = 4/193 = 20.7 ms. M/M/4 with
// s = 20.7 ms and an SLO of p99 ≤ 200 ms predicts a knee of 168 rps; the measured knee (207 rps) is
// higher because a fixed service time has no exponential tail, and a 2.5 s step is too short for a
// 4 % overload to build 200 ms of queue.
import type { ServiceTimeModel, ServiceTimeQuantiles } from '../core/model.ts';
import { latencyPercentileMs, type PoolShape } from '../core/pool.ts';
import { meanResponseTime } from '../core/queueing.ts';
import { SATURATION_SHARE } from '../input/profile.ts';

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
  /** The probe's service-time distribution (enough samples for a stable tail): the knee is then M/G/c. */
  serviceTime?: ProbeDistribution;
}

/** What the fit needs of the probe's distribution. */
export interface ProbeDistribution {
  /** The probe's mean (ms): the quantiles are scaled by serviceTimeMs / meanMs, as `plan` does. */
  meanMs: number;
  cv: number;
  quantilesMs: ServiceTimeQuantiles;
}

export interface QueueFit {
  serviceTimeMs: number;
  concurrency: number;
  /** c · 1000 / s. */
  capacityRps: number;
  /** How c was found. */
  method: 'saturation' | 'curve' | 'single-step';
  /** Highest rate the model with (s, c) says meets the SLO; 0 if none does. */
  predictedKneeRps: number;
  /** The model of the predicted knee: M/G/c with the probe's distribution, else M/M/c. */
  model: 'M/G/c' | 'M/M/c';
  /** The service-time CV the model assumed (1 for M/M/c). */
  serviceTimeCv: number;
  /** Throughput ceiling seen, if any step saturated. */
  saturationRps?: number;
}

const MAX_FIT_CONCURRENCY = 256;
/** Largest relative standard error (CV/√n) of a step mean that may bound the service time. */
export const MAX_STEP_MEAN_ERROR = 0.05;

export function fitQueueModel(input: FitInput): QueueFit | undefined {
  const steps = input.steps.filter((s) => s.completed > 0 && Number.isFinite(s.meanMs) && s.meanMs > 0);
  const probe = input.probeMeanMs !== undefined && input.probeMeanMs > 0 ? input.probeMeanMs : undefined;
  // Every mean latency, the probe's or a step's, is at least the mean service time (queueing and the
  // round trip only add), so the smallest is the tightest bound. On a busy machine the sequential
  // probe can be the worst of them: each request waits for both idle processes to be scheduled.
  // That holds for the true means; a sample mean of a variable service time scatters below it by
  // about CV/√n. With the probe's CV known, a step bounds s only when that is ≤ 5 % (e.g. a 0.5 s
  // step of 5 lognormal requests, mean 20 ms and CV 2, averaged 9.2 ms: s would have been halved).
  const cv = input.serviceTime?.cv;
  const precise = (st: FitStep): boolean => cv === undefined || cv / Math.sqrt(st.completed) <= MAX_STEP_MEAN_ERROR;
  const sMs = Math.min(probe ?? Infinity, ...steps.filter(precise).map((st) => st.meanMs));
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
    // The same precision rule for throughput: the best of several short steps of a variable service
    // is biased high (a lognormal CV 2 instance serving 48 rps reached 53.8 in one 5-s step, and s
    // came out 18.6 ms instead of ~21: plan then ran one instance too few). Only steps whose
    // completions make their rate precise (CV/√n ≤ 5 %) may lower s below the probe's mean.
    const preciseRates = steps.filter(precise).map((x) => x.achievedRps);
    const rate = preciseRates.length > 0 ? Math.max(...preciseRates) : undefined;
    s = rate !== undefined ? Math.min(sMs, (c * 1000) / rate) : sMs;
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
    predictedKneeRps: predictKneeRps(s, c, input.slo, input.serviceTime),
    model: input.serviceTime ? 'M/G/c' : 'M/M/c',
    serviceTimeCv: input.serviceTime ? input.serviceTime.cv : 1,
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
 * Highest arrival rate at which the model's percentile stays within the SLO, by bisection on
 * (0, c/s): the percentile grows with λ. 0 when even an idle instance breaks it (e.g. p99 of an
 * exponential 20 ms service is 92.1 ms, so a p99 ≤ 80 ms SLO has no knee in the model). With
 * `serviceTime` the core models M/G/c with that distribution; without it, M/M/c.
 */
export function predictKneeRps(
  serviceTimeMs: number,
  concurrency: number,
  slo: { latencyMs: number; percentile: number },
  serviceTime?: ProbeDistribution,
): number {
  // The probe's shape at the mean in use (the probe's latencies also hold the round trip; the fitted
  // s can be below their mean): the same scaling the spec loader applies to a profile.
  const k = serviceTime ? serviceTimeMs / serviceTime.meanMs : 1;
  const model: ServiceTimeModel | undefined = serviceTime
    ? {
        cv: serviceTime.cv,
        quantilesMs: {
          p50: serviceTime.quantilesMs.p50 * k,
          p90: serviceTime.quantilesMs.p90 * k,
          p99: serviceTime.quantilesMs.p99 * k,
          p999: serviceTime.quantilesMs.p999 * k,
        },
        source: 'profile',
      }
    : undefined;
  const ok = (rps: number): boolean => {
    // `serviceTime` on PoolShape is the core's M/G/c input (src/core/pool.ts).
    const shape: PoolShape = {
      demandRps: rps,
      serviceTimeMs,
      concurrency,
      loadBalancing: 'leastRequests',
      ...(model ? { serviceTime: model } : {}),
    };
    return latencyPercentileMs(shape, 1, slo.percentile) <= slo.latencyMs;
  };
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
