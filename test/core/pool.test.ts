import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  latencyPercentileMs,
  minInstancesForSlo,
  sloAttainment,
  type LoadBalancing,
  type PoolShape,
} from '../../src/core/pool.ts';

// Brute force: the first N in 1..limit whose attainment meets p.
function bruteForce(shape: PoolShape, latencyMs: number, p: number, limit = 5000): number | undefined {
  for (let n = 1; n <= limit; n++) if (sloAttainment(shape, n, latencyMs) >= p) return n;
  return undefined;
}

describe('minInstancesForSlo', () => {
  const cases: Array<[string, PoolShape, number, number]> = [
    [
      'M/M/(N·1) 900 rps 20 ms p99 100 ms',
      { demandRps: 900, serviceTimeMs: 20, concurrency: 1, loadBalancing: 'leastRequests' },
      100,
      99,
    ],
    ['random M/M/1 each', { demandRps: 900, serviceTimeMs: 20, concurrency: 1, loadBalancing: 'random' }, 100, 99],
    ['concurrency 4', { demandRps: 2000, serviceTimeMs: 20, concurrency: 4, loadBalancing: 'leastRequests' }, 100, 99],
    ['random concurrency 8', { demandRps: 500, serviceTimeMs: 50, concurrency: 8, loadBalancing: 'random' }, 400, 99.9],
    ['low demand', { demandRps: 1, serviceTimeMs: 10, concurrency: 1, loadBalancing: 'leastRequests' }, 100, 95],
  ];
  it.each(cases)('%s: equals the brute-force count', (_name, shape, latencyMs, percentile) => {
    const r = minInstancesForSlo(shape, { latencyMs, percentile });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.instances).toBe(bruteForce(shape, latencyMs, percentile / 100));
    expect(sloAttainment(shape, r.instances, latencyMs)).toBeGreaterThanOrEqual(percentile / 100);
    if (r.instances > 1) expect(sloAttainment(shape, r.instances - 1, latencyMs)).toBeLessThan(percentile / 100);
  });

  it('leastRequests never needs more than random (pooling helps)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 5000, noNaN: true }),
        fc.double({ min: 1, max: 200, noNaN: true }),
        fc.integer({ min: 1, max: 8 }),
        (demandRps, serviceTimeMs, concurrency) => {
          const slo = { latencyMs: serviceTimeMs * 8, percentile: 99 };
          const shared = minInstancesForSlo(
            { demandRps, serviceTimeMs, concurrency, loadBalancing: 'leastRequests' },
            slo,
          );
          const random = minInstancesForSlo({ demandRps, serviceTimeMs, concurrency, loadBalancing: 'random' }, slo);
          expect(shared.ok && random.ok).toBe(true);
          if (shared.ok && random.ok) expect(shared.instances).toBeLessThanOrEqual(random.instances);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is unreachable (not a huge number) when the service time alone breaks the SLO', () => {
    // p99 of a 20 ms exponential service time is 20·ln 100 = 92.1 ms.
    const r = minInstancesForSlo(
      { demandRps: 100, serviceTimeMs: 20, concurrency: 1, loadBalancing: 'leastRequests' },
      { latencyMs: 90, percentile: 99 },
    );
    expect(r.ok).toBe(false);
    if (!r.ok && r.reason === 'unreachable') expect(r.minLatencyMs).toBeCloseTo(92.1, 1);
  });

  it('handles 10,000 instances (offered load ~ 9,500 erlangs) with finite numbers', () => {
    const shape: PoolShape = { demandRps: 475_000, serviceTimeMs: 20, concurrency: 1, loadBalancing: 'leastRequests' };
    const r = minInstancesForSlo(shape, { latencyMs: 100, percentile: 99 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.instances).toBeGreaterThan(9_500);
    expect(r.instances).toBeLessThan(10_000);
    expect(sloAttainment(shape, r.instances - 1, 100)).toBeLessThan(0.99);
  });

  it('monotone in demand: more demand never needs fewer instances', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 3000, noNaN: true }),
        fc.double({ min: 0, max: 3000, noNaN: true }),
        fc.constantFrom<LoadBalancing>('leastRequests', 'random'),
        (a, b, lb) => {
          const [lo, hi] = a < b ? [a, b] : [b, a];
          const slo = { latencyMs: 150, percentile: 99 };
          const base = { serviceTimeMs: 25, concurrency: 2, loadBalancing: lb };
          const x = minInstancesForSlo({ ...base, demandRps: lo }, slo);
          const y = minInstancesForSlo({ ...base, demandRps: hi }, slo);
          if (x.ok && y.ok) expect(x.instances).toBeLessThanOrEqual(y.instances);
          else expect.unreachable('both reachable');
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('latencyPercentileMs', () => {
  it('is the p-th percentile of the modelled distribution', () => {
    const shape: PoolShape = { demandRps: 900, serviceTimeMs: 20, concurrency: 1, loadBalancing: 'leastRequests' };
    const p99 = latencyPercentileMs(shape, 25, 99);
    expect(sloAttainment(shape, 25, p99)).toBeCloseTo(0.99, 6);
    expect(latencyPercentileMs(shape, 18, 99)).toBe(Infinity); // 900 rps on 18 × 50 rps: overloaded
  });
});
