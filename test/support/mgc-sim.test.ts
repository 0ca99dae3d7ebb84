// The M/G/c simulator against closed forms written here, independent of src/core: M/M/1 (T is
// exponential), Pollaczek–Khinchine for M/G/1, P(W > 0) = ρ for any M/G/1, Erlang C and the exact
// response tail for M/M/c. Fixed seeds, so each number is reproducible; the tolerances are about
// 3–4 standard deviations of the estimate (measured over 12 seeds), tight enough that a simulator
// that serves out of order, picks the wrong server or draws the wrong service time fails.
import { describe, expect, it } from 'vitest';
import {
  createRng,
  inverseNormal,
  parseServiceTime,
  percentile,
  percentiles,
  serviceTimeQuantiles,
  simulateFifo,
  type FifoOptions,
} from './mgc-sim.ts';

const MEAN_MS = 20;
const MU = 1000 / MEAN_MS; // 50 per second

// Erlang B by its recursion, Erlang C from it; P(W > 0) of an M/M/c with `a` erlangs.
function erlangC(c: number, a: number): number {
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b / (1 - (a / c) * (1 - b));
}

// M/M/c response tail: no wait with probability 1 − C, else T = Exp(θ) + Exp(μ), θ = cμ − λ, whose
// tail is (θe^(−μt) − μe^(−θt))/(θ − μ). Returns the p99 in ms by bisection.
function mmcP99Ms(c: number, lambda: number): number {
  const C = erlangC(c, lambda / MU);
  const theta = c * MU - lambda;
  const tail = (t: number): number =>
    (1 - C) * Math.exp(-MU * t) + (C * (theta * Math.exp(-MU * t) - MU * Math.exp(-theta * t))) / (theta - MU);
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (tail(mid) > 0.01) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

// Pollaczek–Khinchine: E[W] = ρ·E[S]·(1 + cv²) / (2(1 − ρ)).
const pkWaitMs = (rho: number, cv: number): number => (rho * MEAN_MS * (1 + cv * cv)) / (2 * (1 - rho));

function run(spec: string, requests: number, shape: { servers: number } | { instances: number; concurrency: number }) {
  const servers = 'servers' in shape ? shape.servers : shape.instances * shape.concurrency;
  const base = { sampler: parseServiceTime(spec, MEAN_MS), requests, seed: 7 };
  const opts: FifoOptions =
    'servers' in shape
      ? { ...base, arrivalRps: 0, servers }
      : { ...base, arrivalRps: 0, mode: 'random', instances: shape.instances, concurrency: shape.concurrency };
  return (rho: number) => simulateFifo({ ...opts, arrivalRps: rho * servers * MU });
}

const within = (got: number, want: number, rel: number): void => {
  expect(Math.abs(got / want - 1), `${got} vs ${want} (±${rel * 100} %)`).toBeLessThan(rel);
};

describe('samplers', () => {
  const N = 400_000;
  const draw = (spec: string, seed = 1): Float64Array => {
    const d = parseServiceTime(spec, MEAN_MS);
    const rng = createRng(seed);
    const xs = new Float64Array(N);
    for (let i = 0; i < N; i++) xs[i] = d.sample(rng);
    return xs;
  };
  const moments = (xs: Float64Array): { mean: number; cv: number } => {
    let s = 0;
    let s2 = 0;
    for (const x of xs) {
      s += x;
      s2 += x * x;
    }
    const mean = s / xs.length;
    return { mean, cv: Math.sqrt(s2 / xs.length - mean * mean) / mean };
  };

  it('have the mean and CV they claim', () => {
    // [spec, exact CV, relative tolerance on the sample CV]
    for (const [spec, cv, tol] of [
      ['fixed', 0, 0],
      ['erlang:4', 0.5, 0.01],
      ['exponential', 1, 0.01],
      ['bimodal:0.95,10,210', Math.sqrt(1900) / 20, 0.015],
      ['lognormal:cv=2', 2, 0.06], // E[S⁴] is 5⁶ mean⁴: the sample CV converges slowly
    ] as const) {
      const d = parseServiceTime(spec, MEAN_MS);
      expect(d.meanMs).toBeCloseTo(MEAN_MS, 12);
      expect(d.cv).toBeCloseTo(cv, 12);
      const m = moments(draw(spec));
      within(m.mean, MEAN_MS, 0.01);
      if (cv === 0) expect(m.cv).toBe(0);
      else within(m.cv, cv, tol);
    }
  });

  it('lognormal: ln S has mean μ = ln(mean) − σ²/2 and sd σ = √ln(1 + cv²)', () => {
    // The sample CV of cv = 4 is useless (kurtosis 17⁶), the log-moments are not.
    for (const cv of [2, 4]) {
      const sigma = Math.sqrt(Math.log(1 + cv * cv)); // cv 4: σ = 1.683
      const mu = Math.log(MEAN_MS) - (sigma * sigma) / 2;
      const xs = draw(`lognormal:cv=${cv}`, 2);
      let s = 0;
      let s2 = 0;
      for (const x of xs) {
        s += Math.log(x);
        s2 += Math.log(x) ** 2;
      }
      const m = s / N;
      expect(Math.abs(m - mu)).toBeLessThan(0.01); // sd of the estimate σ/√N = 0.0027
      within(Math.sqrt(s2 / N - m * m), sigma, 0.006);
      within(moments(xs).mean, MEAN_MS, cv === 4 ? 0.03 : 0.015);
    }
  });

  it('exact quantiles match sampled ones', () => {
    // Exponential p99 = 20·ln 100 = 92.10 ms; bimodal: 10 ms up to p95, then 210 ms.
    expect(parseServiceTime('exponential', MEAN_MS).quantileMs(0.99)).toBeCloseTo(20 * Math.log(100), 9);
    expect(serviceTimeQuantiles(parseServiceTime('bimodal:0.95,10,210', MEAN_MS))).toEqual({
      p50: 10,
      p90: 10,
      p99: 210,
      p999: 210,
    });
    expect(serviceTimeQuantiles(parseServiceTime('fixed', MEAN_MS)).p999).toBe(20);
    for (const spec of ['erlang:4', 'exponential', 'lognormal:cv=2', 'lognormal:cv=4']) {
      const q = serviceTimeQuantiles(parseServiceTime(spec, MEAN_MS));
      const [p50, p90, p99] = percentiles(draw(spec, 3), [50, 90, 99]);
      within(p50!, q.p50, 0.01);
      within(p90!, q.p90, 0.01);
      within(p99!, q.p99, 0.025);
    }
  });

  it('inverse normal', () => {
    expect(inverseNormal(0.5)).toBeCloseTo(0, 9);
    expect(inverseNormal(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(inverseNormal(0.99)).toBeCloseTo(2.326347874040841, 8);
    expect(inverseNormal(0.999)).toBeCloseTo(3.090232306167814, 8);
    expect(inverseNormal(0.01)).toBeCloseTo(-2.326347874040841, 8);
    expect(inverseNormal(1e-6)).toBeCloseTo(-4.753424308822899, 7);
  });

  it('parses specs and rejects bad ones', () => {
    // A bimodal spec with another mean is rescaled: 95 % at 5 ms, 5 % at 105 ms for a 10 ms mean.
    const half = parseServiceTime('bimodal:0.95,10,210', 10);
    expect(half.meanMs).toBeCloseTo(10, 12);
    expect(half.quantileMs(0.99)).toBeCloseTo(105, 12);
    expect(half.cv).toBeCloseTo(Math.sqrt(1900) / 20, 12);
    expect(parseServiceTime('erlang:4', 20).quantileMs(0.5)).toBeCloseTo(18.36, 2); // 5·3.672
    for (const bad of ['gamma', 'erlang:0', 'erlang:2.5', 'lognormal', 'lognormal:cv=-1', 'bimodal:1.2,10,210']) {
      expect(() => parseServiceTime(bad, 20), bad).toThrow(/service-time spec/);
    }
  });
});

describe('simulateFifo: M/G/1', () => {
  it('M/M/1 at ρ = 0.7: T ~ Exp(μ − λ), p99 = ln(100)/15 s = 307.0 ms, mean 66.7 ms', () => {
    const r = run('exponential', 1_000_000, { servers: 1 })(0.7);
    within(percentile(r.responseMs, 99), (Math.log(100) / (MU - 35)) * 1000, 0.035);
    within(percentile(r.responseMs, 50), (Math.log(2) / (MU - 35)) * 1000, 0.025);
    within(r.meanResponseMs, 1000 / (MU - 35), 0.025);
    expect(Math.abs(r.waitProbability - 0.7)).toBeLessThan(0.005);
    within(r.meanServiceMs, MEAN_MS, 0.005);
  });

  it('Pollaczek–Khinchine mean wait and P(W > 0) = ρ', () => {
    // [spec, cv, requests, tolerance on E[W]]: M/D/1 at ρ 0.7 waits 23.3 ms, Erlang-4 29.2 ms,
    // the bimodal 134.2 ms (the slow 5 % make the wait 5.75× the M/D/1 one).
    for (const [spec, cv, n, tol] of [
      ['fixed', 0, 500_000, 0.03],
      ['erlang:4', 0.5, 500_000, 0.03],
      ['bimodal:0.95,10,210', Math.sqrt(1900) / 20, 1_000_000, 0.05],
    ] as const) {
      const r = run(spec, n, { servers: 1 })(0.7);
      within(r.meanWaitMs, pkWaitMs(0.7, cv), tol);
      expect(Math.abs(r.waitProbability - 0.7), spec).toBeLessThan(0.007);
    }
    // Heavy tail: E[W] converges too slowly to check, P(W > 0) = ρ does not.
    const r = run('lognormal:cv=2', 500_000, { servers: 1 })(0.5);
    expect(Math.abs(r.waitProbability - 0.5)).toBeLessThan(0.01);
  });
});

describe('simulateFifo: M/M/c', () => {
  it('P(W > 0) is Erlang C, E[W] = C/(cμ − λ), and the p99 is the exact M/M/c one', () => {
    // c = 4 at ρ 0.7: C = 0.4287, E[W] = 7.14 ms, p99 = 109.9 ms. c = 16 at ρ 0.85: C = 0.4332,
    // E[W] = 3.61 ms, p99 = 97.5 ms. c = 64 at ρ 0.9: C = 0.3107, p99 = 93.2 ms.
    for (const [c, rho, tolC, tolW, tolP99] of [
      [4, 0.7, 0.006, 0.04, 0.02],
      [16, 0.85, 0.012, 0.07, 0.015],
      [64, 0.9, 0.02, 0.15, 0.012],
    ] as const) {
      const lambda = rho * c * MU;
      const r = run('exponential', 1_000_000, { servers: c })(rho);
      const C = erlangC(c, lambda / MU);
      expect(Math.abs(r.waitProbability - C), `c=${c}`).toBeLessThan(tolC);
      within(r.meanWaitMs, (C / (c * MU - lambda)) * 1000, tolW);
      within(percentile(r.responseMs, 99), mmcP99Ms(c, lambda), tolP99);
    }
  });

  it('the exact formulas themselves: M/M/1 Erlang C = ρ, M/M/c p99 → M/M/1 p99 at c = 1', () => {
    expect(erlangC(1, 0.7)).toBeCloseTo(0.7, 12);
    expect(erlangC(14, 10)).toBeCloseTo(0.1741, 4); // the Erlang C reference case
    expect(mmcP99Ms(1, 35)).toBeCloseTo((Math.log(100) / 15) * 1000, 6);
  });
});

describe('simulateFifo: random balancing', () => {
  it('N instances of one server are N independent M/G/1 at λ/N', () => {
    // 4 × M/M/1 at ρ 0.7: p99 307.0 ms as for one; 4 × M/D/1: E[W] 23.3 ms.
    const mm = run('exponential', 1_000_000, { instances: 4, concurrency: 1 })(0.7);
    within(percentile(mm.responseMs, 99), (Math.log(100) / (MU - 35)) * 1000, 0.035);
    expect(Math.abs(mm.waitProbability - 0.7)).toBeLessThan(0.007);
    const md = run('fixed', 500_000, { instances: 4, concurrency: 1 })(0.7);
    within(md.meanWaitMs, pkWaitMs(0.7, 0), 0.04);
  });

  it('N instances of concurrency c: P(W > 0) is Erlang C of one instance', () => {
    // 3 instances × 4 at ρ 0.7: each is M/M/4 at 2.8 erlangs, C = 0.4287 (pooled 12 servers: 0.2120).
    const r = run('exponential', 600_000, { instances: 3, concurrency: 4 })(0.7);
    expect(Math.abs(r.waitProbability - erlangC(4, 2.8))).toBeLessThan(0.008);
    within(percentile(r.responseMs, 99), mmcP99Ms(4, 140), 0.025);
  });
});

describe('simulateFifo: least outstanding (join-the-shortest-queue)', () => {
  const at = (mode: 'random' | 'leastOutstanding', spec: string, instances: number, concurrency: number) =>
    simulateFifo({
      sampler: parseServiceTime(spec, MEAN_MS),
      requests: 400_000,
      seed: 7,
      arrivalRps: 110,
      mode,
      instances,
      concurrency,
    });

  it('one instance of c servers is the pooled queue of c: the same response times', () => {
    const one = at('leastOutstanding', 'lognormal:cv=2', 1, 4);
    const pooled = simulateFifo({
      sampler: parseServiceTime('lognormal:cv=2', MEAN_MS),
      requests: 400_000,
      seed: 7,
      arrivalRps: 110,
      servers: 4,
    });
    expect(Array.from(one.responseMs.subarray(0, 1000))).toEqual(Array.from(pooled.responseMs.subarray(0, 1000)));
    expect(percentile(one.responseMs, 99)).toBe(percentile(pooled.responseMs, 99));
  });

  it('4 × 1 at 110 rps of 20 ms: p99 between the pooled M/M/4 and 4 random M/M/1, as a separate simulation says', () => {
    // A separate Python simulation of the same pool (400,000 arrivals) gave a p99 of 109.3 ms for
    // the exponential and 261.3 ms for lognormal CV 2 (one queue: 97.1 and 182.7 ms).
    const exp = percentile(at('leastOutstanding', 'exponential', 4, 1).responseMs, 99);
    expect(exp).toBeGreaterThan(mmcP99Ms(4, 110) * 1.05);
    expect(exp).toBeLessThan(percentile(at('random', 'exponential', 4, 1).responseMs, 99));
    within(exp, 109.3, 0.05);
    within(percentile(at('leastOutstanding', 'lognormal:cv=2', 4, 1).responseMs, 99), 261.3, 0.08);
  });
});

describe('determinism and percentiles', () => {
  it('same seed, same output; another seed, another', () => {
    const opts: FifoOptions = {
      servers: 4,
      arrivalRps: 150,
      sampler: parseServiceTime('lognormal:cv=2', MEAN_MS),
      requests: 20_000,
      seed: 42,
    };
    const a = simulateFifo(opts);
    const b = simulateFifo(opts);
    expect(b.responseMs).toEqual(a.responseMs);
    expect(b.meanWaitMs).toBe(a.meanWaitMs);
    expect(simulateFifo({ ...opts, seed: 43 }).responseMs).not.toEqual(a.responseMs);
    expect(createRng(1)()).toBe(createRng(1)());
    expect(createRng(1)()).not.toBe(createRng(2)());
  });

  it('percentile is the exact nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 99.5)).toBe(100);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 100)).toBe(100);
    expect(xs[0]).toBe(100); // the input is not reordered
    const rng = createRng(5);
    const ys = Float64Array.from({ length: 10_001 }, () => Math.floor(rng() * 50)); // many ties
    const sorted = Float64Array.from(ys).sort();
    expect(percentiles(ys, [1, 50, 99, 99.9])).toEqual([100, 5001, 9901, 9991].map((k) => sorted[k - 1]));
  });
});
