// Burst episodes scored in the demand's past (src/core/burst.ts pastBursts, decide.ts pastBurstsOf):
// a service started from its history sizes its first live crowd for how far the crowds in that
// history went. The readings are built here from a per-second rate, each the exact mean of the 60 s
// before it, every 15 s (what Prometheus' rate(x[1m]) reads), so every expected score below is
// worked by hand from the rate, not from the code under test.
import { describe, expect, it } from 'vitest';
import { BURST_KEEP, pastBursts, pastBurstsText } from '../../src/core/burst.ts';
import { decide, forecastHorizon, initialDecideState, pastBurstsOf } from '../../src/core/decide.ts';
import { historyFrom } from '../../src/core/forecast.ts';
import { initialLoopState, restoreState, withHistory } from '../../src/loop/step.ts';
import { model as deciderModel } from './decide-model.ts';

// 50 rps per instance at target 1.0; startup 60 s → horizon 120 s.
const model = deciderModel({
  burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true },
  forecast: { enabled: true, quietPhase: true },
});
const HORIZON = forecastHorizon(model);
/** What a pool sized for `rps` carries: whole instances of 50 rps, at least 1. */
const carryOf = (rps: number): number => Math.max(1, Math.ceil(rps / 50)) * 50;

/** The 60-s mean of `rate` (rps at second s) every 15 s over [from, to). */
function readings(rate: (s: number) => number, from: number, to: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = from; t < to; t += 15) {
    let sum = 0;
    for (let s = t - 60; s < t; s++) sum += rate(s);
    out.push([t, sum / 60]);
  }
  return out;
}

/** 100 rps, and from `at` a crowd: 200, 400, then 600 rps a minute each, 600 for 3 minutes, then 100. */
const crowd =
  (at: number) =>
  (s: number): number =>
    s < at || s >= at + 300 ? 100 : s < at + 60 ? 200 : s < at + 120 ? 400 : 600;

describe('burst episodes in the demand past', () => {
  it('a crowd scores peak ÷ first sight as the 60-s rate shows it: 2.5×', () => {
    // Read at 1,230 s (150 rps: 1.5× the 100 before it), first sight 200 rps 30 s later (the rate
    // at the rise: a 60-s mean lags it by 30 s), the highest within 120 s 500 rps (at 1,350 s:
    // 30 s of 400 and 30 s of 600). The live 6-s window would say 600 ÷ 200 = 3×.
    const h = pastBursts(readings(crowd(1200), 60, 2400), HORIZON, carryOf);
    expect(h).toEqual({ scores: [[1230, 2.5]] });
  });

  it('a step reads 1–1.3× (live 1×), by where the readings fall in it', () => {
    // 640 → 1,900 at 1,200 s: 955 at +15 (under 960 = 1.5 × 640), 1,270 at +30, 1,900 at +60.
    const big = pastBursts(
      readings((s) => (s < 1200 ? 640 : 1900), 60, 2400),
      HORIZON,
      carryOf,
    );
    expect(big).toEqual({ scores: [[1230, 1]] });
    // 100 → 300 at 1,200 s: 150 at +15 (the rise), 250 at +45, 300 only at +60: 1.2×.
    const small = pastBursts(
      readings((s) => (s < 1200 ? 100 : 300), 60, 2400),
      HORIZON,
      carryOf,
    );
    expect(small).toEqual({ scores: [[1215, 1.2]] });
  });

  it('noise on a level, and blips under what one instance carries, are no rise', () => {
    const noisy = readings((s) => 300 * (1 + 0.1 * Math.sin(s * 0.7)), 60, 7200);
    expect(pastBursts(noisy, HORIZON, carryOf).scores).toEqual([]);
    // A night at 2 rps: a blip to 40 rps is 20× the level but one instance carries 50.
    const night = (blip: number) => (s: number) => (s >= 1200 && s < 1320 ? blip : 2);
    expect(pastBursts(readings(night(40), 60, 2400), HORIZON, carryOf).scores).toEqual([]);
    expect(pastBursts(readings(night(120), 60, 2400), HORIZON, carryOf).scores).toHaveLength(1);
  });

  it('keeps the last BURST_KEEP within 8 days of the last reading, one episode per crowd', () => {
    // A crowd every 12 hours for 10 days: 20 crowds, 16 within 8 days, the last 8 kept.
    const day = 86400;
    const many = (s: number): number => crowd(Math.floor(s / (day / 2)) * (day / 2) + 3600)(s);
    const h = pastBursts(readings(many, 60, 10 * day), HORIZON, carryOf);
    expect(h.scores).toHaveLength(BURST_KEEP);
    expect(h.scores.every(([, s]) => s === 2.5)).toBe(true);
    expect(h.scores.map(([t]) => t)).toEqual(Array.from({ length: 8 }, (_, i) => (12 + i) * (day / 2) + 3630));
  });

  it('none with learning off, where the history found a period (the periodic term starts those), or over a rate longer than half the horizon', () => {
    const rs = readings(crowd(1200), 60, 2400);
    const demand = historyFrom(rs, HORIZON);
    expect(pastBurstsOf(model, rs, demand, 60).scores).toHaveLength(1);
    // A 2-minute rate (the query's window) with a 120-s horizon: the crowd's rise is smoothed away.
    expect(pastBurstsOf(model, rs, demand, 120).scores).toEqual([]);
    const off = deciderModel({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: false } });
    expect(pastBurstsOf(off, rs, demand, 60).scores).toEqual([]);
    // 2 days of 2-h spikes (300 → 1,200 rps for 10 minutes): every spike is a rise, and the 2-h
    // period is found, so none is kept.
    const spikes = readings((s) => (s % 7200 < 600 ? 1200 : 300), 60, 2 * 86400);
    expect(pastBursts(spikes, HORIZON, carryOf).scores.length).toBe(BURST_KEEP);
    const periodic = historyFrom(spikes, HORIZON);
    expect(periodic.period?.lag).toBe(24);
    expect(pastBurstsOf(model, spikes, periodic, 60).scores).toEqual([]);
  });

  it("a service started from that past sizes its first live crowd for the history's 2.5×, and says so", () => {
    const rs = readings(crowd(1200), 60, 7200);
    const state = withHistory(model, initialLoopState(), rs, 60);
    expect(state.decide.bursts).toEqual({ scores: [[1230, 2.5]] });
    // Kept across a restart, as the live scores are.
    expect(restoreState(JSON.parse(JSON.stringify(state.decide))).bursts).toEqual(state.decide.bursts);
    // The next crowd, first seen at 300 rps on 2 ready (100 rps): 300 × 2.5 = 750 rps, 15 at once.
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 300 };
    const warm = decide(model, state.decide, obs, 7215).decision;
    expect(warm).toMatchObject({ mode: 'burst', sizedForRps: 750, desired: 15 });
    expect(warm.reasons.find((r) => r.code === 'Burst')?.message).toContain(
      '750 rps (300 rps at first sight × 2.5): the last burst rose to 2.5× its first sight within 120 s',
    );
    // Without the scores (the history alone, as before): within what the history holds (600 rps
    // minutes), so sized for itself.
    const demandOnly = { ...initialDecideState(), demand: state.decide.demand };
    expect(decide(model, demandOnly, obs, 7215).decision).toMatchObject({ sizedForRps: 300, desired: 6 });
    expect(pastBurstsText(state.decide.bursts, HORIZON)).toBe(
      '; 1 burst in it scored: it rose 2.5× its first sight within 120 s',
    );
    expect(pastBurstsText({ scores: [] }, HORIZON)).toBe('');
  });
});
