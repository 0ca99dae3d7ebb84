// The service time S of one request, as a distribution the M/G/c response-time tail can use.
//
// Every non-exponential distribution becomes a mixture of uniform pieces [lo, hi] with weights w
// (a piece with lo = hi is a point mass). That makes both quantities the response tail needs
// closed-form and cheap (≈ 40 pieces):
//   P(S > t)                        = Σ w · clamp((hi − t)/(hi − lo), 0, 1)
//   E[e^(−θ(t − S)); S ≤ t] (uniform) = Σ w · (e^(−θ(t − min(hi, t))) − e^(−θ(t − lo))) / (θ(hi − lo))
// which is P(W + S > t) − P(S > t) for an exponential wait W of rate θ.
//
// Where the pieces come from:
// - quantiles given (measured by `headroom loadtest`'s probe, or the spec): pieces through
//   (0, q0) (0.5, p50) (0.9, p90) (0.99, p99) (0.999, p999), then an exponential tail past p999
//   whose mean makes the whole mean equal serviceTimeMs. E.g. 95 % at 10 ms, 5 % at 210 ms:
//   p50 = p90 = 10, p99 = p999 = 210 → the tail is the 0.1 % beyond 210 ms, mean 20 ms overall.
// - CV only: a fixed time (CV 0), a gamma (0 < CV < 1: Erlang-4 for CV 0.5) or a lognormal
//   (CV > 1: σ² = ln(1 + CV²)), cut at quantile levels that are dense in the tail (down to 1e-6),
//   then scaled so the mean is exactly serviceTimeMs. CV 1 is the exponential itself (exact M/M/c).
import { probit } from 'simple-statistics';
import type { ServiceTimeModel, ServiceTimeQuantiles } from './model.ts';

export interface ServiceDistribution {
  /** Mean service time, seconds. */
  readonly mean: number;
  /** Coefficient of variation used to scale the queueing wait (two-moment approximation). */
  readonly cv: number;
  /** E[S³] ÷ mean³: how heavy the tail is (1 fixed, 6 exponential, (1 + CV²)³ lognormal). */
  readonly m3: number;
  /** True when S is exponential: the exact M/M/c formulas apply. */
  readonly exponential: boolean;
  /** Pieces: lower and upper ends (seconds) and weights (sum 1). Empty when exponential. */
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly w: Float64Array;
  /** How the model names it: "service CV 0.5 (gamma)", "service p50/p99/p99.9 8.9/171/451 ms, CV 2". */
  readonly label: string;
}

const EXPONENTIAL_LABEL = 'exponential service times (CV 1)';

// Quantile levels of the pieces for a CV-only distribution: denser towards the tail, where the
// p99 / p99.9 of the response is decided. The last piece is a point mass at its middle level.
const LEVELS = [
  0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.965, 0.98, 0.99, 0.9925, 0.995, 0.997, 0.998,
  0.999, 0.99925, 0.9995, 0.9997, 0.9998, 0.9999, 0.99995, 0.99998, 0.99999, 0.999995, 0.999999, 1,
];

// Levels of the exponential tail past the measured p999 (mass 0.001).
const TAIL_LEVELS = [0.999, 0.9993, 0.9995, 0.9997, 0.9998, 0.9999, 0.99995, 0.99999, 0.999999, 1];

const cache = new Map<string, ServiceDistribution>();
const expCache = new Map<number, ServiceDistribution>();

/** The distribution of a service with mean `meanMs` and variability `st` (absent = exponential). */
export function serviceDistribution(meanMs: number, st?: ServiceTimeModel): ServiceDistribution {
  const exponential = !st || (st.quantilesMs === undefined && Math.abs(st.cv - 1) < 1e-9);
  if (exponential) {
    // Planning 10,000 services asks for these millions of times: no allocation per call.
    let e = expCache.get(meanMs);
    if (!e) {
      if (expCache.size > 4096) expCache.clear();
      e = exponentialDistribution(meanMs / 1000);
      expCache.set(meanMs, e);
    }
    return e;
  }
  const key = `${meanMs}|${st.cv}|${st.quantilesMs ? Object.values(st.quantilesMs).join(',') : ''}`;
  let d = cache.get(key);
  if (!d) {
    d = st.quantilesMs ? fromQuantiles(meanMs / 1000, st.cv, st.quantilesMs) : fromCv(meanMs / 1000, st.cv);
    // A plan of 10,000 services with distinct distributions stays bounded.
    if (cache.size > 4096) cache.clear();
    cache.set(key, d);
  }
  return d;
}

const EMPTY = new Float64Array(0);
function exponentialDistribution(mean: number, label = EXPONENTIAL_LABEL): ServiceDistribution {
  return { mean, cv: 1, m3: 6, exponential: true, lo: EMPTY, hi: EMPTY, w: EMPTY, label };
}

