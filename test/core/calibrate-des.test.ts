// The calibrated loop against a discrete-event simulation of the pool it sizes (test/support/
// mgc-sim.ts: one FIFO queue at the balancer, independent of src/core). Every 6 s the simulated
// pool serves a window of Poisson arrivals at the current count; calibrate() reads what a balancer
// holding the queue measures (the response's p99, the wait's p99, the mean time at an instance);
// planService() sizes with the calibrated service time (sizingCapacity, as decide() does); the
// count moves to it. Ground truth: the fewest instances at which the same simulation meets the SLO.
import { describe, expect, it } from 'vitest';
import {
  calibrate,
  CALIBRATION,
  initialCalibration,
  type AtInstance,
  type Calibration,
  type LatencySample,
} from '../../src/core/calibrate.ts';
import { sizingCapacity } from '../../src/core/decide.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { planService } from '../../src/core/plan.ts';
import { model } from './decide-model.ts';
import {
  exponential,
  fixed,
  lognormal,
  percentile,
  percentiles,
  simulateFifo,
  type ServiceDistribution,
} from '../support/mgc-sim.ts';

const RPS = 500;
const WINDOW_S = 6;

// planService() reads no behavior: decide-model's service with this test's pool, SLO and target.
const spec = (over: Partial<ServiceModel>): ServiceModel =>
  model(
    {},
    {
      demandRps: RPS,
      instance: { serviceTimeMs: 20, concurrency: 4 },
      slo: { latencyMs: 40, percentile: 99 },
      targetUtilization: 0.9,
      replicas: { min: 1, max: 20 },
      ...over,
    },
  );

/**
 * A request's time at the instance on a busy 2-core host (docs/benchmarks.md, "A tight SLO through
 * the local balancer"): the 20-ms sleep, 1.5 ms of hop, and one request in ten delayed further by
 * the host's scheduling (exponential, mean `lateMs`): for 6 ms, mean 22.1 ms and p99 ≈ 21.5 +
 * 6·ln 10 = 35.3 ms. None of it is shortened by more instances.
 */
const hostTail =
  (lateMs: number): Truth =>
  () => ({
    spec: `host tail ${lateMs}`,
    meanMs: 21.5 + 0.1 * lateMs,
    cv: NaN,
    sample: (rng) => 21.5 + (rng() < 0.1 ? -lateMs * Math.log1p(-rng()) : 0),
    quantileMs: () => NaN,
  });

/** The service times a pool of n instances serves with (the host's tail may grow with n). */
type Truth = (instances: number) => ServiceDistribution;

function window(truth: Truth, instances: number, seed: number, withWait: boolean, m: ServiceModel): LatencySample {
  const rps = m.demandRps;
  const r = simulateFifo({
    arrivalRps: rps,
    sampler: truth(instances),
    servers: instances * m.instance.concurrency,
    requests: rps * WINDOW_S,
    warmup: 500,
    seed,
  });
  return {
    demandRps: rps,
    ready: instances,
    measuredMs: percentile(r.responseMs, 99),
    requests: r.responseMs.length,
    percentile: 99,
    ...(withWait
      ? { split: { waitMs: percentile(r.waitMs, 99), atInstance: atInstance(r.responseMs, r.waitMs) } }
      : {}),
  };
}

/** What the balancer measures from dispatch to answer: response − wait, per request. */
function atInstance(response: Float64Array, wait: Float64Array): AtInstance {
  const t = response.map((x, i) => x - wait[i]!);
  const [p50Ms, p90Ms, p99Ms, p999Ms] = percentiles(t, [50, 90, 99, 99.9]) as [number, number, number, number];
  return { meanMs: t.reduce((a, b) => a + b, 0) / t.length, p50Ms, p90Ms, p99Ms, p999Ms };
}

/**
 * Ten minutes of the closed loop from the spec's own plan; the counts it held in its last 5
 * minutes, the highest count and scale it took and how many windows it sized in a measured shape.
 */
function closedLoop(model: ServiceModel, truth: Truth, withWait: boolean) {
  let state = initialCalibration();
  let n = planService(model).replicas;
  const counts: number[] = [];
  let last: Calibration | undefined;
  let maxScale = 0;
  let highest = n;
  let shaped = 0;
  for (let k = 0; k <= 100; k++) {
    const r = calibrate(model, state, window(truth, n, 1000 + k, withWait, model), k * WINDOW_S);
    state = r.state;
    last = r.calibration;
    maxScale = Math.max(maxScale, r.calibration.scale);
    if (r.calibration.serviceTime) shaped++;
    const capacity = sizingCapacity(model.instance, undefined, r.calibration);
    const plan = planService(model, capacity ? { capacity } : {});
    n = Math.min(model.replicas.max, plan.replicas);
    highest = Math.max(highest, n);
    if (k >= 50) counts.push(n);
  }
  const capacity = sizingCapacity(model.instance, undefined, last!);
  return {
    counts,
    scale: last!.scale,
    maxScale,
    highest,
    shaped,
    last: last!,
    plan: planService(model, capacity ? { capacity } : {}),
  };
}

