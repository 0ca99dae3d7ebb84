import { describe, expect, it } from 'vitest';
import { decide, initialDecideState } from '../../src/core/decide.ts';
import { emptyHistory, recordDemand } from '../../src/core/forecast.ts';
import { planService } from '../../src/core/plan.ts';
import { runWhatIf, snapshotCapacity, whatIfRequestSchema } from '../../src/server/dashboard/whatif.ts';
import { mulberry32 } from '../../src/simulator/synthetic.ts';
import { snapshot, webModel } from './fixtures.ts';

describe('runWhatIf', () => {
  const model = webModel();

  it('answers what planService answers for the asked demand (same core, no copy)', () => {
    for (const demandRps of [0, 40, 160, 240, 500]) {
      const r = runWhatIf(model, { demandRps }, undefined);
      const p = planService({ ...model, demandRps }, { demandRps });
      expect(r.plan.replicas).toBe(p.replicas);
      expect(r.plan.binding).toBe(p.binding);
      expect(r.input.demandRps).toBe(demandRps);
    }
  });

  it('more demand never needs fewer instances', () => {
    let prev = 0;
    for (let d = 0; d <= 600; d += 50) {
      const n = runWhatIf(model, { demandRps: d }, undefined).plan.replicas;
      expect(n).toBeGreaterThanOrEqual(prev);
      prev = n;
    }
  });

  it('a tighter SLO needs at least as many instances', () => {
    const loose = runWhatIf(model, { demandRps: 240, latencyMs: 1000 }, undefined).plan.replicas;
    const tight = runWhatIf(model, { demandRps: 240, latencyMs: 80 }, undefined).plan.replicas;
    expect(tight).toBeGreaterThanOrEqual(loose);
    const r = runWhatIf(model, { demandRps: 240, latencyMs: 80, percentile: 95 }, undefined);
    expect(r.input.slo).toEqual({ latencyMs: 80, percentile: 95 });
  });

  it('without a demand it sizes for what the running loop sized for, and reports the current counts', () => {
    const snap = snapshot();
    const r = runWhatIf(model, {}, snap);
    expect(r.input.demandRps).toBe(snap.decision?.sizedForRps);
    expect(r.current).toEqual({ desired: snap.replicas.desired, ready: snap.replicas.ready });
    expect(r.explanation.at(-1)).toContain(`${r.plan.replicas} instances`);
  });

  it("under ForecastWorstMiss, what-if at the loop's settings asks what the loop recommends", () => {
    // 400 minutes at 18,000 rps ± 5 % on the bench's service: the loop runs 104 (the worst miss
    // within the SLO), not the 110 of the margin under the target; what-if plans sizedForRps under
    // the target, so that must be a demand 104 instances carry there, not the 20,540 rps of the SLO.
    const bench = webModel({
      instance: { serviceTimeMs: 20, concurrency: 4 },
      targetUtilization: 0.9,
      replicas: { min: 1, max: 1000 },
      slo: { latencyMs: 100, percentile: 99 },
    });
    const rand = mulberry32(11);
    let demand = emptyHistory();
    for (let t = 0; t < 400 * 60; t += 60) demand = recordDemand(demand, t, 18000 * (1 + (rand() * 2 - 1) * 0.05), 120);
    const loop = decide(
      bench,
      { ...initialDecideState(), demand },
      { demandRps: 18000, readyReplicas: 100, currentReplicas: 100 },
      400 * 60,
    ).decision;
    expect(loop.reasons.some((x) => x.code === 'ForecastWorstMiss')).toBe(true);
    const snap = snapshot({
      service: {
        name: 'web',
        loadBalancing: 'leastRequests',
        slo: { latencyMs: 100, percentile: 99 },
        capacity: { serviceTimeMs: 20, concurrency: 4, source: 'spec' },
      },
      replicas: { desired: 100, current: 100, ready: 100, min: 1, max: 1000, fitLimit: null },
      decision: { ...snapshot().decision!, recommended: loop.recommended, sizedForRps: loop.sizedForRps! },
    });
    const r = runWhatIf(bench, {}, snap);
    expect(r.input.demandRps).toBe(loop.sizedForRps);
    expect(r.plan.replicas).toBe(loop.recommended);
  });

  it('the host fit limit caps the answer', () => {
    const snap = snapshot({ replicas: { desired: 2, current: 2, ready: 2, min: 1, max: 50, fitLimit: 2 } });
    const r = runWhatIf(webModel({ replicas: { min: 1, max: 50 } }), { demandRps: 2000 }, snap);
    expect(r.plan.replicas).toBeLessThanOrEqual(2);
    expect(r.plan.needed).toBeGreaterThan(2);
    expect(r.plan.feasible).toBe(false);
  });

  it('sizes with the calibrated capacity the loop sizes with, and says so', () => {
    // A loop that measured slower answers than the spec says: service times ×1.24.
    const cal = {
      scale: 1.24,
      predictedMs: 200,
      calibratedMs: 248,
      measuredMs: 250,
      percentile: 99,
      error: 1.25,
      samples: 40,
    };
    const snap = snapshot({ model: { calibrating: true, ...cal } });
    const util = webModel({ slo: undefined }); // utilization binds: its message names the capacity
    const loop = decide(
      util,
      initialDecideState(),
      { demandRps: 193.5, readyReplicas: 3, currentReplicas: 3, calibration: cal },
      0,
    );
    const r = runWhatIf(util, { demandRps: 193.5 }, snap);
    expect(r.plan.replicas).toBe(loop.decision.recommended);
    const sized = (lines: string[]) => lines.find((l) => l.includes('rps per instance ×'));
    const loopLine = sized(loop.decision.reasons.map((x) => x.message))!;
    // "193.5 rps ÷ (64.52 rps per instance × 0.7)": the same numbers, not the spec's 80.
    expect(loopLine).toMatch(/64\.5\d* rps per instance/);
    expect(sized(r.explanation)).toContain(/\(([\d.]+ rps per instance × [\d.]+)\)/.exec(loopLine)![1]);
    expect(r.capacity.scale).toBe(1.24);
    expect(r.explanation[0]).toMatch(/^capacity \(calibrated ×1\.24\): service time 62 ms, 64\.52 rps per instance/);
    expect(snapshotCapacity(snap).perInstanceRps).toBeCloseTo(64.516, 2);
  });

  it('no calibration where the loop does not apply one: learned capacity, not calibrating, a small scale alone', () => {
    const cal = { scale: 1.5, predictedMs: 200, calibratedMs: 300, measuredMs: 300, error: 1.5, samples: 40 };
    const learned = snapshot({ model: { percentile: 99, calibrating: true, ...cal } });
    learned.service.capacity = { serviceTimeMs: 60, concurrency: 4, source: 'learned' };
    expect(snapshotCapacity(learned)).toMatchObject({ serviceTimeMs: 60, scale: 1, calibrated: false });
    expect(snapshotCapacity(snapshot({ model: { percentile: 99, calibrating: false, ...cal } }))).toMatchObject({
      scale: 1,
      calibrated: false,
    });
    expect(snapshotCapacity(snapshot({ model: { percentile: 99, calibrating: true, ...cal } }))).toMatchObject({
      scale: 1.5,
      calibrated: true,
    });
    // Within 5 % the scale is sized with only where the responses' error is past 2 % too (sizingCapacity).
    const small = (scale: number, error: number, wholeResponse = true) =>
      snapshotCapacity(snapshot({ model: { percentile: 99, calibrating: true, ...cal, scale, error, wholeResponse } }))
        .scale;
    expect(small(1.04, 1.03, false)).toBe(1);
    expect(small(1.04, 1.01)).toBe(1);
    expect(small(1.015, 1.5)).toBe(1);
    expect(small(1.04, 1.03)).toBeCloseTo(1.04, 6);
    const plain = runWhatIf(model, { demandRps: 100 }, snapshot());
    expect(plain.capacity).toEqual({ serviceTimeMs: 50, concurrency: 4, source: 'spec', scale: 1 });
    expect(plain.explanation[0]).not.toContain('calibrated');
  });

  it('the request schema refuses unknown keys and out-of-range values', () => {
    expect(whatIfRequestSchema.safeParse({ demandRps: -1 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ percentile: 100 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ targetUtilization: 1.5 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ bogus: 1 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ demandRps: 10, latencyMs: 100 }).success).toBe(true);
  });
});
