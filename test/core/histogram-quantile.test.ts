// The latency a controller reads from Prometheus is histogram_quantile over the service's buckets,
// not the true percentile: it interpolates linearly inside the bucket the rank falls in. The
// calibrator compares it with the model read the same way (pool.ts histogramQuantileMs). Ground
// truth here: a discrete-event pool (test/support/mgc-sim.ts, independent of src/core) whose
// responses are counted into the client libraries' default buckets and read as Prometheus reads them
// (the same read against a real Prometheus: test/e2e/controller-histogram.test.ts).
import { describe, expect, it } from 'vitest';
import { calibrate, initialCalibration, type CalibrationState } from '../../src/core/calibrate.ts';
import { coarseBuckets, decide, initialDecideState, sizingCapacity } from '../../src/core/decide.ts';
import { histogramQuantileMs, latencyPercentileMs } from '../../src/core/pool.ts';
import { DEFAULT_HISTOGRAM_BOUNDS_MS } from '../../src/simulator/truth.ts';
import { model } from './decide-model.ts';
import { histogramRead } from '../support/histogram.ts';
import { exponential, percentile, simulateFifo } from '../support/mgc-sim.ts';

/** prom-client's and client_golang's default bounds, ms (up to 10 s). */
const DEFAULT_BOUNDS_MS = DEFAULT_HISTOGRAM_BOUNDS_MS;

// The e2e's service: 20 ms exponential, 4 per pod, 10 pods, 1,750 rps (ρ 0.875).
const spec = model(
  {},
  {
    demandRps: 1750,
    instance: { serviceTimeMs: 20, concurrency: 4 },
    slo: { latencyMs: 100, percentile: 99 },
    targetUtilization: 0.9,
    replicas: { min: 1, max: 40 },
  },
);
const shape = { demandRps: 1750, serviceTimeMs: 20, concurrency: 4, loadBalancing: 'leastRequests' as const };

