// The service-time distribution of one instance, from the probe's sequential requests. Pure.
//
// The probe sends one request at a time, so nothing queues: each latency is one service time plus
// the client's and the network's share of the round trip (on loopback ~0.1–0.3 ms; nothing is
// subtracted, so a remote target's distribution is shifted by its RTT). Statistics are exact (the
// samples are sorted, no histogram buckets), in ms with µs resolution:
//
// - mean, and CV = sample standard deviation (n − 1) ÷ mean: 0 for a fixed time, 1 for exponential;
// - p50/p90/p99/p999 by linear interpolation between order statistics (Hyndman–Fan type 7, numpy's
//   default): the q-quantile of n sorted samples is x[h] with h = (n − 1)·q, interpolated.
//   They are made strictly increasing, as the spec requires: a quantile not above the one before it
//   is nudged to that one + 1e-6 ms (a fixed-time service gives p50 = p90 = … up to timer jitter).
//
// E.g. samples 10, 10, 10, 10, 20 ms: mean 12, sd √20 = 4.47, CV 0.373; p50 = x[2] = 10,
// p90 = x[3.6] = 10 + 0.6·10 = 16, p99 = x[3.96] = 19.6, p999 = x[3.996] = 19.96.
//
// A p999 needs samples: with n samples, x[(n − 1)·0.999] lies between the two largest when n < 1000
// and is then mostly one sample's luck. Below MIN_PROBE_SAMPLES (200: p99 then rests on the 3
// largest samples) the distribution is reported but not written to the profile (src/input/profile.ts).
import type { ServiceTimeQuantiles } from '../core/model.ts';
import { minimumMeanMs } from '../core/service-time.ts';
import { MIN_PROBE_SAMPLES } from '../input/profile.ts';

export { MIN_PROBE_SAMPLES };

export interface ServiceTimeStats {
  samples: number;
  meanMs: number;
  stdDevMs: number;
  /** stdDevMs / meanMs. */
  cv: number;
  minMs: number;
  maxMs: number;
  /** Strictly increasing (p50 < p90 < p99 < p999). */
  quantilesMs: ServiceTimeQuantiles;
}

/** Nudge for quantiles that are not above the one before them (ms). */
export const QUANTILE_NUDGE_MS = 1e-6;

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** The q-quantile (0 ≤ q ≤ 1) of ascending samples, type 7 (linear between order statistics). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Quantiles rounded to µs, each strictly above the previous (equal ones nudged by 1e-6 ms). */
export function strictlyIncreasing(q: ServiceTimeQuantiles): ServiceTimeQuantiles {
  const out = [q.p50, q.p90, q.p99, q.p999].map((x) => round(x, 3));
  for (let i = 1; i < out.length; i++) {
    if (out[i]! <= out[i - 1]!) out[i] = round(out[i - 1]! + QUANTILE_NUDGE_MS, 6);
  }
  return { p50: out[0]!, p90: out[1]!, p99: out[2]!, p999: out[3]! };
}

/** Statistics of the probe's latencies (ms); undefined for fewer than 2 samples or a zero mean. */
export function serviceTimeStats(latenciesMs: ArrayLike<number>): ServiceTimeStats | undefined {
  const n = latenciesMs.length;
  if (n < 2) return undefined;
  const sorted = Float64Array.from(latenciesMs).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const mean = sum / n;
  if (!(mean > 0) || !Number.isFinite(mean)) return undefined;
  let ss = 0;
  for (const x of sorted) ss += (x - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  return {
    samples: n,
    meanMs: round(mean, 3),
    stdDevMs: round(sd, 3),
    cv: round(sd / mean, 4),
    minMs: round(sorted[0]!, 3),
    maxMs: round(sorted[n - 1]!, 3),
    quantilesMs: strictlyIncreasing({
      p50: quantileSorted(sorted, 0.5),
      p90: quantileSorted(sorted, 0.9),
      p99: quantileSorted(sorted, 0.99),
      p999: quantileSorted(sorted, 0.999),
    }),
  };
}

/**
 * Why these statistics must not become the profile's distribution (and the fit's M/G/c), if so:
 * - fewer than MIN_PROBE_SAMPLES samples: the tail is luck;
 * - p99.9 below the mean: a few samples above p99.9 carry the mean (e.g. one 5 s stall among
 *   1,999 requests of 10 ms: mean 12.5 ms, p99.9 10 ms), which no distribution through these
 *   quantiles can have — the spec loader rejects it (HR_SERVICE_TIME);
 * - the quantiles imply a larger mean than measured (the core's minimumMeanMs), likewise.
 */
export function distributionIssue(st: ServiceTimeStats): string | undefined {
  if (st.samples < MIN_PROBE_SAMPLES) {
    return `the probe timed ${st.samples} successful sequential requests, fewer than the ${MIN_PROBE_SAMPLES} a stable p99/p99.9 needs`;
  }
  if (st.quantilesMs.p999 < st.meanMs) {
    return `the probe's p99.9 (${st.quantilesMs.p999} ms) is below its mean (${st.meanMs} ms): a few outliers above p99.9 carry the mean (a stall during the probe?)`;
  }
  const least = minimumMeanMs(st.quantilesMs);
  if (least > st.meanMs * (1 + 1e-9)) {
    return `the probe's quantiles imply a mean of at least ${least.toFixed(3)} ms, above the measured ${st.meanMs} ms`;
  }
  return undefined;
}
