// Ground truth for the latency model: a seeded discrete-event simulation of FIFO multi-server queues
// with Poisson arrivals and general service times (M/G/c). It imports nothing from src/core on
// purpose: it is what the core's M/M/c and M/G/c approximations are checked against.
//
// - pooled: one FIFO queue feeding `servers` identical servers (leastRequests balancing). Requests
//   start in arrival order, each on the earliest-free server, so one binary min-heap of the servers'
//   free times is the whole state: start = max(arrival, heap top), response = start − arrival + service.
// - random: each arrival picks one of `instances` uniformly (kube-proxy iptables), each instance its
//   own FIFO M/G/c with `concurrency` servers: one heap per instance, in one Float64Array.
// - leastOutstanding: each arrival goes at once to the instance with the fewest requests not yet
//   answered (ties uniformly), where it waits FIFO for one of its `concurrency` servers: what the
//   local balancer's leastRequests and Envoy's least-request do (join-the-shortest-queue). Unlike
//   pooled, a request may wait behind one instance's long job while another instance frees first.
//
// Worked number: M/M/1 with 20 ms service at ρ = 0.7 (35 rps) has T ~ Exp(50 − 35 /s), so its p99 is
// ln(100)/15 = 307 ms; test/support/mgc-sim.test.ts checks that and the other closed forms.

/** Uniform in [0, 1), 53 bits. */
export type Rng = () => number;

// splitmix32 spreads any seed over the 128-bit state (xoshiro must not start all-zero).
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** (Blackman & Vigna), two 32-bit outputs per double: with 32-bit uniforms −ln(1 − u)
 * stops at ln 2³² = 22.2 means and a Box–Muller normal at 6.7σ; with 53 bits, 36.7 means and 8.6σ.
 */
export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  if ((a | b | c | d) === 0) a = 1;
  const next32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  return () => ((next32() >>> 5) * 67108864 + (next32() >>> 6)) / 9007199254740992;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** An exponential with mean 1: 1 − u is in (0, 1], so the log is finite. */
function exp1(rng: Rng): number {
  return -Math.log(1 - rng());
}

/** One standard normal by Box–Muller; the second one is dropped so a sampler holds no state. */
function normal(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

// Acklam's coefficients, highest power first; the denominators' constant term 1 is appended.
const ACKLAM_A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
];
const ACKLAM_B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1];
const ACKLAM_C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const ACKLAM_D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1];

function horner(coeffs: readonly number[], x: number): number {
  let y = 0;
  for (const k of coeffs) y = y * x + k;
  return y;
}

/**
 * The standard normal quantile Φ⁻¹(p), p in (0, 1): Acklam's rational approximation (relative error
 * < 1.2e−9), enough for service-time quantiles. Φ⁻¹(0.99) = 2.3263479, Φ⁻¹(0.999) = 3.0902323.
 */
export function inverseNormal(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`inverseNormal: p must be in (0, 1), got ${p}`);
  const pLow = 0.02425;
  if (p < pLow || p > 1 - pLow) {
    // Tails: q = √(−2 ln p) of the nearer tail, odd symmetry for the upper one.
    const q = Math.sqrt(-2 * Math.log(p < pLow ? p : 1 - p));
    const x = horner(ACKLAM_C, q) / horner(ACKLAM_D, q);
    return p < pLow ? x : -x;
  }
  const q = p - 0.5;
  return (q * horner(ACKLAM_A, q * q)) / horner(ACKLAM_B, q * q);
}

/** A service-time distribution: its exact mean and CV, a sampler, and its exact quantile function. */
export interface ServiceDistribution {
  /** The spec string it parses from, e.g. `lognormal:cv=2`. */
  readonly spec: string;
  readonly meanMs: number;
  /** Coefficient of variation (standard deviation ÷ mean), exact. */
  readonly cv: number;
  /** One service time, ms. Stateless: everything random comes from `rng`. */
  sample(rng: Rng): number;
  /** The exact p-quantile, p in (0, 1): the smallest x with P(S ≤ x) ≥ p. */
  quantileMs(p: number): number;
}

