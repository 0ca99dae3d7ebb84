import { describe, expect, it } from 'vitest';
import {
  latencyPercentileMs,
  minInstancesForSlo,
  queueLabel,
  sloAttainment,
  type PoolShape,
} from '../../src/core/pool.ts';
import { erlangB } from '../../src/core/queueing.ts';
import {
  impliedCv,
  minimumMeanMs,
  serviceDistribution,
  serviceQuantile,
  serviceTail,
} from '../../src/core/service-time.ts';

const shape = (over: Partial<PoolShape> = {}): PoolShape => ({
  demandRps: 150,
  serviceTimeMs: 20,
  concurrency: 4,
  loadBalancing: 'leastRequests',
  ...over,
});

describe('service-time distributions', () => {
  it.each([0, 0.5, 2, 4])('CV %d: pieces sum to 1 and keep the mean', (cv) => {
    const d = serviceDistribution(20, { cv, source: 'spec' });
    expect(d.exponential).toBe(false);
    const total = d.w.reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 12);
    let mean = 0;
    for (let i = 0; i < d.w.length; i++) mean += (d.w[i]! * (d.lo[i]! + d.hi[i]!)) / 2;
    expect(mean).toBeCloseTo(0.02, 9);
    expect(serviceTail(d, 0)).toBeCloseTo(cv === 0 ? 1 : 1, 9);
  });

  it('lognormal CV 2: the p99 of the pieces is the lognormal p99 (mean·e^(−σ²/2 + 2.326σ) = 171 ms)', () => {
    const d = serviceDistribution(20, { cv: 2, source: 'spec' });
    const s = Math.sqrt(Math.log(5));
    const exact = 20 * Math.exp(-(s * s) / 2 + 2.3263 * s);
    expect(serviceQuantile(d, 0.99) * 1000).toBeGreaterThan(exact * 0.95);
    expect(serviceQuantile(d, 0.99) * 1000).toBeLessThan(exact * 1.05);
  });

  it('quantiles of an exponential, given as measured, reproduce the exact M/M/c p99 within −3 %/+8 % (errs high)', () => {
    const m = 20;
    const q = (p: number): number => -Math.log1p(-p) * m;
    const measured = shape({
      serviceTime: { cv: 1, quantilesMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999) }, source: 'spec' },
    });
    for (const [n, demandRps] of [
      [1, 50],
      [1, 150],
      [2, 150],
      [4, 150],
    ] as const) {
      const exact = latencyPercentileMs(shape({ demandRps }), n, 99);
      const viaPieces = latencyPercentileMs({ ...measured, demandRps }, n, 99);
      expect(viaPieces / exact).toBeGreaterThan(0.97);
      expect(viaPieces / exact).toBeLessThan(1.08);
    }
  });

  it('a fixed service time makes a tight SLO reachable that M/M/c calls unreachable', () => {
    const slo = { latencyMs: 30, percentile: 99 };
    expect(minInstancesForSlo(shape(), slo)).toMatchObject({ ok: false, reason: 'unreachable' });
    const fixed = minInstancesForSlo(shape({ serviceTime: { cv: 0, source: 'spec' } }), slo);
    expect(fixed.ok).toBe(true);
    // More variable service needs more instances at the same demand and SLO.
    const counts = [0, 0.5, 1, 2].map((cv) => {
      const r = minInstancesForSlo(shape({ serviceTime: { cv, source: 'spec' } }), { latencyMs: 200, percentile: 99 });
      return r.ok ? r.instances : Infinity;
    });
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!);
    expect(counts[3]).toBeGreaterThan(counts[0]!);
  });

  it('the search returns the smallest count that meets the SLO', () => {
    for (const cv of [0, 0.5, 2]) {
      for (const loadBalancing of ['leastRequests', 'random'] as const) {
        const s = shape({ demandRps: 900, loadBalancing, serviceTime: { cv, source: 'spec' } });
        const r = minInstancesForSlo(s, { latencyMs: 400, percentile: 99 });
        expect(r.ok).toBe(true);
        if (!r.ok) continue;
        expect(sloAttainment(s, r.instances, 400)).toBeGreaterThanOrEqual(0.99);
        expect(sloAttainment(s, r.instances - 1, 400)).toBeLessThan(0.99);
      }
    }
  });

  it('explanations name the model', () => {
    expect(queueLabel(shape())).toBe('M/M/(N·4)');
    expect(queueLabel(shape({ serviceTime: { cv: 1.5, source: 'spec' } }))).toBe(
      'M/G/(N·4), service CV 1.5 (lognormal)',
    );
    expect(queueLabel(shape({ loadBalancing: 'random', serviceTime: { cv: 0, source: 'spec' } }))).toBe(
      'N × M/G/4, fixed service time (CV 0)',
    );
  });

  it('the mean the quantiles need, and the CV they imply', () => {
    expect(minimumMeanMs({ p50: 10, p90: 10, p99: 210, p999: 210 })).toBeCloseTo(7, 9);
    expect(impliedCv(20, { p50: 8.9, p90: 45, p99: 171, p999: 466 })).toBeGreaterThan(1.2);
  });
});

describe('sizing cost does not grow with demand', () => {
  it('Erlang B from its O(√A) start equals the full recursion', () => {
    for (const [servers, offered] of [
      [5100, 5000],
      [40_000, 39_000],
      [120, 100],
    ] as const) {
      let b = 1;
      for (let k = 1; k <= servers; k++) b = (offered * b) / (k + offered * b);
      expect(erlangB(servers, offered) / b).toBeCloseTo(1, 9);
    }
  });

  it('1e9 rps × 1 h per request ends at once with the search limit, not after minutes', () => {
    const r = minInstancesForSlo(
      { demandRps: 1e9, serviceTimeMs: 3_600_000, concurrency: 1, loadBalancing: 'leastRequests' },
      { latencyMs: 3_600_000 * 10, percentile: 99 },
    );
    expect(r).toMatchObject({ ok: false, reason: 'limit' });
    const big = minInstancesForSlo(
      { demandRps: 1e7, serviceTimeMs: 20, concurrency: 64, loadBalancing: 'leastRequests' },
      { latencyMs: 200, percentile: 99 },
    );
    expect(big.ok).toBe(true);
    if (big.ok) expect(big.instances).toBeGreaterThan(1e7 / 3200);
  });
});
