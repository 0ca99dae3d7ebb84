// A pool of N identical instances behind a load balancer, as an M/M/c model.
//
// Each instance runs `concurrency` requests at once, each taking `serviceTimeMs` on average, so one
// instance is `concurrency` servers of rate μ = 1000/serviceTimeMs.
// - leastRequests: the balancer sends each request to the least busy instance, so the pool behaves
//   like one shared queue: M/M/(N·c) with the full demand λ.
// - random (kube-proxy iptables, DNS round robin): each instance is its own M/M/c with λ/N, and a
//   request can queue on a busy instance while another sits idle. It needs more instances.
// E.g. 900 rps, 20 ms, c = 1, p99 ≤ 100 ms: leastRequests needs 21 instances; random needs 228,
// because each M/M/1 must keep P(T > 100 ms) = e^(−(50 − 900/N)·0.1) ≤ 0.01, i.e. 900/N ≤ 3.95 rps:
// a tight SLO near the service-time floor (92.1 ms) leaves almost no room to queue.
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

export type LoadBalancing = 'leastRequests' | 'random';

export interface PoolShape {
  demandRps: number;
  serviceTimeMs: number;
  concurrency: number;
  loadBalancing: LoadBalancing;
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

/** P(response time ≤ latencyMs) with `instances` instances; 0 when overloaded. */
export function sloAttainment(shape: PoolShape, instances: number, latencyMs: number): number {
  if (instances <= 0) return shape.demandRps > 0 ? 0 : 1;
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return 0;
  return 1 - responseExceedance(q, latencyMs / 1000);
}

/** The response-time percentile (ms) with `instances`; Infinity when overloaded. */
export function latencyPercentileMs(shape: PoolShape, instances: number, percentile: number): number {
  if (shape.demandRps <= 0)
    return (
      responsePercentile({ servers: 1, arrivalRate: 0, serviceRate: 1000 / shape.serviceTimeMs }, percentile / 100) *
      1000
    );
  if (instances <= 0) return Infinity;
  return responsePercentile(poolQueue(shape, instances), percentile / 100) * 1000;
}

/**
 * The latency percentile (ms) and, given an SLO latency, P(T ≤ L) with `instances`, from one
 * Erlang C evaluation: for leastRequests that is O(N·c), so computing it once halves what
 * predicting a plan costs. Same values as latencyPercentileMs and sloAttainment.
 */
export function poolPrediction(
  shape: PoolShape,
  instances: number,
  percentile: number,
  latencyMs?: number,
): { latencyMs: number; attainment: number | null } {
  const attainmentAt = (c: number | undefined, q: MmcQueue): number | null =>
    latencyMs === undefined ? null : 1 - responseExceedance(q, latencyMs / 1000, c);
  if (shape.demandRps <= 0 || instances <= 0) {
    return {
      latencyMs: latencyPercentileMs(shape, instances, percentile),
      attainment: latencyMs === undefined ? null : sloAttainment(shape, instances, latencyMs),
    };
  }
  const q = poolQueue(shape, instances);
  if (!isStable(q)) return { latencyMs: Infinity, attainment: latencyMs === undefined ? null : 0 };
  const c = erlangC(q.servers, q.arrivalRate / q.serviceRate);
  return { latencyMs: responsePercentile(q, percentile / 100, c) * 1000, attainment: attainmentAt(c, q) };
}

export type SloSearch =
  | { ok: true; instances: number; attainment: number; attainmentBelow?: number }
  | { ok: false; reason: 'unreachable'; ceiling: number; minLatencyMs: number }
  | { ok: false; reason: 'limit'; limit: number };

/** Largest instance count the SLO search considers before giving up. */
export const SLO_SEARCH_LIMIT = 1_000_000;

/**
 * The fewest instances with P(T ≤ L) ≥ p. Unreachable when even unlimited instances cannot
 * (the service time alone breaks the SLO): p99 of a 20 ms exponential service is 92.1 ms.
 */
export function minInstancesForSlo(shape: PoolShape, slo: LatencySlo): SloSearch {
  const p = slo.percentile / 100;
  const mu = 1000 / shape.serviceTimeMs;
  const L = slo.latencyMs / 1000;
  const ceiling = attainmentCeiling(mu, L);
  // A margin of 1e-12 so that rounding cannot turn a hopeless SLO into a search to the limit.
  if (ceiling < p + 1e-12) {
    return { ok: false, reason: 'unreachable', ceiling, minLatencyMs: (-Math.log1p(-p) / mu) * 1000 };
  }
  if (shape.demandRps <= 0) return { ok: true, instances: 0, attainment: ceiling };
  const c = shape.concurrency;
  const offered = shape.demandRps / mu;
  // Below this count the pool is overloaded (ρ ≥ 1).
  const start = Math.max(1, Math.floor(offered / c + 1e-9) + 1);
  if (shape.loadBalancing === 'leastRequests') return scanShared(shape, L, p, start, offered);
  return bisect(start, (n) => sloAttainment(shape, n, slo.latencyMs), p);
}

// leastRequests: Erlang B over N·c servers, extended c servers at a time as N grows, so the whole
// scan costs O(final N · c) multiply-adds.
function scanShared(shape: PoolShape, L: number, p: number, start: number, offered: number): SloSearch {
  const c = shape.concurrency;
  const mu = 1000 / shape.serviceTimeMs;
  let servers = start * c;
  let b = erlangB(servers, offered);
  let below: number | undefined;
  for (let n = start; n <= SLO_SEARCH_LIMIT; n++) {
    const q: MmcQueue = { servers, arrivalRate: shape.demandRps, serviceRate: mu };
    const attainment = 1 - responseExceedance(q, L, erlangCFromB(servers, offered, b));
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
  return { ok: false, reason: 'limit', limit: SLO_SEARCH_LIMIT };
}

// random: attainment is monotone in N but each N is a fresh M/M/c, so gallop then bisect.
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
