// Model error (issue 13 item 6): the simulation draws the true service times from one distribution
// while the policies are told the spec's. The truth decides violations, the oracle and what the
// baselines observe; `headroom+calibrated` corrects its model from the latency the truth produces.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTrueServiceTime } from '../../src/cli/simulate.ts';
import { HeadroomError } from '../../src/core/errors.ts';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { hpaPolicy } from '../../src/simulator/policies/hpa.ts';
import { runSimulation, type PolicyResult, type SimulationResult } from '../../src/simulator/run.ts';
import { loadTraceFile, rescaleToPeak, sliceTrace, stepTrace } from '../../src/input/trace.ts';
import { poolShape } from '../../src/core/plan.ts';
import { histogramQuantileMs } from '../../src/core/pool.ts';
import {
  DEFAULT_HISTOGRAM_BOUNDS_MS,
  histogramLatencyMeter,
  trueLatencyMeter,
  trueModel,
} from '../../src/simulator/truth.ts';
import { benchService, service } from './helpers.ts';

const WORLDCUP = fileURLToPath(new URL('../../traces/worldcup98_may25_week.csv', import.meta.url));
// The first day of WorldCup98 at a 2,000-rps peak (1-min rows).
const day = rescaleToPeak(sliceTrace(loadTraceFile(WORLDCUP), 0, 86_400), 2000);

const row = (r: SimulationResult, label: string): PolicyResult => {
  const p = r.policies.find((x) => x.label === label);
  if (!p) throw new Error(`no ${label} row`);
  return p;
};
const same = (p: PolicyResult) => ({
  replicaSeconds: p.replicaSeconds,
  sloViolationSeconds: p.sloViolationSeconds,
  peakReplicas: p.peakReplicas,
  scaleEvents: p.scaleEvents,
});

describe('--true-service-time SPEC', () => {
  it('reads every documented form', () => {
    expect(parseTrueServiceTime('exponential')).toEqual({ family: 'exponential', cv: 1, scale: 1 });
    expect(parseTrueServiceTime('fixed')).toEqual({ family: 'fixed', cv: 0, scale: 1 });
    expect(parseTrueServiceTime('lognormal:cv=2')).toEqual({ family: 'lognormal', cv: 2, scale: 1 });
    expect(parseTrueServiceTime('gamma:cv=0.5')).toEqual({ family: 'gamma', cv: 0.5, scale: 1 });
    expect(parseTrueServiceTime('cv=3')).toEqual({ family: 'cv', cv: 3, scale: 1 });
    expect(parseTrueServiceTime('lognormal:cv=2,scale=1.5')).toEqual({ family: 'lognormal', cv: 2, scale: 1.5 });
    expect(parseTrueServiceTime('fixed,scale=0.8')).toEqual({ family: 'fixed', cv: 0, scale: 0.8 });
    expect(parseTrueServiceTime('cv=0,scale=2')).toEqual({ family: 'cv', cv: 0, scale: 2 });
  });

  it.each([
    'weibull:cv=2',
    'lognormal',
    'lognormal:cv=0.5',
    'gamma:cv=2',
    'exponential:cv=2',
    'cv=-1',
    'cv=abc',
    'lognormal:cv=2,scale=0',
    'lognormal:cv=2,scale=2,scale=3',
    'fixed,mean=3',
    '',
  ])('rejects %j with HR_USAGE naming the flag, the value and the allowed forms', (raw) => {
    let err: unknown;
    try {
      parseTrueServiceTime(raw);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeadroomError);
    const e = err as HeadroomError;
    expect(e.code).toBe('HR_USAGE');
    expect(e.problems[0]).toMatchObject({ path: '--true-service-time', value: raw });
    expect(e.problems[0]?.allowed).toMatch(/lognormal:cv=X.*scale=Y/);
  });
});

