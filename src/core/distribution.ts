// Response-time distributions on a shared time grid, for composing a call graph (src/core/graph.ts).
//
// A distribution is a pmf over the grid points 0, h, 2h, … (k−1)·h, each time shared between its two
// nearest points (linear binning: the mean is exact), so a sum of two grid points is a grid point
// and convolution is exact for the discretized values; a percentile is read with p[i] spread over
// ((i − ½)h, (i + ½)h]. Mass past the last point is dropped: the CDF is right up to the horizon,
// which is all a percentile ≤ the horizon needs (every part of a sum is ≥ 0, so a part past the
// horizon puts the sum past it too).
//
//   sequential calls   X + Y        convolution of the pmfs
//   n calls in a row   X1 + … + Xn  the n-th convolution power (binary powers: log2 n convolutions)
//   parallel calls     max(X, Y)    product of the CDFs
//   perRequest 1.5     ⌊p⌋ or ⌈p⌉   a mixture: 0.5 × (one call) + 0.5 × (two calls)
// E.g. X, Y ~ Exp(mean 10 ms): P(X + Y ≤ t) = 1 − e^(−t/10)(1 + t/10), p99 66.4 ms (not 2 × 46.1);
// P(max ≤ t) = (1 − e^(−t/10))², p99 52.9 ms. test/core/graph.test.ts checks both on the grid.

export interface Grid {
  /** Spacing, ms. */
  readonly h: number;
  /** Points: 0 … (k − 1)·h. */
  readonly k: number;
}

/** A grid of `k` points reaching `horizonMs`. */
export function gridFor(horizonMs: number, k: number): Grid {
  return { h: horizonMs / (k - 0.5), k };
}

const SUB = 8;

/**
 * The pmf of a time whose tail is P(T > t ms) = tail(t), by linear binning: a time x between two
 * points gives each a share by its distance, so the mean is kept exactly (a 2-ms call on a 26-ms
 * grid adds 2 ms on average, not 0). p[i] is the second difference of G(t) = ∫₀ᵗ P(T ≤ u) du, ÷ h;
 * G by Simpson's rule (on 8 pieces of an interval where the CDF rises steeply).
 */
export function pmfFromTail(tail: (tMs: number) => number, g: Grid): Float64Array {
  const { h, k } = g;
  const G = new Float64Array(k + 1);
  // Simpson on each interval; where the CDF rises by more than 1 % across it, on SUB pieces (a 2-ms
  // service on a 25-ms grid keeps its mean; the smooth rest costs 2 tail evaluations a point).
  let prev = 1 - tail(0);
  for (let i = 0; i < k; i++) {
    const t0 = i * h;
    const end = 1 - tail(t0 + h);
    let area: number;
    if (end - prev <= 0.01) {
      area = (h * (prev + 4 * (1 - tail(t0 + h / 2)) + end)) / 6;
    } else {
      area = 0;
      const step = h / SUB;
      let a = prev;
      for (let j = 0; j < SUB; j++) {
        const b = j === SUB - 1 ? end : 1 - tail(t0 + (j + 1) * step);
        area += (step * (a + 4 * (1 - tail(t0 + (j + 0.5) * step)) + b)) / 6;
        a = b;
      }
    }
    G[i + 1] = (G[i] as number) + area;
    prev = end;
  }
  const p = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const below = i > 0 ? (G[i - 1] as number) : 0;
    p[i] = Math.max(0, ((G[i + 1] as number) - 2 * (G[i] as number) + below) / h);
  }
  return p;
}

/** All mass at 0 (a call made zero times). */
export function pointAtZero(g: Grid): Float64Array {
  const p = new Float64Array(g.k);
  p[0] = 1;
  return p;
}

/** X + Y, truncated at the grid's end. Skips the zero ends of both (most pmfs are short). */
export function convolve(a: Float64Array, b: Float64Array): Float64Array {
  const k = a.length;
  const out = new Float64Array(k);
  const [a0, a1] = support(a);
  const [b0, b1] = support(b);
  for (let i = a0; i <= a1; i++) {
    const ai = a[i] as number;
    if (ai === 0) continue;
    const end = Math.min(b1, k - 1 - i);
    for (let j = b0; j <= end; j++) out[i + j] = (out[i + j] as number) + ai * (b[j] as number);
  }
  return out;
}

