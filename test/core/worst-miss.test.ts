// The worst recent miss within the SLO (decide() step 2b, ForecastWorstMiss): where every recent miss
// of the forecast fits the SLO, the utilization target holds at the forecast's central value and not
// over its margin too; a recent jump, or no SLO, keeps the margined forecast under the target.
import { describe, expect, it } from 'vitest';
import { initialDecideState, type Decision } from '../../src/core/decide.ts';
import { emptyHistory, forecastPeak, recordDemand, WORST_STEP, type DemandHistory } from '../../src/core/forecast.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { planService } from '../../src/core/plan.ts';
import { mulberry32 } from '../../src/simulator/synthetic.ts';
import { exponential, percentile, simulateFifo } from '../support/mgc-sim.ts';
import { model, run } from './decide-model.ts';

const END = 400 * 60;

/** The bench's service (20 ms, 4 at once, p99 ≤ 100 ms, utilization 0.9) with room for 1,000. */
function service(over: Partial<ServiceModel> = {}): ServiceModel {
  return model(
    { forecast: { enabled: true, quietPhase: true } },
    {
      instance: { serviceTimeMs: 20, concurrency: 4 },
      targetUtilization: 0.9,
      replicas: { min: 1, max: 1000 },
      slo: { latencyMs: 100, percentile: 99 },
      ...over,
    },
  );
}

/** 400 minutes at `rps` ± `noise` (uniform), one reading a minute; `jump` multiplies one minute. */
function minutes(rps: number, noise: number, jump?: { at: number; by: number }): DemandHistory {
  const rand = mulberry32(11);
  let h = emptyHistory();
  for (let t = 0; t < END; t += 60) {
    const x = rps * (1 + (rand() * 2 - 1) * noise) * (jump && t === jump.at ? jump.by : 1);
    h = recordDemand(h, t, x, 120);
  }
  return h;
}

function decideAt(m: ServiceModel, h: DemandHistory, demandRps: number): Decision {
  return run(m, [[END, { demandRps }]], 100, { ...initialDecideState(), demand: h })[0]!;
}

/** Every number of the message, in order. */
const numbers = (s: string): number[] => [...s.matchAll(/\d+(?:\.\d+)?/g)].map((x) => Number(x[0]));

