// The worst recent miss within the SLO (src/core/decide.ts step 2b), through the simulator: the same
// decide() at the bench's settings (20 ms, 4 at once, p99 ≤ 100 ms, utilization 0.9, startup 60 s,
// 15-s scrapes) on two days of a diurnal trace with ±10 % minute noise at a 20,000-rps peak (~100
// instances). Ground truth is the engine's per-second violation count: the claim "every recent miss
// fits the SLO" is checked against what the simulated instances served, not against the model.
import { describe, expect, it } from 'vitest';
import { rescaleToPeak } from '../../src/input/trace.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { headroomBurstWindow, headroomPolicy } from '../../src/simulator/policies/headroom.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';
import { trueLatencyMeter, trueModel } from '../../src/simulator/truth.ts';
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

describe('the worst miss covered up to a record the level reached before (issue 15, item 4)', () => {
  // A step to a level it then holds, 2,000-rps peak (~10 instances, one of them ~9 % of the bill):
  // 11 carry 2,085 rps within the SLO, and 2 days at the level never read past 2,000. The worst
  // miss × the central value (1,915 × 1.104 = 2,114 rps) asked 12; the record 2 % up asks 11.
  // A day after a step (a level that climbed: no record until a day of peaks is read), and a level
  // held flat from the start (a record from 4 hours in: 3 hours of peaks before the last hour).
  for (const [name, spec, from] of [
    ['a step to it, from a day after the step', 'synthetic:step,at=3600,height=3,days=3', 3600 + 86400 + 3600],
    ['a flat level, from 4 hours in', 'synthetic:step,at=0,height=3,days=1', 4 * 3600],
  ] as const) {
    it(`a held level at ~10 instances: 11, not 12, and no violating second (${name})`, () => {
      const trace = rescaleToPeak(syntheticTrace(spec), 2000);
      const model = benchService();
      const policy = headroomPolicy({ model, scrapeSeconds: 15 });
      let ticks = 0;
      let bounded = 0;
      const counts = new Map<number, number>();
      const r = simulate(trace, model, policy, {
        series: true,
        onTick: (t, _v, desired) => {
          if (t < from) return;
          ticks++;
          counts.set(desired, (counts.get(desired) ?? 0) + 1);
          const w = policy.last!.reasons.find((x) => x.code === 'ForecastWorstMiss');
          if (!w?.message.includes('the highest of the 2 days before the last hour')) return;
          bounded++;
          expect(Number(/not the (\d+)/.exec(w.message)![1])).toBeGreaterThan(policy.last!.recommended);
        },
      });
      // ~83 % of the decisions take the record; ~48 % ask 11 (the rest 12, where the central value, a
      // minute's peak, passes the 1,980 rps 11 carry at the 0.9 target). Without the record: none.
      expect(bounded).toBeGreaterThan(ticks * 0.7);
      expect(counts.get(11) ?? 0).toBeGreaterThan(ticks / 3);
      // The engine's own per-second count, from the bucket holding `from` on.
      const s = r.series!;
      const after = s.violations.slice(Math.floor(from / s.bucketSeconds)).reduce((a, b) => a + b, 0);
      expect(after).toBe(0);
    });
  }
});

describe('under a record the target reads the level where measured latency confirms the model (issue 15, items 4 and 5)', () => {
  // A flat level at a 20,000-rps peak (±5 % minute noise around ~19,050 rps, ~100 instances): the
  // target on a minute's peak (19,000–19,600 rps at 0.9) asks 106–110 and the 300-s window holds the
  // highest; on the last half hour's mean it asks what the level asks, but only where the loop's
  // latency "measured" (the simulation's true latency at the demand and count seen, as
  // `headroom+calibrated`) matches the model. Ground truth: the trace's own mean and the engine's
  // per-second violation count under the true service times.
  const trace = rescaleToPeak(syntheticTrace('synthetic:step,at=0,height=3,days=1'), 20000);
  const from = 6 * 3600;
  const level = trace.rps.slice(from).reduce((a, b) => a + b, 0) / (trace.rps.length - from);
  /** What the level asks at 0.9 where one instance carries 4 slots ÷ (20 ms × scale). */
  const asks = (scale = 1): number => Math.ceil(level / ((200 / scale) * 0.9));

  /** Decisions after 6 h that ask at most `limit`, of how many, and the violating seconds. */
  function run(scale: number, meter: boolean, limit: number): { near: number; ticks: number; violating: number } {
    const spec = benchService();
    const truth = trueModel(spec, { family: 'exponential', scale, cv: 1 });
    const opts = { model: spec, scrapeSeconds: 15 };
    const policy = headroomPolicy(
      opts,
      meter ? trueLatencyMeter(new CapacityTable(truth), headroomBurstWindow(opts)) : undefined,
    );
    let ticks = 0;
    let near = 0;
    const r = simulate(trace, truth, policy, {
      series: true,
      onTick: (t, _v, desired) => {
        if (t < from) return;
        ticks++;
        if (desired <= limit) near++;
      },
    });
    const s = r.series!;
    return {
      near,
      ticks,
      violating: s.violations.slice(Math.floor(from / s.bucketSeconds)).reduce((a, b) => a + b, 0),
    };
  }

  it('the model right: the count the level asks at 0.9, or one more, in most decisions, and no violating second', () => {
    // Measured: 91 % of the decisions ask 105–107 where the level asks 106 (the minute's peak under
    // the target: 4 %, most asking 109–113).
    const { near, ticks, violating } = run(1, true, asks() + 1);
    expect(near).toBeGreaterThan(ticks * 0.8);
    expect(violating).toBe(0);
  });

  it('true service times 3 % slower: the calibrated scale corrects the model, which the latency then confirms; no violating second', () => {
    // The level at 20.6 ms asks 109 (106 at the spec's 20). Measured: 84 % of the decisions ask at
    // most 110, none 107 or fewer (before the scale was applied under 5 %: the minute's peak at 20 ms).
    const { near, ticks, violating } = run(1.03, true, asks(1.03) + 1);
    expect(asks(1.03)).toBeGreaterThan(asks() + 2);
    expect(near).toBeGreaterThan(ticks * 0.8);
    expect(violating).toBe(0);
  });

  it("true service times 3 % slower and no latency read: nothing confirms the model, the minute's peak stays; no violating second", () => {
    const { near, ticks, violating } = run(1.03, false, asks() + 1);
    expect(near).toBeLessThan(ticks * 0.2);
    expect(violating).toBe(0);
  });
});