/** p99 over five 6-s windows at `instances`, from seeds the loop never used. */
function p99At(truth: Truth, instances: number): number {
  const r = simulateFifo({
    arrivalRps: RPS,
    sampler: truth(instances),
    servers: instances * 4,
    requests: RPS * 30,
    seed: 7,
  });
  return percentile(r.responseMs, 99);
}

function fewestMeeting(truth: Truth, sloMs: number): number {
  for (let n = 1; n <= 40; n++) if (p99At(truth, n) <= sloMs) return n;
  return Infinity;
}

describe('calibration against a simulated pool: more instances only where they help', () => {
  it('a host tail at the instance is not read as a slower service (p99 ≤ 40 ms, 20 ms × 4, 500 rps)', () => {
    const model = spec({ instance: { serviceTimeMs: 20, concurrency: 4, serviceTime: { cv: 0, source: 'spec' } } });
    const truth = fewestMeeting(hostTail(6), 40);
    expect(truth).toBe(4);
    const loop = closedLoop(model, hostTail(6), true);
    expect(new Set(loop.counts)).toEqual(new Set([truth]));
    expect(loop.scale).toBeGreaterThan(1.05); // a slot is held 22.1 ms, not 20
    expect(loop.scale).toBeLessThan(1.2);
  });

  it('a host tail past the SLO on its own: the count stays what carries the load, the plan says no count meets it', () => {
    // One request in ten 9 ms late on average: the time at the instance alone has p99 ≈ 21.5 +
    // 9·ln 10 = 42.2 ms.
    const model = spec({ instance: { serviceTimeMs: 20, concurrency: 4, serviceTime: { cv: 0, source: 'spec' } } });
    expect(fewestMeeting(hostTail(9), 40)).toBe(Infinity);
    const loop = closedLoop(model, hostTail(9), true);
    expect(Math.max(...loop.counts)).toBeLessThanOrEqual(4);
    expect(loop.plan.feasible).toBe(false);
    // Read from the response alone, the same windows take the scale to ~2 and the count to 6–8
    // (the field report: 4 → 8 on a 2-core host), none of which the simulation rewards.
    const whole = closedLoop(model, hostTail(9), false);
    expect(Math.max(...whole.counts)).toBeGreaterThanOrEqual(6);
    expect(whole.scale).toBeGreaterThan(1.6);
    expect(p99At(hostTail(9), Math.max(...whole.counts))).toBeGreaterThan(40);
  });

  it('a release twice as slow is still read in full: the scale reaches 2 and the count meets the SLO again', () => {
    const model = spec({
      slo: { latencyMs: 100, percentile: 99 },
      instance: { serviceTimeMs: 20, concurrency: 4, serviceTime: { cv: 0, source: 'spec' } },
    });
    const slow: Truth = () => fixed(40);
    const loop = closedLoop(model, slow, true);
    expect(loop.scale).toBeGreaterThan(1.9);
    expect(loop.scale).toBeLessThan(2.2);
    const truth = fewestMeeting(slow, 100);
    for (const n of new Set(loop.counts)) expect(n).toBeGreaterThanOrEqual(truth);
  });

  it('a service-time tail heavier than the spec says is sized in the shape measured, and the SLO holds', () => {
    // Spec: exponential (CV 1). Truth: lognormal CV 2 at the same 20-ms mean: p99 171 ms where the
    // spec's says 92, and longer waits behind the long requests. Spec-sized, 3 instances (168 ms).
    const model = spec({ slo: { latencyMs: 195, percentile: 99 }, targetUtilization: 0.97 });
    const heavy: Truth = () => lognormal(2, 20);
    const truth = fewestMeeting(heavy, 195);
    const loop = closedLoop(model, heavy, true);
    for (const n of new Set(loop.counts)) expect(p99At(heavy, n)).toBeLessThanOrEqual(250);
    expect(Math.min(...loop.counts)).toBeGreaterThanOrEqual(truth);
    expect(Math.max(...loop.counts)).toBeLessThanOrEqual(truth + 1);
    // The shape sized with is the one served: lognormal CV 2's p99 is 171 ms (exponential: 92).
    const p99 = loop.last.serviceTime?.quantilesMs?.p99 ?? 0;
    expect(Math.abs(p99 / heavy(1).quantileMs(0.99) - 1)).toBeLessThan(0.15);
  });

  it("a pool that is what its spec says is read as its spec: a window's noise is no slower service", () => {
    // examples/graph-run.yaml's db: 20 ms exponential, one request at a time, 60 rps, its share of
    // the end-to-end SLO p99 ≤ 94.5 ms, 2.6 % past the service's own p99 (92.1 ms): a shape read
    // 3 % heavier finds no count near the plan's. A 6-s window holds ~360 requests; its p99 moves by
    // ±11 %, its mean by ±5 %. Taken in as they came, the scale only ever rose (it may not fall
    // below 1) and the run went 4 → 7 instances.
    const model = spec({
      demandRps: 60,
      instance: { serviceTimeMs: 20, concurrency: 1 },
      slo: { latencyMs: 94.5, percentile: 99 },
    });
    const planned = planService(model).replicas;
    expect(planned).toBe(4);
    // Ground truth: the plan's count meets the SLO in the simulation (an hour of requests).
    const r = simulateFifo({ arrivalRps: 60, sampler: exponential(20), servers: planned, requests: 216_000, seed: 5 });
    expect(percentile(r.responseMs, 99)).toBeLessThanOrEqual(94.5);
    const loop = closedLoop(model, () => exponential(20), true);
    expect(loop.maxScale).toBeLessThan(1.03);
    expect(loop.shaped).toBeLessThanOrEqual(5); // of 101 windows
    expect(loop.highest).toBeLessThanOrEqual(planned + 1);
  });
});