/** Standard normal quantile. */
function z(u: number): number {
  return probit(u);
}

/** Gamma quantile of shape k, scale 1 by Wilson–Hilferty (within ~1 % for k ≥ 1, i.e. CV ≤ 1). */
function gammaQuantile(k: number, u: number): number {
  const a = 1 / (9 * k);
  const x = 1 - a + z(u) * Math.sqrt(a);
  return k * Math.max(0, x) ** 3;
}

function fromCv(mean: number, cv: number): ServiceDistribution {
  if (cv < 1e-6) {
    return pieces([mean], [mean], [1], mean, 0, 'fixed service time (CV 0)', 1);
  }
  let q: (u: number) => number;
  if (cv < 1) {
    const k = 1 / (cv * cv);
    q = (u) => gammaQuantile(k, u);
  } else {
    const s = Math.sqrt(Math.log1p(cv * cv));
    q = (u) => Math.exp(s * z(u));
  }
  const n = LEVELS.length - 1;
  const lo = new Float64Array(n);
  const hi = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const a = LEVELS[i] as number;
    const b = LEVELS[i + 1] as number;
    w[i] = b - a;
    if (i === n - 1) {
      lo[i] = hi[i] = q((a + b) / 2);
    } else {
      lo[i] = a === 0 ? 0 : q(a);
      hi[i] = q(b);
    }
  }
  // Scale to the exact mean (the cut tail and the approximations move it by a few per cent).
  const m = pieceMean(lo, hi, w);
  for (let i = 0; i < n; i++) {
    lo[i] = ((lo[i] as number) * mean) / m;
    hi[i] = ((hi[i] as number) * mean) / m;
  }
  const c2 = cv * cv;
  const m3 = cv < 1 ? (1 + c2) * (1 + 2 * c2) : (1 + c2) ** 3;
  return pieces(lo, hi, w, mean, cv, `service CV ${fmt(cv)}${cv < 1 ? ' (gamma)' : ' (lognormal)'}`, m3);
}

function fromQuantiles(mean: number, cv: number, qs: ServiceTimeQuantiles): ServiceDistribution {
  const p50 = qs.p50 / 1000;
  const p90 = qs.p90 / 1000;
  const p99 = qs.p99 / 1000;
  const p999 = qs.p999 / 1000;
  const lo: number[] = [];
  const hi: number[] = [];
  const w: number[] = [];
  // Below the median: uniform from q0. A tight body (Erlang-4: p90/p50 = 1.82) starts near
  // 0.43·p50, which gives its lower half the right mean; a wide one (exponential: 3.3) starts at 0.
  lo.push(p50 * Math.max(0, 1 - 0.7 * (p90 / p50 - 1)));
  hi.push(p50);
  w.push(0.5);
  // Between quantiles the survival falls log-linearly (an exponential piece, as a tail does), cut
  // into 4 uniform pieces: uniform alone would put too much mass just below p999.
  const knots: Array<[number, number]> = [
    [0.5, p50],
    [0.1, p90],
    [0.01, p99],
    [0.001, p999],
  ];
  for (let k = 0; k < 3; k++) {
    const [s0, t0] = knots[k] as [number, number];
    const [s1, t1] = knots[k + 1] as [number, number];
    const at = (s: number): number => t0 + ((t1 - t0) * Math.log(s0 / s)) / Math.log(s0 / s1);
    for (let j = 0; j < 4; j++) {
      const a = s0 * (s1 / s0) ** (j / 4);
      const b = s0 * (s1 / s0) ** ((j + 1) / 4);
      lo.push(at(a));
      hi.push(at(b));
      w.push(a - b);
    }
  }
  // Past p999: the same decay as from p99 to p999 (β per factor e), the neutral continuation.
  const beta = (p999 - p99) / Math.log(10);
  const nt = TAIL_LEVELS.length - 1;
  const q = (u: number): number => p999 + beta * Math.log(0.001 / (1 - u));
  for (let i = 0; i < nt; i++) {
    const a = TAIL_LEVELS[i] as number;
    const b = TAIL_LEVELS[i + 1] as number;
    w.push(b - a);
    if (i === nt - 1) {
      const v = q((a + b) / 2);
      lo.push(v);
      hi.push(v);
    } else {
      lo.push(q(a));
      hi.push(q(b));
    }
  }
  const L = Float64Array.from(lo);
  const H = Float64Array.from(hi);
  const W = Float64Array.from(w);
  // The quantiles cannot see past p999. When the measured CV is larger than the pieces', the tail is
  // heavier than they show: raise E[S³] as a lognormal's moments grow, ((1 + CV²)/(1 + CVp²))³.
  const m = pieceMean(L, H, W);
  const cvPieces = Math.sqrt(Math.max(0, pieceMoment2(L, H, W) - m * m)) / m;
  const heavier = cv > cvPieces ? ((1 + cv * cv) / (1 + cvPieces * cvPieces)) ** 3 : 1;
  const m3 = (pieceMoment3(L, H, W) / m ** 3) * heavier;
  const label = `service p50/p99/p99.9 ${fmt(qs.p50)}/${fmt(qs.p99)}/${fmt(qs.p999)} ms, CV ${fmt(cv)}`;
  return pieces(L, H, W, mean, cv, label, m3);
}

