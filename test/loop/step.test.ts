// The one loop step every acting mode takes (src/loop/step.ts): calibrate → decide → guard.
// Ground truth for "the service is twice as slow" is a discrete-event simulation of the pool
// (test/support/mgc-sim.ts), not the model under test.
import { describe, expect, it } from 'vitest';
import type { Decision } from '../../src/core/decide.ts';
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';
import { planService } from '../../src/core/plan.ts';
import { guard, initialLoopState, restoreCalibration, step, type LoopState } from '../../src/loop/step.ts';
import { exponential, percentile, simulateFifo } from '../support/mgc-sim.ts';

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
  behavior: { ...defaultBehavior(), forecast: { ...defaultBehavior().forecast, enabled: false } },
};

describe('loop step', () => {
  it('without a measurement it is decide + guard: no calibration, nothing Calibrated', () => {
    const r = step(model, initialLoopState(), { demandRps: 150, readyReplicas: 2, currentReplicas: 2 }, 100);
    expect(r.calibration).toBeUndefined();
    expect(r.decision.valid).toBe(true);
    expect(r.decision.recommended).toBe(planService(model, { demandRps: 150 }).replicas);
    expect(r.state.calibration.samples).toBe(0);
  });

  it('a service twice as slow as its spec (measured by a DES): the step sizes with the calibrated time; report-only does not', () => {
    // The truth: exponential 40-ms service times on 2 × 4 slots at 150 rps (ρ = 0.75), p99 by simulation.
    const truth = simulateFifo({ arrivalRps: 150, servers: 8, sampler: exponential(40), requests: 200_000, seed: 7 });
    const sample = { demandRps: 150, ready: 2, measuredMs: percentile(truth.responseMs, 99), requests: 900 };
    let correcting: LoopState = initialLoopState();
    let reporting: LoopState = initialLoopState();
    let last;
    let lastReport;
    for (let t = 0; t <= 600; t += 15) {
      const obs = { demandRps: 150, readyReplicas: 2, currentReplicas: 2 };
      last = step(model, correcting, obs, t, { sample, correct: true });
      correcting = last.state;
      lastReport = step(model, reporting, obs, t, { sample, correct: false });
      reporting = lastReport.state;
    }
    expect(last!.calibration!.scale).toBeGreaterThan(1.7);
    expect(last!.calibration!.scale).toBeLessThan(2.3);
    expect(last!.decision.reasons.some((x) => x.code === 'Calibrated')).toBe(true);
    const slow = { ...model, instance: { ...model.instance, serviceTimeMs: 40 } };
    expect(Math.abs(last!.decision.recommended - planService(slow, { demandRps: 150 }).replicas)).toBeLessThanOrEqual(
      1,
    );
    // Report-only: same error seen, sizing by the spec.
    expect(lastReport!.calibration!.error).toBeGreaterThan(1.5);
    expect(lastReport!.decision.reasons.some((x) => x.code === 'Calibrated')).toBe(false);
    expect(lastReport!.decision.recommended).toBe(planService(model, { demandRps: 150 }).replicas);
    expect(last!.decision.recommended).toBeGreaterThan(lastReport!.decision.recommended);
  });

  it('a shorter half-life follows a slower service faster (the same measurements, 20 s)', () => {
    const sample = { demandRps: 150, ready: 2, measuredMs: 400, requests: 900 };
    const after20s = (halfLifeSeconds: number): number => {
      let st = initialLoopState();
      let r;
      for (let t = 0; t <= 20; t += 1) {
        r = step(model, st, { demandRps: 150, readyReplicas: 2, currentReplicas: 2 }, t, {
          sample,
          correct: true,
          halfLifeSeconds,
        });
        st = r.state;
      }
      return r!.calibration!.scale;
    };
    expect(after20s(5)).toBeGreaterThan(after20s(60) * 1.2);
  });

  it('no demand: the guard holds the current count (never down on missing data)', () => {
    const r = step(model, initialLoopState(), { readyReplicas: 5, currentReplicas: 5 }, 100);
    expect(r.decision.valid).toBe(false);
    expect(r.decision.desired).toBe(5);
    const d = { valid: false, desired: 1 } as Decision;
    expect(guard(d, 3).desired).toBe(3);
    expect(guard({ ...d, valid: true }, 3).desired).toBe(1);
  });

  it('restores a persisted calibration, and starts fresh from garbage', () => {
    expect(restoreCalibration({ logScale: 0.5, logError: 0.7, samples: 3, at: 12 })).toEqual({
      logScale: 0.5,
      logError: 0.7,
      samples: 3,
      at: 12,
    });
    // The requests a measured shape stands on come back with it: without them its noise floor
    // would be the spec's own p99, and a restart would size a shape 1 % heavier as measured.
    const shaped = {
      logScale: 0,
      logError: 0,
      samples: 9,
      logShape: [-0.37, 0.83, 1.6, 1.9],
      logAtMean: 3,
      smoothedRequests: 10_400,
    };
    expect(restoreCalibration(shaped)).toEqual(shaped);
    expect(restoreCalibration({ ...shaped, smoothedRequests: -1 })).not.toHaveProperty('smoothedRequests');
    // The error a small scale is read from comes back too: a restart must not forget 3 % slow.
    expect(restoreCalibration({ ...shaped, logFit: 0.03 })).toEqual({ ...shaped, logFit: 0.03 });
    expect(restoreCalibration({ ...shaped, logFit: 'x' })).not.toHaveProperty('logFit');
    for (const bad of [
      undefined,
      null,
      'x',
      { logScale: 'a', logError: 0, samples: 1 },
      { logScale: NaN, logError: 0, samples: 1 },
    ])
      expect(restoreCalibration(bad)).toEqual({ logScale: 0, logError: 0, samples: 0 });
  });
});
