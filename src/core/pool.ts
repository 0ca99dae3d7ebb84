// A pool of N identical instances behind a load balancer, as an M/G/c model.
//
// Each instance runs `concurrency` requests at once, each taking `serviceTimeMs` on average, so one
// instance is `concurrency` servers of rate μ = 1000/serviceTimeMs.
// - leastRequests: the balancer sends each request to the least busy instance, so the pool behaves
//   like one shared queue: M/G/(N·c) with the full demand λ.
// - random (kube-proxy iptables, DNS round robin): each instance is its own M/G/c with λ/N, and a
//   request can queue on a busy instance while another sits idle. It needs more instances.
// E.g. 900 rps, 20 ms, c = 1, p99 ≤ 100 ms, exponential: leastRequests needs 21 instances; random
// needs 228, because each M/M/1 must keep P(T > 100 ms) = e^(−(50 − 900/N)·0.1) ≤ 0.01, i.e.
// 900/N ≤ 3.95 rps: a tight SLO near the service-time floor (92.1 ms) leaves almost no room to queue.
//
// Service times that are not exponential (src/core/service-time.ts): the response is T = W + S
// with W independent of S (FIFO). W is 0 with probability 1 − C (Erlang C, as in M/M/c) and
// otherwise W' with the M/M/c conditional mean scaled by (1 + CV²)/2 — the two-moment
// (Allen–Cunneen / Kingman) scaling, exact for the mean wait of M/G/1 — and a spread from E[S³]
// (waitMixture below: two exponentials). So
//   P(T > t) = P(S > t) + C · E[P(W' > t − S); S ≤ t],
// the convolution of that wait with the service-time distribution itself, closed form per piece.
// CV 1 and no quantiles is the exponential: the exact M/M/c formulas. E.g. fixed 20 ms, c = 4,
// ρ 0.7: p99 51.3 ms where a simulation measures 49.8 (M/M/c said 110). docs/benchmarks.md has
// the whole table.
import type { ServiceTimeModel } from './model.ts';
import {
  attainmentCeiling,
  erlangB,
  erlangC,
  erlangCFromB,
  isStable,
  responseExceedance,
  responsePercentile,
  type MmcQueue,
} from './queueing.ts';
import {
  serviceDistribution,
  serviceQuantile,
  serviceTail,
  waitedTailExcess,
  type ServiceDistribution,
} from './service-time.ts';

export type LoadBalancing = 'leastRequests' | 'random';

export interface PoolShape {
  demandRps: number;
  serviceTimeMs: number;
  concurrency: number;
  loadBalancing: LoadBalancing;
  /** Service-time variability; absent = exponential (M/M/c). */
  serviceTime?: ServiceTimeModel | undefined;
}

export interface LatencySlo {
  latencyMs: number;
  /** Percentile in (0, 100), e.g. 99 or 99.9. */
  percentile: number;
}

/** The M/M/c queue one request sees in a pool of `instances`. */
export function poolQueue(shape: PoolShape, instances: number): MmcQueue {
  const serviceRate = 1000 / shape.serviceTimeMs;
  if (shape.loadBalancing === 'leastRequests') {
    return { servers: instances * shape.concurrency, arrivalRate: shape.demandRps, serviceRate };
  }
  return {
    servers: shape.concurrency,
    arrivalRate: instances > 0 ? shape.demandRps / instances : Infinity,
    serviceRate,
  };
}

/** Requests per second one instance completes when fully busy: c · 1000/serviceTimeMs. */
export function instanceCapacityRps(shape: Pick<PoolShape, 'serviceTimeMs' | 'concurrency'>): number {
  return (shape.concurrency * 1000) / shape.serviceTimeMs;
}

/** The service-time distribution of a pool (cached; exponential when none is given). */
export function poolDistribution(shape: Pick<PoolShape, 'serviceTimeMs' | 'serviceTime'>): ServiceDistribution {
  return serviceDistribution(shape.serviceTimeMs, shape.serviceTime);
}

/**
 * The queue's name in explanations, with where its distribution came from: "M/M/(N·4)"
 * (exponential), "M/G/(N·4), service CV 0.5 (gamma)", "M/G/(N·1), service p50/p99/p99.9 21/23/25 ms,
 * CV 0.1, measured by the loadtest probe".
 */