const TINY = 1e-15;
/** First and last index with mass above 1e-15 (the rest cannot move a percentile). */
function support(p: Float64Array): [number, number] {
  let lo = 0;
  let hi = p.length - 1;
  while (lo < hi && (p[lo] as number) <= TINY) lo++;
  while (hi > lo && (p[hi] as number) <= TINY) hi--;
  return [lo, hi];
}

/** X1 + … + Xn of n independent copies. */
export function convolutionPower(a: Float64Array, n: number): Float64Array {
  let result: Float64Array | undefined;
  let base = a;
  for (let m = n; m > 0; m = Math.floor(m / 2)) {
    if (m % 2 === 1) result = result ? convolve(result, base) : base;
    if (m > 1) base = convolve(base, base);
  }
  return result ?? pointAtZero({ h: 1, k: a.length });
}

/** The total time of `perRequest` calls in a row to a callee with pmf `a` (⌊p⌋ or ⌈p⌉ calls, mean p). */
export function sequentialCalls(a: Float64Array, perRequest: number): Float64Array {
  const n = Math.floor(perRequest);
  const f = perRequest - n;
  const low = convolutionPower(a, n);
  if (f < 1e-12) return low;
  const high = convolve(low, a);
  return mix(low, high, f);
}

/** (1 − f)·a + f·b. */
function mix(a: Float64Array, b: Float64Array, f: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (1 - f) * (a[i] as number) + f * (b[i] as number);
  return out;
}

/** The CDF at the upper end of each point's interval: P(X ≤ (i + ½)h). */
export function cdfOf(p: Float64Array): Float64Array {
  const c = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) c[i] = s += p[i] as number;
  return c;
}

/** The pmf of a CDF given at the points' upper ends (the inverse of cdfOf). */
export function pmfOfCdf(c: Float64Array): Float64Array {
  const p = new Float64Array(c.length);
  let prev = 0;
  for (let i = 0; i < c.length; i++) {
    p[i] = Math.max(0, (c[i] as number) - prev);
    prev = Math.max(prev, c[i] as number);
  }
  return p;
}

/**
 * The CDF of the slowest of a parallel group: each member is `perRequest` copies of a callee's
 * CDF (⌊p⌋ or ⌈p⌉ of them), all issued together; multiplies into `into`.
 */
export function multiplyParallel(into: Float64Array, cdf: Float64Array, perRequest: number): void {
  const n = Math.floor(perRequest);
  const f = perRequest - n;
  for (let i = 0; i < into.length; i++) {
    const c = cdf[i] as number;
    const low = c ** n;
    into[i] = (into[i] as number) * (f < 1e-12 ? low : (1 - f) * low + f * low * c);
  }
}

/** P(X ≤ tMs), linear between the points' upper ends; 0 below ½h of mass. */
export function cdfAt(p: Float64Array, g: Grid, tMs: number): number {
  const x = tMs / g.h - 0.5; // index whose upper end is tMs
  if (x < -1) return 0;
  const i = Math.floor(x);
  let below = 0;
  for (let j = 0; j <= Math.min(i, p.length - 1); j++) below += p[j] as number;
  if (i >= p.length - 1) return below;
  const next = below + (p[i + 1] as number);
  return below + (next - below) * (x - i);
}

/** The time (ms) at which the CDF reaches `q`; Infinity when it does not within the grid. */
export function quantileMs(p: Float64Array, g: Grid, q: number): number {
  let below = 0;
  for (let i = 0; i < p.length; i++) {
    const next = below + (p[i] as number);
    if (next >= q) {
      const frac = (p[i] as number) > 0 ? (q - below) / (p[i] as number) : 1;
      return (i - 0.5 + frac) * g.h;
    }
    below = next;
  }
  return Infinity;
}
