// M/M/c queueing math, numerically stable for thousands of servers.
//
// An M/M/c queue: Poisson arrivals at rate λ, c servers each serving at rate μ (exponential service
// time, mean 1/μ). Offered load A = λ/μ erlangs; utilization ρ = A/c; stable only when ρ < 1.
//
// Erlang B by the recursion B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)): every term stays in (0, 1],
// so there is no factorial or power to overflow (c = 40,000 servers costs 40,000 multiply-adds).
// Erlang C from B: C = B / (1 − ρ·(1 − B)).
//
// Response time T = W + S. With probability 1 − C the wait W is 0; otherwise W ~ Exp(θ), θ = cμ − λ.
// So P(T > t) = (1 − C)·e^(−μt) + C·P(Exp(θ) + Exp(μ) > t), and the hypoexponential tail is
// P(Exp(a) + Exp(b) > t) = e^(−a·t)·(1 + a·(1 − e^(−(b−a)t))/(b − a)) with a = min(θ, μ), b = max:
// symmetric, overflow-free, and → (1 + μt)e^(−μt) as θ → μ (expm1 keeps that limit exact).
//
// Worked example (the Erlang C reference case, pyworkforce / CRAN ErlangC): A = 10 erlangs, mean
// handling 180 s, 14 servers: C = 0.174, P(W ≤ 20 s) = 1 − C·e^(−(14−10)/180·20) = 0.888.

export interface MmcQueue {
  /** Number of parallel servers (c). */
  readonly servers: number;
  /** Arrival rate λ, per second. */
  readonly arrivalRate: number;
  /** Service rate μ of one server, per second (1 / mean service time). */
  readonly serviceRate: number;
}

/**
 * Erlang B blocking probability for `servers` servers and `offered` erlangs, in O(√A) steps.
 *
 * The recursion forgets where it started: below A, B(k) ≈ 1 − k/A and an error in B(k−1) is
 * multiplied by about k/A, so starting at k0 = A − 12√A from that estimate leaves a relative error
 * of e^(−72) by k = A. Past the point where B underflows it stays 0. So 10^10 erlangs cost ~10^6
 * steps, not 10^10 (a demand of 1e9 rps × 10 s once froze the controller for minutes).
 */
export function erlangB(servers: number, offered: number): number {
  if (offered <= 0) return 0;
  let k = 0;
  let b = 1;
  const k0 = Math.floor(offered - 12 * Math.sqrt(offered) - 10);
  if (k0 > 0 && k0 < servers) {
    k = k0;
    b = 1 - k0 / offered;
  }
  while (k < servers) {
    k += 1;
    b = (offered * b) / (k + offered * b);
    if (b < 1e-300) return 0;
  }
  return b;
}

/** Erlang C from Erlang B: probability an arrival waits. 1 when the queue is unstable. */
export function erlangCFromB(servers: number, offered: number, b: number): number {
  if (offered <= 0) return 0;
  if (offered >= servers) return 1;
  const rho = offered / servers;
  return b / (1 - rho * (1 - b));
}

/** Erlang C: probability that an arrival has to wait (P(W > 0)). */
export function erlangC(servers: number, offered: number): number {
  return erlangCFromB(servers, offered, erlangB(servers, offered));
}

export function offeredLoad(q: MmcQueue): number {
  return q.arrivalRate / q.serviceRate;
}

export function utilization(q: MmcQueue): number {
  return q.servers > 0 ? offeredLoad(q) / q.servers : Infinity;
}

export function isStable(q: MmcQueue): boolean {
  return q.servers > 0 && q.arrivalRate < q.servers * q.serviceRate;
}

/** P(Exp(x) + Exp(y) > t), the tail of a sum of two independent exponentials. */
export function hypoexponentialTail(x: number, y: number, t: number): number {
  if (t <= 0) return 1;
  const a = Math.min(x, y);
  const d = Math.abs(x - y);
  // (1 − e^(−d·t)) / d → t as d → 0.
  const g = d * t < 1e-12 ? t : -Math.expm1(-d * t) / d;
  return Math.exp(-a * t) * (1 + a * g);
}

/** P(W > t): the chance an arrival waits longer than t seconds for a server. */
export function waitExceedance(q: MmcQueue, t: number, c = erlangC(q.servers, offeredLoad(q))): number {
  if (!isStable(q)) return 1;
  if (t <= 0) return c;
  return c * Math.exp(-(q.servers * q.serviceRate - q.arrivalRate) * t);
}

/** P(T > t) for the response time T = wait + service. Pass `c` to reuse a computed Erlang C. */
export function responseExceedance(q: MmcQueue, t: number, c?: number): number {
  if (!isStable(q)) return 1;
  const pw = c ?? erlangC(q.servers, offeredLoad(q));
  const mu = q.serviceRate;
  const theta = q.servers * mu - q.arrivalRate;
  return (1 - pw) * Math.exp(-mu * t) + pw * hypoexponentialTail(theta, mu, t);
}

/** Mean response time in seconds (Infinity when unstable). */
export function meanResponseTime(q: MmcQueue): number {
  if (!isStable(q)) return Infinity;
  const c = erlangC(q.servers, offeredLoad(q));
  return c / (q.servers * q.serviceRate - q.arrivalRate) + 1 / q.serviceRate;
}

/**
 * The response-time percentile: the t with P(T ≤ t) = p, p in (0, 1). Infinity when unstable.
 * Bisection on a monotone tail, to a relative precision of 1e-9.
 */
export function responsePercentile(q: MmcQueue, p: number, waitProbability?: number): number {
  if (!isStable(q)) return Infinity;
  if (p <= 0) return 0;
  const c = waitProbability ?? erlangC(q.servers, offeredLoad(q));
  const target = 1 - p;
  let hi = 1 / q.serviceRate;
  while (responseExceedance(q, hi, c) > target) hi *= 2;
  let lo = 0;
  for (let i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (responseExceedance(q, mid, c) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The best P(T ≤ L) any number of servers can give: with unlimited servers nobody waits and
 * T is the service time alone, so P = 1 − e^(−μL). E.g. 20 ms service, L = 100 ms → 0.9933.
 */
export function attainmentCeiling(serviceRate: number, latency: number): number {
  return -Math.expm1(-serviceRate * latency);
}

/** Smallest latency L for which P(S ≤ L) ≥ p with S the service time alone: −ln(1 − p)/μ. */
export function serviceTimeFloor(serviceRate: number, p: number): number {
  return -Math.log1p(-p) / serviceRate;
}

export interface ErlangCStaffing {
  servers: number;
  /** P(W ≤ t) at that many servers. */
  serviceLevel: number;
  /** P(W > 0). */
  probabilityOfWaiting: number;
  occupancy: number;
}

/**
 * Classic Erlang C staffing: the fewest servers such that P(W ≤ waitTarget) ≥ p.
 * The reference case A = 10, 180 s handling, 80 % within 20 s → 14 servers, SL 0.888.
 */
export function staffForWait(offered: number, serviceRate: number, waitTarget: number, p: number): ErlangCStaffing {
  let c = Math.max(1, Math.floor(offered) + 1);
  let b = erlangB(c, offered);
  for (;;) {
    const pw = erlangCFromB(c, offered, b);
    const q = { servers: c, arrivalRate: offered * serviceRate, serviceRate };
    const sl = 1 - waitExceedance(q, waitTarget, pw);
    if (sl >= p) return { servers: c, serviceLevel: sl, probabilityOfWaiting: pw, occupancy: offered / c };
    c += 1;
    b = (offered * b) / (c + offered * b);
  }
}
