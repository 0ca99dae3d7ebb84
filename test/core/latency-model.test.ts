// The core's M/G/c response-time percentiles against ground truth: the project's own discrete-event
// simulation (test/support/mgc-sim.ts, which shares no code with src/core). A sample of the table in
// docs/benchmarks.md (bench/latency-model.ts runs all 54 cases with 2–10 M requests each); here 400 k
// requests per case keep the p99 within ~2 % and the file within seconds.
import { describe, expect, it } from 'vitest';
import { latencyPercentileMs, type PoolShape } from '../../src/core/pool.ts';
import { parseServiceTime, percentile, serviceTimeQuantiles, simulateFifo } from '../support/mgc-sim.ts';

const MEAN_MS = 20;

function truth(spec: string, servers: number, rho: number, random = false): number {
  const sampler = parseServiceTime(spec, MEAN_MS);
  const arrivalRps = (rho * servers * 1000) / MEAN_MS;
  const r = random
    ? simulateFifo({
        mode: 'random',
        instances: 4,
        concurrency: servers,
        arrivalRps: arrivalRps * 4,
        sampler,
        requests: 400_000,
        seed: 11,
      })
    : simulateFifo({ servers, arrivalRps, sampler, requests: 400_000, seed: 11 });
  return percentile(r.responseMs, 99);
}

function predicted(spec: string, servers: number, rho: number, withQuantiles: boolean, random = false): number {
  const d = parseServiceTime(spec, MEAN_MS);
  const shape: PoolShape = {
    demandRps: ((rho * servers * 1000) / MEAN_MS) * (random ? 4 : 1),
    serviceTimeMs: MEAN_MS,
    concurrency: servers,
    loadBalancing: random ? 'random' : 'leastRequests',
    serviceTime: { cv: d.cv, source: 'spec', ...(withQuantiles ? { quantilesMs: serviceTimeQuantiles(d) } : {}) },
  };
  return latencyPercentileMs(shape, random ? 4 : 1, 99);
}

describe('M/G/c p99 against a discrete-event simulation', () => {
  // [distribution, servers, utilization, with measured quantiles, lowest and highest ratio allowed]
  it.each([
    ['fixed', 4, 0.7, false, 0.95, 1.1],
    ['fixed', 1, 0.85, false, 0.95, 1.15],
    ['erlang:4', 16, 0.85, false, 0.95, 1.1],
    ['exponential', 4, 0.85, true, 0.95, 1.08],
    ['lognormal:cv=2', 16, 0.7, false, 0.9, 1.12],
    ['lognormal:cv=2', 1, 0.7, false, 0.9, 1.35], // the heavy-tail truth is noisy at 400 k requests (±7 %)
    ['bimodal:0.95,10,210', 4, 0.85, true, 0.9, 1.12],
    ['bimodal:0.95,10,210', 16, 0.5, true, 0.95, 1.05],
  ] as const)('%s, c = %d, ρ = %d (quantiles: %s)', (spec, c, rho, q, lo, hi) => {
    const ratio = predicted(spec, c, rho, q) / truth(spec, c, rho);
    expect(ratio).toBeGreaterThanOrEqual(lo);
    expect(ratio).toBeLessThanOrEqual(hi);
  });

  it('random balancing: each instance its own M/G/c', () => {
    const ratio = predicted('lognormal:cv=2', 4, 0.7, false, true) / truth('lognormal:cv=2', 4, 0.7, true);
    expect(ratio).toBeGreaterThanOrEqual(0.88);
    expect(ratio).toBeLessThanOrEqual(1.15);
  });

  it('M/M/c would break the SLO on a heavy tail, M/G/c does not', () => {
    const exp = latencyPercentileMs(
      { demandRps: 35, serviceTimeMs: MEAN_MS, concurrency: 1, loadBalancing: 'leastRequests' },
      1,
      99,
    );
    const t = truth('lognormal:cv=2', 1, 0.7);
    expect(exp / t).toBeLessThan(0.5);
    expect(predicted('lognormal:cv=2', 1, 0.7, false) / t).toBeGreaterThan(0.9);
  });
});