export function queueLabel(shape: PoolShape): string {
  const d = poolDistribution(shape);
  const kind = d.exponential ? 'M/M/' : 'M/G/';
  const q =
    shape.loadBalancing === 'leastRequests' ? `${kind}(N·${shape.concurrency})` : `N × ${kind}${shape.concurrency}`;
  const source = shape.serviceTime?.source;
  const from =
    source === 'profile'
      ? ', measured by the loadtest probe'
      : source === 'balancer'
        ? ', measured at the balancer'
        : '';
  return d.exponential ? q : `${q}, ${d.label}${from}`;
}

/**
 * The conditional wait W | W > 0 as a mixture of two exponentials (rates r1, r2, weight p1 on r1).
 * Mean: the M/M/c one × (1 + CV²)/2. Spread: in M/G/1, E[W² | W > 0] = 2ρ·E[W | W > 0]² +
 * E[S³]/(3·E[S]·(1 − ρ)), so the squared CV of the wait is 2ρ − 1 + m3·(1 − ρ)/(3·a²), a = (1 + CV²)/2:
 * 1 for exponential service, 7.2 for a lognormal with CV 4 at ρ 0.7 — whose waits are far longer
 * at their p99 than an exponential of the same mean. With c servers a long request blocks one of c,
 * so the excess over 1 shrinks by c. Below 1 the wait stays exponential (errs high).
 */
export function waitMixture(q: MmcQueue, d: ServiceDistribution): { p1: number; r1: number; r2: number } {
  const a = (1 + d.cv * d.cv) / 2;
  const mean = a / (q.servers * q.serviceRate - q.arrivalRate);
  const rho = q.arrivalRate / (q.servers * q.serviceRate);
  const cv2 = 1 + Math.max(0, 2 * rho - 2 + (d.m3 * (1 - rho)) / (3 * a * a)) / q.servers;
  if (cv2 <= 1 + 1e-9) return { p1: 1, r1: 1 / mean, r2: 1 / mean };
  // Balanced means: p1/r1 = p2/r2 = mean/2.
  const p1 = (1 + Math.sqrt((cv2 - 1) / (cv2 + 1))) / 2;
  return { p1, r1: (2 * p1) / mean, r2: (2 * (1 - p1)) / mean };
}

/** P(T > t) for one queue (t in seconds); `c` = Erlang C of that queue. */
function tail(q: MmcQueue, d: ServiceDistribution, t: number, c: number): number {
  if (d.exponential) return responseExceedance(q, t, c);
  const s = serviceTail(d, t);
  if (c <= 0) return s;
  const w = waitMixture(q, d);
  const excess =
    w.p1 >= 1
      ? waitedTailExcess(d, w.r1, t)
      : w.p1 * waitedTailExcess(d, w.r1, t) + (1 - w.p1) * waitedTailExcess(d, w.r2, t);
  return s + c * excess;
}