export function fixed(meanMs: number): ServiceDistribution {
  return { spec: 'fixed', meanMs, cv: 0, sample: () => meanMs, quantileMs: () => meanMs };
}

export function exponential(meanMs: number): ServiceDistribution {
  return {
    spec: 'exponential',
    meanMs,
    cv: 1,
    sample: (rng) => meanMs * exp1(rng),
    quantileMs: (p) => -meanMs * Math.log1p(-p),
  };
}

/** Sum of k exponentials of mean meanMs/k: CV 1/√k (erlang:4 → 0.5). */
export function erlang(k: number, meanMs: number): ServiceDistribution {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`erlang: k must be a positive integer, got ${k}`);
  const scale = meanMs / k;
  // P(S ≤ x) = 1 − e^(−y)·Σ_{n<k} yⁿ/n!, y = x/scale; monotone, so its inverse is a bisection.
  const cdf = (x: number): number => {
    const y = x / scale;
    let term = 1;
    let sum = 1;
    for (let n = 1; n < k; n++) {
      term *= y / n;
      sum += term;
    }
    return 1 - Math.exp(-y) * sum;
  };
  return {
    spec: `erlang:${k}`,
    meanMs,
    cv: 1 / Math.sqrt(k),
    sample: (rng) => {
      // −ln of a product of k uniforms is a sum of k exponentials with one log; k ≤ ~100 keeps the
      // product above the smallest double (each factor is ≥ 2^−53).
      let prod = 1;
      for (let i = 0; i < k; i++) prod *= 1 - rng();
      return -scale * Math.log(prod);
    },
    quantileMs: (p) => bisectQuantile(cdf, p, meanMs),
  };
}

/** Lognormal with the given mean and CV: σ² = ln(1 + cv²), μ = ln(mean) − σ²/2. */
export function lognormal(cv: number, meanMs: number): ServiceDistribution {
  const sigma = Math.sqrt(Math.log1p(cv * cv));
  const mu = Math.log(meanMs) - (sigma * sigma) / 2;
  return {
    spec: `lognormal:cv=${cv}`,
    meanMs,
    cv,
    sample: (rng) => Math.exp(mu + sigma * normal(rng)),
    quantileMs: (p) => Math.exp(mu + sigma * inverseNormal(p)),
  };
}

export interface BimodalShape {
  /** Probability of the fast mode. */
  pFast: number;
  fastMs: number;
  slowMs: number;
}

/**
 * Two point masses. The case 95 % at 10 ms, 5 % at 210 ms: mean 20 ms, E[S²] = 0.95·100 +
 * 0.05·44,100 = 2,300, variance 1,900, CV √1900/20 = 2.18.
 */
export function bimodal({ pFast, fastMs, slowMs }: BimodalShape): ServiceDistribution {
  const meanMs = pFast * fastMs + (1 - pFast) * slowMs;
  const second = pFast * fastMs * fastMs + (1 - pFast) * slowMs * slowMs;
  return {
    spec: `bimodal:${pFast},${fastMs},${slowMs}`,
    meanMs,
    cv: Math.sqrt(Math.max(0, second - meanMs * meanMs)) / meanMs,
    sample: (rng) => (rng() < pFast ? fastMs : slowMs),
    quantileMs: (p) => (p <= pFast ? fastMs : slowMs),
  };
}

/**
 * Parse `fixed`, `exponential`, `erlang:4`, `lognormal:cv=2` or `bimodal:0.95,10,210` with the given
 * mean. A bimodal spec carries its own mean (20 ms for that one); both modes are scaled to `meanMs`
 * (a no-op when they agree), so every case of a table has the same mean.
 */
