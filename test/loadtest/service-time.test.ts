// The probe's statistics: exact mean, CV and type-7 quantiles of the sequential latencies, made
// strictly increasing for the spec; lognormal and exponential samples give back their CV.
import { describe, expect, it } from 'vitest';
import {
  MIN_PROBE_SAMPLES,
  QUANTILE_NUDGE_MS,
  distributionIssue,
  quantileSorted,
  serviceTimeStats,
  strictlyIncreasing,
} from '../../src/loadtest/service-time.ts';
import { mulberry32 } from '../../src/simulator/synthetic.ts';

/** mulberry32, as examples/service.ts draws: reproducible uniforms in [0, 1). */
const rng = mulberry32;

/** Lognormal samples with the given mean and CV, drawn as examples/service.ts draws them. */
function lognormal(n: number, meanMs: number, cv: number, seed: number): number[] {
  const r = rng(seed);
  const s2 = Math.log1p(cv * cv);
  const mu = Math.log(meanMs) - s2 / 2;
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log1p(-r())) * Math.cos(2 * Math.PI * r());
    return Math.exp(mu + Math.sqrt(s2) * z);
  });
}

describe('serviceTimeStats', () => {
  it('computes the worked example of the module header', () => {
    const st = serviceTimeStats([20, 10, 10, 10, 10])!;
    expect(st.samples).toBe(5);
    expect(st.meanMs).toBe(12);
    expect(st.stdDevMs).toBeCloseTo(Math.sqrt(20), 3);
    expect(st.cv).toBeCloseTo(Math.sqrt(20) / 12, 4);
    expect(st.quantilesMs).toEqual({ p50: 10, p90: 16, p99: 19.6, p999: 19.96 });
    expect(st.minMs).toBe(10);
    expect(st.maxMs).toBe(20);
  });

  it('keeps sub-millisecond precision (µs)', () => {
    const st = serviceTimeStats(Array.from({ length: 1001 }, (_, i) => 1 + i / 1000))!;
    // 1.000 … 2.000 ms in 1 µs steps: the q-quantile is exactly 1 + q ms.
    expect(st.quantilesMs).toEqual({ p50: 1.5, p90: 1.9, p99: 1.99, p999: 1.999 });
    expect(st.meanMs).toBe(1.5);
  });

  it('makes the quantiles strictly increasing when the service time is fixed', () => {
    const st = serviceTimeStats(Array.from({ length: 500 }, () => 20))!;
    expect(st.cv).toBe(0);
    const q = st.quantilesMs;
    expect(q.p50).toBe(20);
    expect(q.p90).toBeCloseTo(20 + QUANTILE_NUDGE_MS, 9);
    expect(q.p50 < q.p90 && q.p90 < q.p99 && q.p99 < q.p999).toBe(true);
    expect(q.p999 - q.p50).toBeLessThan(4 * QUANTILE_NUDGE_MS);
  });

  it('nudges only the quantiles that are not above the one before', () => {
    expect(strictlyIncreasing({ p50: 10, p90: 10, p99: 12, p999: 12 })).toEqual({
      p50: 10,
      p90: 10.000001,
      p99: 12,
      p999: 12.000001,
    });
    expect(strictlyIncreasing({ p50: 1, p90: 2, p99: 3, p999: 4 })).toEqual({ p50: 1, p90: 2, p99: 3, p999: 4 });
  });

  it('is undefined for fewer than 2 samples', () => {
    expect(serviceTimeStats([])).toBeUndefined();
    expect(serviceTimeStats([5])).toBeUndefined();
  });

  it('measures a lognormal CV of 2 as clearly above 1, and an exponential as about 1', () => {
    // 2,000 samples (the probe's default): the sample CV of a heavy-tailed lognormal is biased low
    // and noisy, but over 20 seeds it never falls near 1.
    for (let seed = 1; seed <= 20; seed++) {
      const st = serviceTimeStats(lognormal(2000, 10, 2, seed))!;
      expect(st.cv, `seed ${seed}`).toBeGreaterThan(1.3);
      expect(st.meanMs, `seed ${seed}`).toBeGreaterThan(7);
      expect(st.meanMs, `seed ${seed}`).toBeLessThan(13);
    }
    const r = rng(7);
    const expo = serviceTimeStats(Array.from({ length: 2000 }, () => -Math.log1p(-r()) * 10))!;
    expect(expo.cv).toBeGreaterThan(0.9);
    expect(expo.cv).toBeLessThan(1.1);
    // Exponential p99 = mean · ln 100 = 46.1 ms.
    expect(expo.quantilesMs.p99).toBeGreaterThan(38);
    expect(expo.quantilesMs.p99).toBeLessThan(55);
  });

  it('distributionIssue: too few samples, or a mean carried by outliers above p99.9, is not a distribution', () => {
    const tight = Array.from({ length: 2000 }, (_, i) => 10 + (i % 7) / 100);
    expect(distributionIssue(serviceTimeStats(tight)!)).toBeUndefined();
    expect(distributionIssue(serviceTimeStats(tight.slice(0, MIN_PROBE_SAMPLES))!)).toBeUndefined();
    expect(distributionIssue(serviceTimeStats(tight.slice(0, MIN_PROBE_SAMPLES - 1))!)).toContain(
      '199 successful sequential requests, fewer than the 200',
    );
    // One 5 s stall among 1,999 requests of ~10 ms: mean 12.5 ms, p99.9 10.06 ms.
    const stalled = serviceTimeStats([...tight.slice(0, 1999), 5000])!;
    expect(stalled.meanMs).toBeGreaterThan(stalled.quantilesMs.p999);
    expect(distributionIssue(stalled)).toContain('below its mean');
  });

  it('quantileSorted interpolates between order statistics (type 7)', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
  });
});
