// The worst recent miss within the SLO (src/core/decide.ts step 2b), through the simulator: the same
// decide() at the bench's settings (20 ms, 4 at once, p99 ≤ 100 ms, utilization 0.9, startup 60 s,
// 15-s scrapes) on two days of a diurnal trace with ±10 % minute noise at a 20,000-rps peak (~100
// instances). Ground truth is the engine's per-second violation count: the claim "every recent miss
// fits the SLO" is checked against what the simulated instances served, not against the model.
import { describe, expect, it } from 'vitest';
import { rescaleToPeak } from '../../src/input/trace.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { headroomPolicy } from '../../src/simulator/policies/headroom.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';
import { benchService } from './helpers.ts';

describe('the worst recent miss within the SLO at ~100 instances (issue 15, item 5)', () => {
  // Measured: of day 2's 5,760 decisions 5,680 take it, 3.1 instances fewer on average (the bench's
  // week: 1.260 → 1.206 × the oracle), and 0 violating seconds.
  it('bounded noise: fewer instances than the margin under the target on most of day 2, no violating second', () => {
    const trace = rescaleToPeak(syntheticTrace('synthetic:diurnal,amplitude=0.6,noise=0.1,days=2'), 20000);
    const model = benchService();
    const policy = headroomPolicy({ model, scrapeSeconds: 15 });
    let ticks = 0;
    let taken = 0;
    let saved = 0;
    const r = simulate(trace, model, policy, {
      onTick: (t) => {
        if (t < 86400) return;
        ticks++;
        const d = policy.last!;
        const w = d.reasons.find((x) => x.code === 'ForecastWorstMiss');
        if (!w) return;
        taken++;
        const stacked = Number(/not the (\d+)/.exec(w.message)![1]);
        expect(d.recommended).toBeLessThan(stacked);
        saved += stacked - d.recommended;
      },
    });
    expect(taken).toBeGreaterThan(ticks / 2);
    expect(saved / taken).toBeGreaterThanOrEqual(2);
    expect(r.sloViolationSeconds).toBe(0);
  });
});
