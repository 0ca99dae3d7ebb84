import { describe, expect, it } from 'vitest';
import { planService } from '../../src/core/plan.ts';
import { runWhatIf, whatIfRequestSchema } from '../../src/server/dashboard/whatif.ts';
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

  it('the host fit limit caps the answer', () => {
    const snap = snapshot({ replicas: { desired: 2, current: 2, ready: 2, min: 1, max: 50, fitLimit: 2 } });
    const r = runWhatIf(webModel({ replicas: { min: 1, max: 50 } }), { demandRps: 2000 }, snap);
    expect(r.plan.replicas).toBeLessThanOrEqual(2);
    expect(r.plan.needed).toBeGreaterThan(2);
    expect(r.plan.feasible).toBe(false);
  });

  it('the request schema refuses unknown keys and out-of-range values', () => {
    expect(whatIfRequestSchema.safeParse({ demandRps: -1 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ percentile: 100 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ targetUtilization: 1.5 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ bogus: 1 }).success).toBe(false);
    expect(whatIfRequestSchema.safeParse({ demandRps: 10, latencyMs: 100 }).success).toBe(true);
  });
});
