import { describe, expect, it } from 'vitest';
import {
  erlangB,
  erlangC,
  hypoexponentialTail,
  meanResponseTime,
  responseExceedance,
  responsePercentile,
  staffForWait,
} from '../../src/core/queueing.ts';

// Reference: n! computed directly for small cases (exact enough for n ≤ 20).
function erlangCDirect(c: number, a: number): number {
  let sum = 0;
  let term = 1; // a^k/k!
  for (let k = 0; k < c; k++) {
    sum += term;
    term = (term * a) / (k + 1);
  }
  const top = (term * c) / (c - a);
  return top / (sum + top);
}

describe('Erlang B/C', () => {
  it('matches the textbook formula on small cases', () => {
    for (const [c, a] of [
      [1, 0.5],
      [2, 1.5],
      [5, 3],
      [14, 10],
      [20, 17.3],
    ] as const) {
      expect(erlangC(c, a)).toBeCloseTo(erlangCDirect(c, a), 12);
    }
  });

  it('M/M/1: P(wait) equals utilization', () => {
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 12);
    expect(erlangB(1, 0.7)).toBeCloseTo(0.7 / 1.7, 12);
  });

  it('is finite and in [0, 1] for 10,000 × 4 servers (no factorial overflow)', () => {
    const c = 40_000;
    for (const a of [39_000, 39_900, 39_990]) {
      const v = erlangC(c, a);
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    expect(erlangC(40_000, 40_000)).toBe(1);
  });

  it('reproduces the Erlang C reference case: A = 10, 3 min handling, 80 % within 20 s → 14, SL 0.888', () => {
    const s = staffForWait(10, 1 / 180, 20, 0.8);
    expect(s.servers).toBe(14);
    expect(s.serviceLevel).toBeCloseTo(0.888, 3);
    expect(s.occupancy).toBeCloseTo(0.714, 3);
    expect(s.probabilityOfWaiting).toBeCloseTo(0.174, 3);
  });
});

describe('response-time distribution', () => {
  it('hypoexponential tail is symmetric and continuous at equal rates', () => {
    expect(hypoexponentialTail(3, 5, 0.4)).toBeCloseTo(hypoexponentialTail(5, 3, 0.4), 14);
    const equal = (1 + 4 * 0.3) * Math.exp(-4 * 0.3);
    expect(hypoexponentialTail(4, 4, 0.3)).toBeCloseTo(equal, 14);
    expect(hypoexponentialTail(4, 4 + 1e-10, 0.3)).toBeCloseTo(equal, 9);
    // Overflow-prone region: large rates × long times must give 0, never NaN.
    expect(hypoexponentialTail(1e3, 2e3, 10)).toBe(0);
  });

  it('M/M/1 response time is exponential with rate μ − λ', () => {
    const q = { servers: 1, arrivalRate: 30, serviceRate: 50 };
    for (const t of [0.01, 0.05, 0.2]) expect(responseExceedance(q, t)).toBeCloseTo(Math.exp(-20 * t), 12);
    expect(responsePercentile(q, 0.99)).toBeCloseTo(Math.log(100) / 20, 7);
    expect(meanResponseTime(q)).toBeCloseTo(1 / 20, 12);
  });

  it('is 1 (everything late) when the queue is unstable', () => {
    expect(responseExceedance({ servers: 2, arrivalRate: 100, serviceRate: 50 }, 1)).toBe(1);
    expect(responsePercentile({ servers: 2, arrivalRate: 100, serviceRate: 50 }, 0.5)).toBe(Infinity);
  });
});
