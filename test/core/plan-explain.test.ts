// The explanations' number formats: a limit is never shown looser than the one sized for, and an
// attainment below 1 never prints as 100 % (explanations audit, 2026-12-05).
import { describe, expect, it } from 'vitest';
import { fmtLimit } from '../../src/core/plan-explain.ts';
import { planService } from '../../src/core/plan.ts';
import { model } from './decide-model.ts';

describe('fmtLimit', () => {
  it.each([
    [148.5, '148.5'],
    [148.46, '148.4'],
    [99.99, '99.99'],
    [100, '100'],
    [1234.56, '1234'],
    [0.12345, '0.1234'],
  ])('%s → %s (4 digits, rounded down)', (x, s) => {
    expect(fmtLimit(x)).toBe(s);
    expect(Number(fmtLimit(x))).toBeLessThanOrEqual(x);
  });
});

describe('the latency explanation', () => {
  it('a 148.5-ms budget reads "p99 ≤ 148.5 ms" (it read 149: looser than sized for)', () => {
    const m = model({}, { slo: { latencyMs: 148.5, percentile: 99 } });
    const d = planService(m, { demandRps: 100 }).details.find((x) => x.name === 'latency')?.detail ?? '';
    expect(d).toMatch(/^p99 ≤ 148\.5 ms, .*P\(T ≤ 148\.5 ms\)/);
  });

  it('an attainment just under 1 is not "100.00 %" (1 − e^−10 is 99.995 %)', () => {
    // One instance of 20 ms at 1 rps, SLO 200 ms: P(T ≤ 200) = 1 − e^(−(50 − 1) × 0.2) ≈ 99.994 %.
    const m = model({}, { slo: { latencyMs: 200, percentile: 99 } });
    const d = planService(m, { demandRps: 1 }).details.find((x) => x.name === 'latency')?.detail ?? '';
    expect(d).not.toMatch(/100\.0+ %/);
    expect(d).toMatch(/1 give 99\.99\d* %/);
  });
});