export function parseServiceTime(spec: string, meanMs: number): ServiceDistribution {
  const [kind, arg = ''] = spec.split(':', 2) as [string, string?];
  const bad = (why: string): Error => new Error(`service-time spec '${spec}': ${why}`);
  if (!(meanMs > 0)) throw bad(`mean must be > 0, got ${meanMs}`);
  switch (kind) {
    case 'fixed':
    case 'deterministic':
      return fixed(meanMs);
    case 'exponential':
    case 'exp':
      return exponential(meanMs);
    case 'erlang': {
      const k = Number(arg);
      if (!Number.isInteger(k) || k < 1) throw bad('erlang:k needs a positive integer k');
      return erlang(k, meanMs);
    }
    case 'lognormal': {
      const m = /^cv=([0-9.]+(?:e[-+]?\d+)?)$/i.exec(arg);
      const cv = m ? Number(m[1]) : NaN;
      if (!(cv > 0)) throw bad('lognormal:cv=X needs X > 0');
      return lognormal(cv, meanMs);
    }
    case 'bimodal': {
      const [pFast, fastMs, slowMs] = arg.split(',').map(Number);
      if (!(pFast! > 0 && pFast! < 1 && fastMs! > 0 && slowMs! > 0)) throw bad('bimodal:pFast,fastMs,slowMs');
      const given = bimodal({ pFast: pFast!, fastMs: fastMs!, slowMs: slowMs! });
      // 0.95·10 + 0.05·210 is 19.999999999999996: rounding is not a different mean.
      const scale = meanMs / given.meanMs;
      if (Math.abs(scale - 1) < 1e-9) return given;
      const d = bimodal({ pFast: pFast!, fastMs: fastMs! * scale, slowMs: slowMs! * scale });
      return { ...d, spec: `${given.spec} (×${scale})` };
    }
    default:
      throw bad('expected fixed, exponential, erlang:k, lognormal:cv=X or bimodal:p,fastMs,slowMs');
  }
}