function pieces(
  lo: ArrayLike<number>,
  hi: ArrayLike<number>,
  w: ArrayLike<number>,
  mean: number,
  cv: number,
  label: string,
  m3: number,
): ServiceDistribution {
  return {
    mean,
    cv,
    m3,
    exponential: false,
    lo: Float64Array.from(lo),
    hi: Float64Array.from(hi),
    w: Float64Array.from(w),
    label,
  };
}

function pieceMoment3(lo: Float64Array, hi: Float64Array, w: Float64Array): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) {
    const a = lo[i] as number;
    const b = hi[i] as number;
    m += ((w[i] as number) * (a * a * a + a * a * b + a * b * b + b * b * b)) / 4;
  }
  return m;
}

function pieceMoment2(lo: Float64Array, hi: Float64Array, w: Float64Array): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) {
    const a = lo[i] as number;
    const b = hi[i] as number;
    m += ((w[i] as number) * (a * a + a * b + b * b)) / 3;
  }
  return m;
}

function pieceMean(lo: Float64Array, hi: Float64Array, w: Float64Array): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) m += ((w[i] as number) * ((lo[i] as number) + (hi[i] as number))) / 2;
  return m;
}

/** The CV of the distribution the quantiles and mean describe (for a spec that gives quantiles only). */
export function impliedCv(meanMs: number, qs: ServiceTimeQuantiles): number {
  const d = fromQuantiles(meanMs / 1000, 0, qs);
  const m = pieceMean(d.lo, d.hi, d.w);
  return Math.sqrt(Math.max(0, pieceMoment2(d.lo, d.hi, d.w) - m * m)) / m;
}

/**
 * The smallest mean the quantiles allow. E[S] = ∫ P(S > t) dt, and P(S > t) is at least 0.5 below
 * p50, 0.1 below p90, 0.01 below p99, 0.001 below p999: E[S] ≥ 0.5·p50 + 0.1·(p90 − p50) +
 * 0.01·(p99 − p90) + 0.001·(p999 − p99). E.g. p50 10, p90 10, p99 210, p999 210 ms → ≥ 7 ms.
 */
export function minimumMeanMs(qs: ServiceTimeQuantiles): number {
  return 0.5 * qs.p50 + 0.1 * (qs.p90 - qs.p50) + 0.01 * (qs.p99 - qs.p90) + 0.001 * (qs.p999 - qs.p99);
}

/** P(S > t), t in seconds. */
export function serviceTail(d: ServiceDistribution, t: number): number {
  if (d.exponential) return t <= 0 ? 1 : Math.exp(-t / d.mean);
  let p = 0;
  const { lo, hi, w } = d;
  for (let i = 0; i < w.length; i++) {
    const a = lo[i] as number;
    const b = hi[i] as number;
    if (t < a) p += w[i] as number;
    else if (t < b) p += ((w[i] as number) * (b - t)) / (b - a);
  }
  return p;
}

/** The service time at quantile level p (seconds): the floor no instance count can beat. */
export function serviceQuantile(d: ServiceDistribution, p: number): number {
  if (d.exponential) return -Math.log1p(-p) * d.mean;
  let acc = 0;
  const { lo, hi, w } = d;
  for (let i = 0; i < w.length; i++) {
    const wi = w[i] as number;
    if (acc + wi >= p) return (lo[i] as number) + ((hi[i] as number) - (lo[i] as number)) * ((p - acc) / wi);
    acc += wi;
  }
  return hi[hi.length - 1] as number;
}

/**
 * P(S + W > t) − P(S > t) for W ~ Exp(theta): the chance that a request which waits finishes
 * after t although its service alone would not. Non-exponential distributions only.
 */
export function waitedTailExcess(d: ServiceDistribution, theta: number, t: number): number {
  let p = 0;
  const { lo, hi, w } = d;
  for (let i = 0; i < w.length; i++) {
    const a = lo[i] as number;
    if (t <= a) continue;
    const b = hi[i] as number;
    const wi = w[i] as number;
    if (b - a < 1e-15) {
      p += wi * Math.exp(-theta * (t - a));
    } else {
      const up = b < t ? b : t;
      p += (wi * (Math.exp(-theta * (t - up)) - Math.exp(-theta * (t - a)))) / (theta * (b - a));
    }
  }
  return p;
}

function fmt(x: number): string {
  if (Number.isInteger(x)) return String(x);
  const k = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return String(Math.round(x * 10 ** k) / 10 ** k);
}