describe('histogram_quantile of a pool: the model read through the buckets', () => {
  const sim = simulateFifo({ arrivalRps: 1750, sampler: exponential(20), servers: 40, requests: 400_000, seed: 3 });

  it('reads the p99 5 % over the true one with the default buckets, as the pool measured through them does', () => {
    const truth = percentile(sim.responseMs, 99);
    const read = histogramRead(0.99, DEFAULT_BOUNDS_MS, sim.responseMs);
    // The model's true p99 is the simulation's, within its noise…
    expect(latencyPercentileMs(shape, 10, 99) / truth).toBeGreaterThan(0.98);
    expect(latencyPercentileMs(shape, 10, 99) / truth).toBeLessThan(1.02);
    // …but the histogram reads 4–7 % over it: the bucket (50, 100] ms holds the rank.
    expect(read / truth).toBeGreaterThan(1.04);
    expect(read / truth).toBeLessThan(1.07);
    // The model read through the same buckets is what was read.
    const model99 = histogramQuantileMs(shape, 10, 99, DEFAULT_BOUNDS_MS);
    expect(model99 / read).toBeGreaterThan(0.99);
    expect(model99 / read).toBeLessThan(1.01);
    // p99.9 lands in (100, 250]: 1.6× the true one, and the model reads it so too.
    const read999 = histogramRead(0.999, DEFAULT_BOUNDS_MS, sim.responseMs);
    expect(read999 / percentile(sim.responseMs, 99.9)).toBeGreaterThan(1.5);
    expect(histogramQuantileMs(shape, 10, 99.9, DEFAULT_BOUNDS_MS) / read999).toBeGreaterThan(0.97);
    expect(histogramQuantileMs(shape, 10, 99.9, DEFAULT_BOUNDS_MS) / read999).toBeLessThan(1.03);
  });

  it('edges: no bounds is the true percentile; a rank past the last bound reads that bound; overloaded is Infinity', () => {
    expect(histogramQuantileMs(shape, 10, 99, [])).toBe(latencyPercentileMs(shape, 10, 99));
    expect(histogramQuantileMs(shape, 10, 99, [5, 10, 25])).toBe(25);
    expect(histogramQuantileMs(shape, 8, 99, DEFAULT_BOUNDS_MS)).toBe(Infinity);
    // A finer bucket around the p99 reads closer to the truth.
    const fine = histogramQuantileMs(shape, 10, 99, [50, 80, 90, 95, 100, 250]);
    expect(Math.abs(fine / latencyPercentileMs(shape, 10, 99) - 1)).toBeLessThan(0.01);
  });

  it('calibrating on the histogram read: an exact model is confirmed with the bounds, read 5 % slow and sized without', () => {
    // 15-s rounds over 1-min windows of the pool (105,000 requests each), as the controller reads them.
    const run = (bounds: readonly number[] | undefined, seed: number, trueMs = 20) => {
      let state: CalibrationState = initialCalibration();
      let cal;
      for (let i = 0; i < 24; i++) {
        const w = simulateFifo({
          arrivalRps: 1750,
          sampler: exponential(trueMs),
          servers: 40,
          requests: 105_000,
          warmup: 2000,
          seed: seed * 100 + i,
        });
        const r = calibrate(
          spec,
          state,
          {
            demandRps: 1750,
            ready: 10,
            measuredMs: histogramRead(0.99, DEFAULT_BOUNDS_MS, w.responseMs),
            requests: w.responseMs.length,
            windowSeconds: 60,
            ...(bounds ? { histogramBoundsMs: bounds } : {}),
          },
          15 * i,
        );
        state = r.state;
        cal = r.calibration;
      }
      return cal!;
    };
    const withBounds = run(DEFAULT_BOUNDS_MS, 1);
    const exact = withBounds;
    expect(withBounds.histogram).toBe(true);
    expect(withBounds.error).toBeGreaterThan(0.98);
    expect(withBounds.error).toBeLessThan(1.02);
    expect(sizingCapacity(spec.instance, undefined, withBounds)).toBeUndefined();
    // Read against the true percentile, the interpolation is taken for a slower service and sized.
    const without = run(undefined, 1);
    expect(without.error).toBeGreaterThan(1.03);
    expect(sizingCapacity(spec.instance, undefined, without)?.serviceTimeMs).toBeGreaterThan(20.6);
    // A service 5 % slower than its spec is still corrected through the buckets.
    const slower = run(DEFAULT_BOUNDS_MS, 2, 21);
    expect(slower.scale).toBeGreaterThan(1.03);
    expect(slower.scale).toBeLessThan(1.08);
    expect(sizingCapacity(spec.instance, undefined, slower)?.serviceTimeMs).toBeGreaterThan(20.6);
    // And 3 % slower, which moves the read only ~1 % (the bucket (50, 100] ms compresses it:
    // sensitivity 0.36): judged as the scale it implies, past 2 %, it is corrected and sized with.
    const three = run(DEFAULT_BOUNDS_MS, 3, 20.6);
    expect(exact.sensitivity).toBeGreaterThan(0.2);
    expect(exact.sensitivity).toBeLessThan(0.45);
    expect(three.error).toBeLessThan(1.015);
    expect(three.scale).toBeGreaterThan(1.02);
    expect(three.scale).toBeLessThan(1.045);
    expect(sizingCapacity(spec.instance, undefined, three)?.serviceTimeMs).toBeGreaterThan(20.4);
    // The person is told: the bucket the read fell in, what 3 % slower reads as, and bounds to add.
    expect(withBounds.bucketMs).toEqual([50, 100]);
    expect(coarseBuckets(withBounds)).toMatch(
      /^the latency histogram reads p99 inside its bucket 50–100 ms, where a service 3 % slower reads only 1\.\d % slower \(the read moves 0\.3\d % per 1 % of service time\): bounds near 98 ms \(e\.g\. 78, 88, 98, 110 ms\) would check the model 3× as sharply/,
    );
    const d = decide(
      spec,
      initialDecideState(),
      { demandRps: 1750, readyReplicas: 10, currentReplicas: 10, calibration: withBounds },
      0,
    ).decision;
    expect(d.checkWarnings).toEqual([coarseBuckets(withBounds)]);
    // Not without a histogram, nor through bounds that move the read with the service.
    expect(coarseBuckets(without)).toBeUndefined();
    expect(coarseBuckets({ ...withBounds, sensitivity: 0.9 })).toBeUndefined();
  });
});