/** The response-time percentile (seconds) of one stable queue, to a relative 1e-6. */
function percentile(q: MmcQueue, d: ServiceDistribution, p: number, c: number): number {
  if (d.exponential) return responsePercentile(q, p, c);
  const target = 1 - p;
  // T ≥ S, so the service-time quantile is a lower bracket.
  let lo = serviceQuantile(d, p);
  let hi = Math.max(lo, d.mean) * 1.5 + 1e-9;
  while (tail(q, d, hi, c) > target) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 100 && hi - lo > 1e-6 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tail(q, d, mid, c) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** P(response time ≤ latencyMs) with `instances` instances; 0 when overloaded. */
export function sloAttainment(shape: PoolShape, instances: number, latencyMs: number): number {
  if (instances <= 0) return shape.demandRps > 0 ? 0 : 1;
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return 0;
  const c = erlangC(q.servers, q.arrivalRate / q.serviceRate);
  return 1 - tail(q, poolDistribution(shape), latencyMs / 1000, c);
}

/**
 * P(T > t) as a function of t in ms, with one Erlang C for every t (src/core/graph.ts reads it on a
 * grid of ~1000 points); null when overloaded. With no demand, the service time alone.
 */
export function responseTailMs(shape: PoolShape, instances: number): ((tMs: number) => number) | null {
  const d = poolDistribution(shape);
  if (shape.demandRps <= 0) {
    const idle = { servers: 1, arrivalRate: 0, serviceRate: 1 / d.mean };
    return (tMs) => tail(idle, d, tMs / 1000, 0);
  }
  if (instances <= 0) return null;
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return null;
  const c = erlangC(q.servers, q.arrivalRate / q.serviceRate);
  return (tMs) => tail(q, d, tMs / 1000, c);
}

/** The response-time percentile (ms) with `instances`; Infinity when overloaded. */
export function latencyPercentileMs(shape: PoolShape, instances: number, percentile: number): number {
  return poolPrediction(shape, instances, percentile).latencyMs;
}

/**
 * What Prometheus' histogram_quantile reads for the response-time `percentile` of this pool from a
 * histogram with these bucket bounds (`le`, ms, ascending; +Inf implied): the rank's bucket from the
 * model's P(T ≤ le), then linear inside it from the bucket below (0 under the first), and the
 * highest finite bound where the rank is in +Inf's. A measurement read so is compared with this, not
 * with the true percentile: with the client libraries' default bounds (…, 50, 100, 250 ms, …) an
 * M/M/c pool whose p99 is 93.6 ms reads 98.3 (5 % high), its p99.9 of 140 ms reads 229 (1.6×).
 * Infinity when overloaded.
 */
export function histogramQuantileMs(
  shape: PoolShape,
  instances: number,
  percentile: number,
  boundsMs: readonly number[],
): number {
  const tailAt = responseTailMs(shape, instances);
  if (!tailAt) return Infinity;
  const q = percentile / 100;
  let lower = 0;
  let below = 0;
  for (const le of boundsMs) {
    const cdf = 1 - tailAt(le);
    if (cdf >= q) return cdf > below ? lower + ((le - lower) * (q - below)) / (cdf - below) : le;
    lower = le;
    below = cdf;
  }
  return lower > 0 ? lower : latencyPercentileMs(shape, instances, percentile);
}

/**
 * The latency percentile (ms) and, given an SLO latency, P(T ≤ L) with `instances`, from one
 * Erlang C evaluation. Same values as latencyPercentileMs and sloAttainment.
 */
export function poolPrediction(
  shape: PoolShape,
  instances: number,
  pct: number,
  latencyMs?: number,
): { latencyMs: number; attainment: number | null } {
  const d = poolDistribution(shape);
  if (shape.demandRps <= 0) {
    const q = { servers: 1, arrivalRate: 0, serviceRate: 1 / d.mean };
    return {
      latencyMs: percentile(q, d, pct / 100, 0) * 1000,
      attainment: latencyMs === undefined ? null : 1 - tail(q, d, latencyMs / 1000, 0),
    };
  }
  if (instances <= 0) return { latencyMs: Infinity, attainment: latencyMs === undefined ? null : 0 };
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return { latencyMs: Infinity, attainment: latencyMs === undefined ? null : 0 };
  const c = erlangC(q.servers, q.arrivalRate / q.serviceRate);
  return {
    latencyMs: percentile(q, d, pct / 100, c) * 1000,
    attainment: latencyMs === undefined ? null : 1 - tail(q, d, latencyMs / 1000, c),
  };
}

/**
 * The wait before service at `percentile` (ms): W is 0 with probability 1 − C, else the mixture of
 * waitMixture, so P(W > t) = C · (p1·e^(−r1·t) + (1 − p1)·e^(−r2·t)); 0 when fewer than 1 − p wait.
 * E.g. 500 rps, 20 ms × 4 per instance, 4 instances (16 servers, ρ 0.625), exponential: C = 0.057,
 * so p99 = ln(100 · 0.057) / (800 − 500) s = 5.8 ms (fixed times: half the mean wait, 2.9 ms).
 * Infinity when overloaded.
 */
export function waitPercentileMs(shape: PoolShape, instances: number, pct: number): number {
  if (shape.demandRps <= 0) return 0;
  if (instances <= 0) return Infinity;
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return Infinity;
  const c = erlangC(q.servers, q.arrivalRate / q.serviceRate);
  const target = 1 - pct / 100;
  if (c <= target) return 0;
  const w = waitMixture(q, poolDistribution(shape));
  const over = (t: number): number => c * (w.p1 * Math.exp(-w.r1 * t) + (1 - w.p1) * Math.exp(-w.r2 * t));
  // The slower exponential alone bounds it from above.
  let lo = 0;
  let hi = Math.log(c / target) / Math.min(w.r1, w.r2);
  for (let i = 0; i < 100 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (over(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

export type SloSearch =
  | { ok: true; instances: number; attainment: number; attainmentBelow?: number }
  | { ok: false; reason: 'unreachable'; ceiling: number; minLatencyMs: number }
  | { ok: false; reason: 'limit'; limit: number };

/** Largest instance count the SLO search considers before giving up. */
export const SLO_SEARCH_LIMIT = 1_000_000;

/** The latency that the service time alone takes at `percentile`: no instance count beats it (ms). */
export function serviceTimeFloorMs(shape: Pick<PoolShape, 'serviceTimeMs' | 'serviceTime'>, pct: number): number {
  return serviceQuantile(poolDistribution(shape), pct / 100) * 1000;
}

/**
 * The fewest instances with P(T ≤ L) ≥ p. Unreachable when even unlimited instances cannot
 * (the service time alone breaks the SLO): p99 of a 20 ms exponential service is 92.1 ms.
 * Cost: O(log N) queue evaluations of O(√(N·c)) each, whatever the demand.
 */
export function minInstancesForSlo(shape: PoolShape, slo: LatencySlo): SloSearch {
  const p = slo.percentile / 100;
  const d = poolDistribution(shape);
  const L = slo.latencyMs / 1000;
  const ceiling = d.exponential ? attainmentCeiling(1 / d.mean, L) : 1 - serviceTail(d, L);
  // A margin of 1e-12 so that rounding cannot turn a hopeless SLO into a search to the limit.
  if (ceiling < p + 1e-12) {
    return { ok: false, reason: 'unreachable', ceiling, minLatencyMs: serviceQuantile(d, p) * 1000 };
  }
  if (shape.demandRps <= 0) return { ok: true, instances: 0, attainment: ceiling };
  const c = shape.concurrency;
  const offered = shape.demandRps * d.mean;
  // Below this count the pool is overloaded (ρ ≥ 1).
  const start = Math.max(1, Math.floor(offered / c + 1e-9) + 1);
  if (start > SLO_SEARCH_LIMIT) return { ok: false, reason: 'limit', limit: SLO_SEARCH_LIMIT };
  if (shape.loadBalancing === 'leastRequests') return scanShared(shape, d, L, p, start, offered);
  return bisect(start, (n) => sloAttainment(shape, n, slo.latencyMs), p);
}

// leastRequests: first walk up from the stability bound extending Erlang B c servers at a time
// (most services need only a few instances above it), then gallop and bisect.
const SCAN_STEPS = 32;
function scanShared(
  shape: PoolShape,
  d: ServiceDistribution,
  L: number,
  p: number,
  start: number,
  offered: number,
): SloSearch {
  const c = shape.concurrency;
  const mu = 1 / d.mean;
  let servers = start * c;
  let b = erlangB(servers, offered);
  let below: number | undefined;
  const end = Math.min(start + SCAN_STEPS, SLO_SEARCH_LIMIT);
  for (let n = start; n <= end; n++) {
    const q: MmcQueue = { servers, arrivalRate: shape.demandRps, serviceRate: mu };
    const attainment = 1 - tail(q, d, L, erlangCFromB(servers, offered, b));
    if (attainment >= p) {
      // Below the stability bound the pool is overloaded: attainment 0.
      return { ok: true, instances: n, attainment, attainmentBelow: below ?? 0 };
    }
    below = attainment;
    for (let k = 0; k < c; k++) {
      servers += 1;
      b = (offered * b) / (servers + offered * b);
    }
  }
  if (end >= SLO_SEARCH_LIMIT) return { ok: false, reason: 'limit', limit: SLO_SEARCH_LIMIT };
  const attain = (n: number): number => sloAttainment(shape, n, L * 1000);
  const r = bisect(end + 1, attain, p);
  return r.ok ? { ...r, attainmentBelow: attain(r.instances - 1) } : r;
}

// Attainment is monotone in N: gallop from `start`, then bisect.
function bisect(start: number, attain: (n: number) => number, p: number): SloSearch {
  let lo = start - 1; // known to fail (or below the search)
  let hi = start;
  while (attain(hi) < p) {
    lo = hi;
    hi *= 2;
    if (hi > SLO_SEARCH_LIMIT) {
      if (attain(SLO_SEARCH_LIMIT) < p) return { ok: false, reason: 'limit', limit: SLO_SEARCH_LIMIT };
      hi = SLO_SEARCH_LIMIT;
      break;
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (attain(mid) >= p) hi = mid;
    else lo = mid;
  }
  return { ok: true, instances: hi, attainment: attain(hi) };
}
