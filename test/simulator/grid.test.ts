// Issue 15, item 3: a grid of synthetic traffic that no single tuning fits, time-compressed. Two
// days of each family (bench/simulate.ts replays a week of each, and the shared traces), the
// bench's service (20 ms, concurrency 4, p99 ≤ 100 ms, startup 60 s, 15-s scrape) at a 2,000-rps
// peak, HPA, KPA and KEDA swept over 20–95 %. Ground truth is the simulator's per-second queueing
// model, not decide(). Measured 2026-12-06 (~12 s of CPU): Headroom 1.389 / 1.092 / 1.171 / 1.115 ×
// the oracle (mean 1.192), worst 0.208 % violating (spikes: the first day is learned); the cheapest
// single setting whose worst trace is no worse is kpa@35 % at 2.191 × on average, and at no more
// than Headroom's mean the least-violating one, kpa@70 %, violates 1.053 % on spikes.
import { beforeAll, describe, expect, it } from 'vitest';
import { benchModel } from '../../bench/support/issue15.ts';
import { rescaleToPeak } from '../../src/input/trace.ts';
import { oneSetting, runSimulation, SWEPT, type TraceRuns } from '../../src/simulator/run.ts';
import type { PolicyRun } from '../../src/simulator/engine.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';

const PEAK = 2000;
const GRID = {
  spikes: 'synthetic:spikes,period=7200,width=600,height=5,base=60,noise=0.1,jitter=120,days=2',
  flash: 'synthetic:flash,count=2,height=6,base=100,noise=0.1,days=2',
  diurnal: 'synthetic:diurnal,amplitude=0.6,noise=0.1,days=2',
  step: 'synthetic:step,at=86400,height=3,days=2',
};
const TARGETS = Array.from({ length: 16 }, (_, i) => Math.round((0.2 + 0.05 * i) * 100) / 100);

let runs: TraceRuns[] = [];
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

beforeAll(() => {
  runs = Object.entries(GRID).map(([name, spec]) => {
    const r = runSimulation({
      trace: rescaleToPeak(syntheticTrace(spec), PEAK),
      model: benchModel(PEAK),
      sweep: true,
      sweepTargets: TARGETS,
      scrapeSeconds: 15,
      policies: ['headroom', 'oracle', ...SWEPT],
    });
    const of = (policy: string): PolicyRun => r.policies.find((p) => p.policy === policy)!;
    return { trace: name, headroom: of('headroom'), sweep: r.sweep ?? [], oracleSeconds: of('oracle').replicaSeconds };
  });
}, 120_000);

describe('the grid no single tuning fits (issue 15, item 3)', () => {
  it('each family tuned per trace wants targets at least 40 points apart', () => {
    for (const family of SWEPT) {
      // Per trace, the cheapest setting of the family that violates at most 0.25 % of the time.
      const best = runs.map((r) => {
        const ok = r.sweep.filter((p) => p.policy === family && p.violationFraction <= 0.0025);
        return ok.sort((a, b) => a.replicaSeconds - b.replicaSeconds)[0]?.target ?? 0;
      });
      expect(
        best.every((t) => t > 0),
        `${family}: a setting within 0.25 % on every trace`,
      ).toBe(true);
      expect(Math.max(...best) - Math.min(...best), `${family}: ${best.join(', ')}`).toBeGreaterThanOrEqual(0.4);
    }
  });

  it('Headroom at its defaults: within 0.3 % violating on every trace, at most 1.3 × the oracle on average', () => {
    const worst = Math.max(...runs.map((r) => r.headroom.violationFraction));
    expect(worst).toBeLessThanOrEqual(0.003);
    expect(mean(runs.map((r) => r.headroom.replicaSeconds / r.oracleSeconds))).toBeLessThanOrEqual(1.3);
  });

  it('no one setting kept for the whole grid comes near Headroom on both its mean cost and its worst trace', () => {
    const hrMean = mean(runs.map((r) => r.headroom.replicaSeconds / r.oracleSeconds));
    const hrWorst = Math.max(...runs.map((r) => r.headroom.violationFraction));
    const settings = oneSetting(runs);
    expect(settings).toHaveLength(SWEPT.length * TARGETS.length);
    for (const s of settings) {
      // As safe on its worst trace → at least 1.5 × Headroom's mean cost; as cheap → 3 × its worst.
      if (s.worstViolating <= hrWorst) expect(s.meanCost, s.label).toBeGreaterThanOrEqual(1.5 * hrMean);
      if (s.meanCost <= hrMean) expect(s.worstViolating, s.label).toBeGreaterThanOrEqual(3 * hrWorst);
    }
    // Both branches are exercised: settings exist on each side of Headroom.
    expect(settings.some((s) => s.worstViolating <= hrWorst)).toBe(true);
    expect(settings.some((s) => s.meanCost <= hrMean)).toBe(true);
  });
});