describe('model error: truth ≠ what the policy is told', () => {
  // 20 ms exponential on the spec; truly lognormal CV 2 and 30 ms: its p99 alone is ~257 ms, so
  // the SLO is p99 ≤ 500 ms (at 100 ms no count could meet it).
  const model = benchService({ slo: { latencyMs: 500, percentile: 99 } });
  const truth = parseTrueServiceTime('lognormal:cv=2,scale=1.5');
  const r = runSimulation({ trace: day, model, policies: ['headroom', 'oracle'], truth });

  it('calibrated Headroom violates far less than Headroom as told, and little', () => {
    const told = row(r, 'headroom');
    const calibrated = row(r, 'headroom+calibrated');
    expect(told.sloViolationSeconds).toBeGreaterThan(3600); // sized for 200 rps per instance, 133 true
    expect(calibrated.sloViolationSeconds).toBeLessThan(told.sloViolationSeconds / 10);
    expect(calibrated.violationFraction).toBeLessThan(0.002);
    expect(row(r, 'oracle').sloViolationSeconds).toBe(0);
  });

  it('the oracle is computed under the truth, and the report names both distributions', () => {
    const spec = runSimulation({ trace: day, model, policies: ['oracle'] });
    expect(row(r, 'oracle').replicaSeconds).toBeGreaterThan(1.3 * row(spec, 'oracle').replicaSeconds);
    expect(r.modelError?.text).toBe(
      'true service times: lognormal CV 2 × 1.5, 30 ms mean (the policy is told: exponential, 20 ms)',
    );
    expect(r.modelError?.trueServiceTime).toMatchObject({ family: 'lognormal', cv: 2, scale: 1.5, serviceTimeMs: 30 });
  });

  it('with the truth equal to the spec both rows equal today’s headroom row', () => {
    const m = benchService();
    const today = runSimulation({ trace: day, model: m, policies: ['headroom', 'oracle'] });
    const same1 = runSimulation({
      trace: day,
      model: m,
      policies: ['headroom', 'oracle'],
      truth: parseTrueServiceTime('exponential'),
    });
    expect(today.policies.map((p) => p.label)).toEqual(['headroom', 'oracle']);
    expect(same1.policies.map((p) => p.label)).toEqual(['headroom', 'headroom+calibrated', 'oracle']);
    expect(same(row(same1, 'headroom'))).toEqual(same(row(today, 'headroom')));
    expect(same(row(same1, 'headroom+calibrated'))).toEqual(same(row(today, 'headroom')));
    expect(same(row(same1, 'oracle'))).toEqual(same(row(today, 'oracle')));
  });
});

describe('what the baselines observe follows the truth', () => {
  it('utilization and requests in flight are those of the true service time', () => {
    // 600 rps against a spec of 20 ms; the true mean is 30 ms: 18 busy servers, not 12.
    const m = service({ startupSeconds: 30 });
    const table = new CapacityTable(trueModel(m, { family: 'exponential', cv: 1, scale: 1.5 }));
    const seen: Array<{ util: number | undefined; conc: number | undefined; ready: number }> = [];
    simulate(stepTrace([[120, 600]]), m, hpaPolicy({ model: m, scrapeSeconds: 15, target: 0.7 }), {
      table,
      onTick: (t, view) => {
        if (t === 30) seen.push({ util: view.utilization(15), conc: view.concurrency(15), ready: view.readyReplicas });
      },
    });
    const s = seen[0];
    expect(s).toBeDefined();
    // The first second needs ⌈600 / 133.3⌉ = 5 true instances (not 3 at 200 rps each).
    expect(s?.ready).toBe(5);
    expect(s?.util).toBeCloseTo(18 / (5 * 4), 6);
    expect(s?.conc).toBeGreaterThanOrEqual(18);
  });

  it('an overloaded window measures a finite, growing latency', () => {
    const table = new CapacityTable(
      trueModel(benchService({ slo: { latencyMs: 500, percentile: 99 } }), parseTrueServiceTime('fixed')),
    );
    const meter = trueLatencyMeter(table, 15);
    expect(meter(300, 2)).toBeLessThan(100); // ρ 0.75 of a 20-ms fixed service
    // ρ = 1.2: 20 ms + 15 s × 0.2
    expect(meter(480, 2)).toBeCloseTo(3020, 3);
  });

  it("the histogram meter reads as histogram_quantile does, with the noise of the window's requests", () => {
    const truth = trueModel(benchService(), parseTrueServiceTime('exponential'));
    const table = new CapacityTable(truth);
    const meter = histogramLatencyMeter(table, 15);
    expect(meter.boundsMs).toEqual(DEFAULT_HISTOGRAM_BOUNDS_MS);
    // 1,750 rps on 10: the true p99 93.6 ms, read through the default bounds 98.3.
    const shape = poolShape(truth, { demandRps: 1750 });
    const read = histogramQuantileMs(shape, 10, 99, DEFAULT_HISTOGRAM_BOUNDS_MS);
    const reads = Array.from({ length: 400 }, () => meter(1750, 10, 26_250));
    const mean = reads.reduce((a, b) => a + b, 0) / reads.length;
    const sd = Math.sqrt(reads.reduce((a, b) => a + (b - mean) ** 2, 0) / reads.length);
    expect(mean / read).toBeGreaterThan(0.997);
    expect(mean / read).toBeLessThan(1.003);
    // The rank's spread √(0.99 · 0.01 / 26,250) = 0.0006, over the bucket's slope: ~0.4 ms.
    const slope = (histogramQuantileMs(shape, 10, 99.05, DEFAULT_HISTOGRAM_BOUNDS_MS) - read) / 0.05;
    const expected = slope * Math.sqrt((0.99 * 0.01) / 26_250) * 100;
    expect(sd / expected).toBeGreaterThan(0.85);
    expect(sd / expected).toBeLessThan(1.15);
    // Fewer requests, more noise; overloaded, the backlog as the exact meter reports it.
    const few = Array.from({ length: 400 }, () => meter(1750, 10, 2_625));
    const sdFew = Math.sqrt(few.reduce((a, b) => a + (b - mean) ** 2, 0) / few.length);
    expect(sdFew / sd).toBeGreaterThan(2.5);
    expect(meter(2400, 10, 36_000)).toBe(trueLatencyMeter(table, 15)(2400, 10));
  });
});
