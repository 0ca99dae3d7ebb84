import { describe, expect, it } from 'vitest';
import { calibrate, initialCalibration, type Calibration, type CalibrationState } from '../../src/core/calibrate.ts';
import { decide, initialDecideState } from '../../src/core/decide.ts';
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';
import { poolShape } from '../../src/core/plan.ts';
import { latencyPercentileMs } from '../../src/core/pool.ts';

const model: ServiceModel = {
  name: 'api',
  demandRps: 0,
  instance: { serviceTimeMs: 20, concurrency: 4 },
  loadBalancing: 'leastRequests',
  slo: { latencyMs: 200, percentile: 99 },
  targetUtilization: 0.9,
  replicas: { min: 1, max: 100 },
  availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
  startupSeconds: 10,
  behavior: defaultBehavior(),
};

// What a service whose requests take `ms` on average measures at p99 (exponential, as the spec says).
const measured = (ms: number, demandRps: number, ready: number): number =>
  latencyPercentileMs({ demandRps, serviceTimeMs: ms, concurrency: 4, loadBalancing: 'leastRequests' }, ready, 99);

describe('calibrate: the model checked against measured latency', () => {
  it('a right model stays at scale 1 with error 1', () => {
    const r = calibrate(
      model,
      initialCalibration(),
      { demandRps: 150, ready: 2, measuredMs: measured(20, 150, 2), requests: 900 },
      0,
    );
    expect(r.calibration.scale).toBeCloseTo(1, 2);
    expect(r.calibration.error).toBeCloseTo(1, 3);
    expect(r.calibration.predictedMs).toBeCloseTo(measured(20, 150, 2), 6);
  });

  it('service times twice the spec: the scale converges to 2, and the error shows how far the spec is off', () => {
    let s: CalibrationState = initialCalibration();
    let last;
    for (let t = 0; t <= 1200; t += 1) {
      const r = calibrate(model, s, { demandRps: 80, ready: 3, measuredMs: measured(40, 80, 3), requests: 480 }, t);
      s = r.state;
      last = r.calibration;
    }
    expect(last?.scale).toBeGreaterThan(1.95);
    expect(last?.scale).toBeLessThan(2.05);
    expect(last?.error).toBeGreaterThan(1.9);
    expect(last?.calibratedMs).toBeCloseTo(measured(40, 80, 3), 0);
  });

  it('smooths by elapsed time: half-way after one half-life', () => {
    const first = calibrate(
      model,
      initialCalibration(),
      { demandRps: 80, ready: 3, measuredMs: measured(20, 80, 3), requests: 500 },
      0,
    );
    const later = calibrate(
      model,
      first.state,
      { demandRps: 80, ready: 3, measuredMs: measured(40, 80, 3), requests: 500 },
      60,
    );
    expect(later.calibration.scale).toBeGreaterThan(Math.SQRT2 * 0.97);
    expect(later.calibration.scale).toBeLessThan(Math.SQRT2 * 1.03);
  });

  it('while the SLO stays broken a larger scale is taken four times faster; under the SLO, one half-life', () => {
    // 80 rps on 3 instances; the service now takes 40 ms (observed scale 2). SLO 200 ms.
    const start = calibrate(
      model,
      initialCalibration(),
      { demandRps: 80, ready: 3, measuredMs: measured(20, 80, 3), requests: 500 },
      0,
    ).state;
    const slow = { demandRps: 80, ready: 3, measuredMs: measured(40, 80, 3), requests: 500 };
    expect(slow.measuredMs).toBeLessThan(200);
    // Under the SLO: half-way in ln s after 15 s of a 60-s half-life is 2^(0.5·(1−2^−¼)) ≈ 1.07.
    const calm = calibrate(model, start, slow, 15).calibration.scale;
    expect(calm).toBeCloseTo(2 ** (1 - 0.5 ** 0.25), 2);
    // The same sample over a 150-ms SLO that the model (92 ms at scale 1) says is met, with the
    // model off for a while (smoothed error 2): 15 s is one (quartered) half-life, √2.
    const tight = { ...model, slo: { latencyMs: 150, percentile: 99 } };
    const offForAWhile = { ...start, logError: Math.log(2) };
    const breached = calibrate(tight, offForAWhile, slow, 15).calibration.scale;
    expect(breached).toBeCloseTo(Math.SQRT2, 2);
    // The first breach after a right model (error 1): one window is not yet a pattern, one half-life.
    expect(calibrate(tight, start, slow, 15).calibration.scale).toBeCloseTo(calm, 6);
    // Over a 50-ms SLO the model itself predicts the breach (92 ms): the load explains it, one half-life.
    const explained = { ...model, slo: { latencyMs: 50, percentile: 99 } };
    expect(calibrate(explained, offForAWhile, slow, 15).calibration.scale).toBeCloseTo(calm, 6);
    // Down is never fast: from scale 2 a window at the spec's speed moves at the normal rate.
    const high = { ...start, logScale: Math.log(2) };
    const relief = calibrate(tight, high, { ...slow, measuredMs: measured(20, 80, 3) }, 15).calibration.scale;
    expect(relief).toBeCloseTo(2 ** (0.5 ** 0.25), 2);
  });

  it('noise around the SLO does not ratchet the scale: a breach the model explains is taken slowly', () => {
    // A right model, noisy 6-s p99s: the truth ×/÷ 15 % in turn. The scale floor of 1 alone lifts the
    // mean (the ÷ windows count as 1: ≈ √1.15 = 1.07).
    const run = (m: ServiceModel): number => {
      let s = initialCalibration();
      let sum = 0;
      for (let t = 0; t <= 1800; t++) {
        const f = t % 2 === 0 ? 1.15 : 1 / 1.15;
        const sample = { demandRps: 150, ready: 2, measuredMs: measured(20, 150, 2) * f, requests: 900 };
        const r = calibrate(m, s, sample, t);
        s = r.state;
        if (t > 600) sum += r.calibration.scale;
      }
      return sum / 1200;
    };
    const calm = run(model);
    expect(calm).toBeLessThan(1.08);
    // An SLO just above the truth (×1.07): every ×1.15 window breaks it. Taken fast whenever the
    // scale moved up, that would ratchet; once the scale
    // predicts the breach itself (≥ 1.07 here) it is explained and the mean stays where it was.
    const nearSlo = run({ ...model, slo: { latencyMs: measured(20, 150, 2) * 1.07, percentile: 99 } });
    expect(Math.abs(nearSlo - calm)).toBeLessThan(0.005);
  });

  it('a window that straddles a change of the ready count is no evidence; the next whole window is', () => {
    // 3 ready, right model; then a scale-up to 4 while the 6-s window still holds 3's backlog (900 ms).
    const w = { demandRps: 80, requests: 500, windowSeconds: 6 };
    let s = calibrate(model, initialCalibration(), { ...w, ready: 3, measuredMs: measured(20, 80, 3) }, 0).state;
    s = calibrate(model, s, { ...w, ready: 3, measuredMs: measured(20, 80, 3) }, 1).state;
    const backlog = { ...w, ready: 4, measuredMs: 900 };
    for (let t = 2; t <= 6; t++) {
      const r = calibrate(model, s, backlog, t);
      expect(r.calibration.scale).toBe(s.logScale === 0 ? 1 : Math.exp(s.logScale));
      expect(r.calibration.predictedMs).toBeNull();
      s = r.state;
    }
    expect(s.samples).toBe(2);
    // 7 s after the change the window holds only 4-ready seconds: 900 ms there is a slower service.
    const whole = calibrate(model, s, backlog, 8);
    expect(whole.calibration.scale).toBeGreaterThan(1.05);
    expect(whole.state.samples).toBe(3);
    // Without a window length (a raw PromQL latency query) every sample counts, as before.
    const noWindow = calibrate(model, s, { ...backlog, windowSeconds: undefined }, 3);
    expect(noWindow.state.samples).toBe(3);
  });

  it('0 ready (a hung instance) is a change of the count too: the backlog served after it is no evidence', () => {
    // 1 ready, right model; the instance hangs: 0 ready for 12 s (too few requests to be a sample),
    // then its replacement serves the requests that waited up to 10 s at the balancer.
    const w = { demandRps: 20, requests: 250, windowSeconds: 6 };
    let s = calibrate(model, initialCalibration(), { ...w, ready: 1, measuredMs: measured(20, 20, 1) }, 0).state;
    s = calibrate(model, s, { ...w, ready: 1, measuredMs: measured(20, 20, 1) }, 1).state;
    for (let t = 2; t <= 13; t++)
      s = calibrate(model, s, { ...w, ready: 0, measuredMs: 10_000, requests: 120 }, t).state;
    const backlog = { ...w, ready: 1, measuredMs: 9_000 };
    for (let t = 14; t <= 18; t++) {
      const r = calibrate(model, s, backlog, t);
      expect(r.calibration.predictedMs).toBeNull();
      s = r.state;
    }
    expect(s.samples).toBe(2);
    expect(Math.exp(s.logScale)).toBe(1);
    // A whole window at 1 ready after that is evidence again.
    expect(calibrate(model, s, backlog, 20).state.samples).toBe(3);
  });

  it('too few requests, no ready instance or no demand change nothing; the scale stays within [1, 4]', () => {
    const s0 = initialCalibration();
    expect(calibrate(model, s0, { demandRps: 80, ready: 3, measuredMs: 500, requests: 50 }, 0).state).toEqual(s0);
    expect(calibrate(model, s0, { demandRps: 80, ready: 0, measuredMs: 500, requests: 500 }, 0).state).toEqual(s0);
    expect(calibrate(model, s0, undefined, 0).state).toEqual(s0);
    expect(
      calibrate(
        model,
        calibrate(model, s0, { demandRps: 80, ready: 3, measuredMs: 1e9, requests: 500 }, 0).state,
        { demandRps: 80, ready: 3, measuredMs: 1e9, requests: 500 },
        6000,
      ).calibration.scale,
    ).toBeCloseTo(4, 6);
    // Faster than the model: reported as error, never used to shrink capacity.
    const quick = { demandRps: 80, ready: 3, measuredMs: measured(10, 80, 3), requests: 500 };
    const fast = calibrate(model, calibrate(model, s0, quick, 0).state, quick, 6000);
    expect(fast.calibration.scale).toBe(1);
    expect(fast.calibration.error).toBeLessThan(0.6);
  });

  it("saturated (completions behind arrivals): the scale comes from throughput, past the model's own saturation point", () => {
    // 85 rps on 3 instances of 50 rps whose requests now take ~41 ms: 73 rps complete, p99 is seconds.
    const sample = { demandRps: 85, ready: 3, measuredMs: 5000, requests: 600, completionRps: 73 };
    const one = { ...model, instance: { serviceTimeMs: 20, concurrency: 1 } };
    const s = calibrate(one, initialCalibration(), sample, 0).state;
    const scale = calibrate(one, s, sample, 3000).calibration.scale;
    expect(scale).toBeGreaterThan(2);
    expect(scale).toBeLessThan(2.1);
  });

  it('a ramp is not saturation: completions trailing arrivals under the SLO say nothing of the service time', () => {
    // 545 rps arriving, 530 completing on 3 × 4 slots of 20 ms (ρ 0.9), p99 at the model's value.
    const one = { ...model, instance: { serviceTimeMs: 20, concurrency: 4 } };
    const sample = { demandRps: 545, ready: 3, measuredMs: measured(20, 545, 3), requests: 3000, completionRps: 530 };
    const s = calibrate(one, initialCalibration(), sample, 0).state;
    // The throughput formula would say 3·4·1000/530 = 22.6 ms, a scale of 1.13.
    expect(calibrate(one, s, sample, 60).calibration.scale).toBeLessThan(1.01);
  });

  it('a calibrated service time scales measured quantiles too (one shape, a slower service)', () => {
    const q = { p50: 14, p90: 46, p99: 92, p999: 138 };
    const withQ: ServiceModel = {
      ...model,
      instance: { ...model.instance, serviceTime: { cv: 1, quantilesMs: q, source: 'spec' } },
    };
    const at = (capacity?: { serviceTimeMs: number; concurrency: number }) =>
      latencyPercentileMs(poolShape(withQ, { demandRps: 1, ...(capacity ? { capacity } : {}) }), 4, 99);
    // Nearly idle: the p99 is the service time's own, so twice the mean is twice the p99.
    expect(at({ serviceTimeMs: 40, concurrency: 4 }) / at()).toBeCloseTo(2, 1);
  });

  it('the first sample only starts the clock: one slow cold-start window sets nothing', () => {
    const first = calibrate(
      model,
      initialCalibration(),
      { demandRps: 150, ready: 2, measuredMs: 5000, requests: 900 },
      0,
    );
    expect(first.calibration.scale).toBe(1);
    expect(first.calibration.samples).toBe(1);
  });

  it("a window's reading counts only past the noise of its requests; within it the window reads as the spec's", () => {
    // 360 requests (a 6-s window at 60 rps): a p99 over them is the spec's up to its 99.64th
    // percentile, 22 % past its p99 for an exponential service; a mean up to 1 + 2/√360 = 1.105 ×.
    const after = (sample: Parameters<typeof calibrate>[2], m: ServiceModel = model) => {
      const first = calibrate(m, initialCalibration(), sample, 0);
      return calibrate(m, first.state, sample, 60).calibration;
    };
    const p99 = measured(20, 150, 2);
    expect(after({ demandRps: 150, ready: 2, measuredMs: p99 * 1.15, requests: 360 }).scale).toBe(1);
    expect(after({ demandRps: 150, ready: 2, measuredMs: p99 * 1.4, requests: 360 }).scale).toBeGreaterThan(1.05);
    // The same 15 % over 3,600 requests is past their noise.
    expect(after({ demandRps: 150, ready: 2, measuredMs: p99 * 1.15, requests: 3600 }).scale).toBeGreaterThan(1.01);
    // Split at the balancer (one at a time, 60 rps on 4: the call graph's db): the mean time at
    // the instance 5 % long is noise, 20 % is a slower service.
    const db: ServiceModel = { ...model, instance: { serviceTimeMs: 20, concurrency: 1 } };
    const split = (meanMs: number, p99Ms: number) => ({
      demandRps: 60,
      ready: 4,
      measuredMs: p99Ms + 5,
      requests: 360,
      split: {
        waitMs: 0,
        atInstance: { meanMs, p50Ms: meanMs * 0.69, p90Ms: meanMs * 2.3, p99Ms, p999Ms: p99Ms * 1.5 },
      },
    });
    expect(after(split(21, 21 * 4.6), db).scale).toBe(1);
    expect(after(split(24, 24 * 4.6), db).scale).toBeGreaterThan(1.05);
    // Its shape: a p99 3 % heavier than the exponential's (4.6 × the mean) is the spec's; 30 % is
    // sized with, once the smoothing stands on enough windows for it.
    const shaped = (heavier: number) => {
      let s = initialCalibration();
      let last: Calibration | undefined;
      for (let t = 0; t <= 600; t += 6) {
        const r = calibrate(db, s, split(20, 20 * 4.605 * heavier), t);
        s = r.state;
        last = r.calibration;
      }
      return last!.serviceTime;
    };
    expect(shaped(1.03)).toBeUndefined();
    expect(shaped(1.3)?.quantilesMs?.p99).toBeCloseTo(20 * 4.605 * 1.3, 0);
  });

  it('split at the balancer: a sub-millisecond wait is no queue, the scale is the time a slot is held', () => {
    // 500 rps on 7 instances of 20 ms × 4 (28 slots, ρ 0.38): the model's p99 wait is 0. A measured
    // 0.06 ms (the event loop's turn) matched as it is would find the scale at which the model's
    // first passes 0 (~1.7); the mean time at the instance, 21.5 ms, says 1.075.
    const fixedSpec: ServiceModel = {
      ...model,
      instance: { serviceTimeMs: 20, concurrency: 4, serviceTime: { cv: 0, source: 'spec' } },
    };
    const atInstance = { meanMs: 21.5, p50Ms: 21.4, p90Ms: 21.9, p99Ms: 23, p999Ms: 25 };
    let s: CalibrationState = initialCalibration();
    let last;
    for (let t = 0; t <= 1200; t += 6) {
      const sample = { demandRps: 500, ready: 7, measuredMs: 30, requests: 3000, split: { waitMs: 0.06, atInstance } };
      const r = calibrate(fixedSpec, s, sample, t);
      s = r.state;
      last = r.calibration;
    }
    expect(last?.scale).toBeCloseTo(1.075, 2);
    // Its shape (p99 23 ÷ 21.5 = 1.07 × the mean) is heavier than the spec's fixed time: sized with.
    expect(last?.serviceTime?.quantilesMs?.p99).toBeCloseTo(23, 0);
    // A real queue (p99 wait 12 ms at 4 instances, where the model says ~3) asks for more.
    const queued = calibrate(
      fixedSpec,
      s,
      { demandRps: 500, ready: 4, measuredMs: 38, requests: 3000, split: { waitMs: 12, atInstance } },
      1206,
    );
    expect(queued.calibration.scale).toBeGreaterThan(last!.scale);
  });

  it('decide sizes with the calibrated service time and says so', () => {
    const sample = { demandRps: 150, ready: 2, measuredMs: measured(40, 150, 2), requests: 900 };
    const started = calibrate(model, initialCalibration(), sample, 0).state;
    // Fifty half-lives later the scale has converged.
    const cal = calibrate(model, started, sample, 3000).calibration;
    const obs = { demandRps: 150, readyReplicas: 2, currentReplicas: 2 };
    const plain = decide(model, initialDecideState(), obs, 1000).decision;
    const calibrated = decide(model, initialDecideState(), { ...obs, calibration: cal }, 1000).decision;
    expect(calibrated.recommended).toBeGreaterThan(plain.recommended);
    const reason = calibrated.reasons.find((r) => r.code === 'Calibrated');
    expect(reason?.message).toMatch(
      /in the last window: sizing with a service time of 40 ms \(2× the spec's\), the scale smoothed/,
    );
    expect(plain.reasons.some((r) => r.code === 'Calibrated')).toBe(false);
  });
});