/** The smallest x with cdf(x) ≥ p, by bisection to 1e−10 relative. */
function bisectQuantile(cdf: (x: number) => number, p: number, start: number): number {
  let hi = start;
  while (cdf(hi) < p) hi *= 2;
  let lo = 0;
  for (let i = 0; i < 200 && hi - lo > 1e-10 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The exact service-time quantiles in the shape of core's ServiceTimeQuantiles. */
export function serviceTimeQuantiles(dist: ServiceDistribution): {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
} {
  return {
    p50: dist.quantileMs(0.5),
    p90: dist.quantileMs(0.9),
    p99: dist.quantileMs(0.99),
    p999: dist.quantileMs(0.999),
  };
}

export type FifoOptions = {
  arrivalRps: number;
  sampler: ServiceDistribution;
  /** Requests measured after the warm-up. */
  requests: number;
  /** Requests simulated first and not measured (the queue starts empty); default requests/20. */
  warmup?: number;
  seed: number;
} & (
  { mode?: 'pooled'; servers: number } | { mode: 'random' | 'leastOutstanding'; instances: number; concurrency: number }
);

export interface FifoResult {
  /** Response times (wait + service) of the measured requests in arrival order, ms. */
  responseMs: Float64Array;
  /** Their waits before service, ms (what a balancer holding the queue measures before dispatch). */
  waitMs: Float64Array;
  meanResponseMs: number;
  meanWaitMs: number;
  /** Empirical P(W > 0). */
  waitProbability: number;
  /** Mean of the service times drawn for the measured requests, ms. */
  meanServiceMs: number;
}

/**
 * Simulate a FIFO multi-server queue with Poisson arrivals (see the top of the file). Arrivals,
 * service times and routing draw from three streams of the seed, so two distributions at the same
 * seed see the same arrival instants.
 */
export function simulateFifo(opts: FifoOptions): FifoResult {
  const random = opts.mode === 'random';
  const jsq = opts.mode === 'leastOutstanding';
  const [groups, width] = 'servers' in opts ? [1, opts.servers] : [opts.instances, opts.concurrency];
  if (!(opts.arrivalRps > 0) || !(groups >= 1) || !(width >= 1) || !(opts.requests >= 1)) {
    throw new RangeError('simulateFifo: arrivalRps > 0, requests ≥ 1 and at least one server are required');
  }
  const seeds = splitmix32(opts.seed);
  const arrivals = createRng(seeds());
  const service = createRng(seeds());
  const route = createRng(seeds());
  const sampler = opts.sampler;
  const gapMs = 1000 / opts.arrivalRps;
  const warmup = opts.warmup ?? Math.ceil(opts.requests / 20);
  const total = warmup + opts.requests;
  // Free time of every server; instance g's heap is free[g·width, (g+1)·width). All free at 0.
  const free = new Float64Array(groups * width);
  const out = new Float64Array(opts.requests);
  const waits = new Float64Array(opts.requests);
  // leastOutstanding: each instance's answer times still ahead (min-heaps), dropped as `now` passes.
  const pending: number[][] = jsq ? Array.from({ length: groups }, () => []) : [];
  let now = 0;
  let waited = 0;
  let waitSum = 0;
  let serviceSum = 0;
  for (let i = 0; i < total; i++) {
    now += gapMs * exp1(arrivals);
    const g = random ? Math.floor(route() * groups) : jsq ? leastOutstanding(pending, now, route) : 0;
    const off = g * width;
    const top = free[off]!;
    const start = top > now ? top : now;
    const s = sampler.sample(service);
    replaceTop(free, off, width, start + s);
    if (jsq) heapPush(pending[g]!, start + s);
    if (i >= warmup) {
      const w = start - now;
      out[i - warmup] = w + s;
      waits[i - warmup] = w;
      if (w > 0) waited++;
      waitSum += w;
      serviceSum += s;
    }
  }
  const n = opts.requests;
  let responseSum = 0;
  for (let i = 0; i < n; i++) responseSum += out[i]!;
  return {
    responseMs: out,
    waitMs: waits,
    meanResponseMs: responseSum / n,
    meanWaitMs: waitSum / n,
    waitProbability: waited / n,
    meanServiceMs: serviceSum / n,
  };
}

/** The instance with the fewest requests outstanding at `now` (ties uniformly, by reservoir). */
function leastOutstanding(pending: number[][], now: number, route: Rng): number {
  let best = Infinity;
  let pick = 0;
  let ties = 0;
  for (let g = 0; g < pending.length; g++) {
    const h = pending[g]!;
    while (h.length > 0 && h[0]! <= now) heapPop(h);
    if (h.length < best) {
      best = h.length;
      pick = g;
      ties = 1;
    } else if (h.length === best && route() * ++ties < 1) pick = g;
  }
  return pick;
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): void {
  const last = h.pop()!;
  if (h.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= h.length) break;
    const c = l + 1 < h.length && h[l + 1]! < h[l]! ? l + 1 : l;
    if (h[c]! >= last) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = last;
}

/** Replace the minimum of the heap h[off, off+n) with v and sift it down (graph-sim.ts uses it too). */
export function replaceTop(h: Float64Array, off: number, n: number, v: number): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let m = l;
    let mv = h[off + l]!;
    if (l + 1 < n) {
      const rv = h[off + l + 1]!;
      if (rv < mv) {
        m = l + 1;
        mv = rv;
      }
    }
    if (mv >= v) break;
    h[off + i] = mv;
    i = m;
  }
  h[off + i] = v;
}

/**
 * Exact empirical percentiles, p in [0, 100]: for each, the smallest sample with at least p % of the
 * samples at or below it (nearest rank; of 1..100, p99 = 99 and p99.5 = 100). Quickselect on one
 * copy: O(n) per percentile, where sorting 2 M doubles costs about a second.
 */
export function percentiles(samples: Float64Array | readonly number[], ps: readonly number[]): number[] {
  const n = samples.length;
  if (n === 0) return ps.map(() => NaN);
  const a = Float64Array.from(samples);
  return ps.map((p) => select(a, Math.min(n, Math.max(1, Math.ceil((p / 100) * n - 1e-9))) - 1));
}

/** One exact empirical percentile (see percentiles). */
export function percentile(samples: Float64Array | readonly number[], p: number): number {
  return percentiles(samples, [p])[0]!;
}

// Wirth's selection: permute `a` so that a[k] is the k-th smallest, and return it. Earlier calls
// leave `a` a permutation, so several ranks can be selected on the same copy.
function select(a: Float64Array, k: number): number {
  let l = 0;
  let r = a.length - 1;
  while (l < r) {
    const x = a[k]!;
    let i = l;
    let j = r;
    do {
      while (a[i]! < x) i++;
      while (x < a[j]!) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) l = i;
    if (k < i) r = j;
  }
  return a[k]!;
}