describe('a service a little slower than its spec, read through a histogram (the whole response, no split)', () => {
  // The controller's `latency:` query gives one p99 per window, no wait or time at the instance
  // apart. At ~670 rps on 4 instances of 4 slots (ρ 0.86) a window of 15 s holds ~10,000 requests,
  // whose p99 counts as evidence only 4.3 % past the spec's: a service 3 % slower never got there,
  // so the scale stayed at 1 and decide() sized it as the spec (the bench's step at 2,000 rps, true
  // service times 3 % longer: 6.3 % of the week violating, calibrated or not). The smoothed error
  // stands on ~11.6 windows' requests and counts past 2 % (CALIBRATION.tolerance; its noise 1.3 %). Truth: each window's p99 is that of
  // 10,000 requests of a simulated pool (Poisson arrivals, one queue before 16 slots, exponential).
  const RATE = 667;
  const PER_WINDOW = 10_000;
  const WINDOWS = 60;
  const spec20 = spec({ demandRps: RATE, slo: { latencyMs: 100, percentile: 99 } });

  /** The scale after each of WINDOWS windows 15 s apart, of a pool whose mean service is `meanMs`. */
  function scales(meanMs: number): { last: Calibration; scales: number[] } {
    const r = simulateFifo({
      arrivalRps: RATE,
      sampler: exponential(meanMs),
      requests: PER_WINDOW * WINDOWS,
      seed: 3,
      servers: 16,
    });
    let state = initialCalibration();
    let last: Calibration | undefined;
    const out: number[] = [];
    for (let i = 0; i < WINDOWS; i++) {
      const window = r.responseMs.subarray(i * PER_WINDOW, (i + 1) * PER_WINDOW);
      const sample: LatencySample = {
        demandRps: RATE,
        ready: 4,
        measuredMs: percentile(window, 99),
        requests: PER_WINDOW,
      };
      const c = calibrate(spec20, state, sample, i * 15);
      state = c.state;
      last = c.calibration;
      out.push(c.calibration.scale);
    }
    return { last: last!, scales: out };
  }

  it('3 % slower: the scale reaches ~1.03 from the smoothed error, and decide() sizes with it', () => {
    const { last, scales: s } = scales(20.6);
    const late = s.slice(-20);
    expect(Math.min(...late)).toBeGreaterThan(1.015);
    expect(Math.max(...late)).toBeLessThan(1.06);
    expect(sizingCapacity(spec20.instance, undefined, last)?.serviceTimeMs).toBeGreaterThan(20.3);
  });

  it("as its spec says: the scale stays within the 2 % decide() sizes with, whatever a window's noise", () => {
    // Measured over seeds 1–9: the last 20 windows' highest scale 1.0004–1.0138 (a window past its
    // own noise, taken in and let go); 3 % slower, the lowest 1.025–1.037.
    const { last, scales: s } = scales(20);
    expect(Math.max(...s.slice(-20))).toBeLessThan(CALIBRATION.tolerance);
    expect(sizingCapacity(spec20.instance, undefined, last)).toBeUndefined();
  });
});