describe('the worst recent miss within the SLO (issue 15)', () => {
  it('bounded noise at 18,000 rps: the central value under the target and the worst miss within the SLO, fewer than the margin under it', () => {
    const m = service();
    const h = minutes(18000, 0.05);
    const d = decideAt(m, h, 18000);
    // What the forecast says at that moment, recorded as decide() records the reading first.
    const f = forecastPeak(recordDemand(h, END, 18000, 120), END, 120)!;
    expect(f.calibrated).toBe(true);
    const w = f.worst!;
    // ±5 % minute noise: no 120-s peak missed by more than (1.05 / 0.95) and a 2-% bin.
    expect(w.ratio).toBeGreaterThan(1.05);
    expect(w.ratio).toBeLessThan((1.05 / 0.95) * WORST_STEP);
    expect(w.over).toBeCloseTo(Math.max(w.margin, w.ratio * WORST_STEP), 9);
    const stacked = planService(m, { demandRps: f.rps }).replicas;
    const target = planService(m, { demandRps: Math.max(w.central, 18000) }).replicas;
    const slo = planService({ ...m, targetUtilization: 1 }, { demandRps: w.rps }).replicas;
    expect(d.recommended).toBe(Math.max(target, slo));
    expect(d.recommended).toBeLessThan(stacked);
    // The utilization target still holds at the central value: ≤ 0.9 busy on it.
    expect(w.central / (d.recommended * 200)).toBeLessThanOrEqual(0.9);
    const r = d.reasons.find((x) => x.code === 'ForecastWorstMiss')!;
    // The sentence's numbers are the decision's: 120-s, 3 days, ratio, central, 0.9, target count,
    // rps, over, 2 %, SLO count, the count, the stacked count, the margin, 0.9.
    const n = numbers(r.message);
    expect(n[2]).toBeCloseTo(w.ratio, 3);
    expect(n[3]).toBeCloseTo(Math.max(w.central, 18000), -1);
    expect(n[5]).toBe(target);
    expect(n[6]).toBeCloseTo(w.rps, -1);
    expect(n[9]).toBe(slo);
    expect(n[10]).toBe(d.recommended);
    expect(n[11]).toBe(stacked);
    expect(n[12]).toBeCloseTo(w.margin, 3);
    expect(d.reasons.find((x) => x.code.startsWith('SizedBy'))!.message).toContain(`needs ${d.recommended}`);
  });

  it('the count it picks meets the SLO at the worst miss it claims to cover, and one fewer does not, in a discrete-event simulation', () => {
    // Independent of the queueing model decide() sizes with: a simulated pool of 4-slot instances
    // behind a least-outstanding balancer, Poisson arrivals at the worst-miss demand (20,540 rps,
    // ~99 % busy), exponential 20-ms service, 1.2 M requests (~1 minute of traffic). Measured: 104
    // instances 95.7 ms, 103 instances 105.1 ms (seeds 2 and 3: 97.9 / 98.6 and 145.8 / 123.6 ms).
    const d = decideAt(service(), minutes(18000, 0.05), 18000);
    const h = recordDemand(minutes(18000, 0.05), END, 18000, 120);
    const w = forecastPeak(h, END, 120)!.worst!;
    expect(d.reasons.some((x) => x.code === 'ForecastWorstMiss')).toBe(true);
    const p99 = (instances: number): number =>
      percentile(
        simulateFifo({
          arrivalRps: w.rps,
          sampler: exponential(20),
          requests: 1_200_000,
          seed: 1,
          mode: 'leastOutstanding',
          instances,
          concurrency: 4,
        }).responseMs,
        99,
      );
    expect(p99(d.recommended)).toBeLessThanOrEqual(100);
    expect(p99(d.recommended - 1)).toBeGreaterThan(100);
  });

  it('a 1.5× jump within the history: the worst miss is above the margin under the target, which stays', () => {
    const m = service();
    const h = minutes(18000, 0.05, { at: END - 3600, by: 1.5 });
    const d = decideAt(m, h, 18000);
    const f = forecastPeak(recordDemand(h, END, 18000, 120), END, 120)!;
    expect(f.worst!.ratio).toBeGreaterThan(1.4);
    expect(d.reasons.some((x) => x.code === 'ForecastWorstMiss')).toBe(false);
    expect(d.recommended).toBe(planService(m, { demandRps: f.rps }).replicas);
  });

  it('without an SLO the utilization target over the margin is all the protection: unchanged', () => {
    const m = service();
    delete m.slo;
    const h = minutes(18000, 0.05);
    const d = decideAt(m, h, 18000);
    const f = forecastPeak(recordDemand(h, END, 18000, 120), END, 120)!;
    expect(d.reasons.some((x) => x.code === 'ForecastWorstMiss')).toBe(false);
    expect(d.recommended).toBe(planService(m, { demandRps: f.rps }).replicas);
  });

  it('before the forecast is calibrated (under 30 scored minutes) nothing is compared', () => {
    const m = service();
    const rand = mulberry32(3);
    let h = emptyHistory();
    for (let t = 0; t < 20 * 60; t += 60) h = recordDemand(h, t, 18000 * (1 + (rand() * 2 - 1) * 0.05), 120);
    const d = run(m, [[20 * 60, { demandRps: 18000 }]], 100, { ...initialDecideState(), demand: h })[0]!;
    const f = forecastPeak(recordDemand(h, 20 * 60, 18000, 120), 20 * 60, 120);
    expect(f?.calibrated).toBe(false);
    expect(f?.worst).toBeUndefined();
    expect(d.reasons.some((x) => x.code === 'ForecastWorstMiss')).toBe(false);
  });
});
