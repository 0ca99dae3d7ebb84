// What N ready instances can serve within the SLO, cached per N so that a week at 1-s steps never
// runs the queueing model per second.
//
// For each N the table holds the largest demand λ*(N) whose modelled percentile (the core's M/G/c
// pool, src/core/pool.ts, with the service's load-balancing mode and service-time distribution)
// still meets the SLO. Attainment falls as demand rises, so "second violates" ⇔ λ > λ*(N): one
// comparison per second. Under model error (truth.ts) the table is built from the TRUE model.
// E.g. 20 ms (exponential), concurrency 4, p99 ≤ 100 ms, leastRequests: λ*(10) ≈ 1,886 rps of the 2,000 rps the
// 10 instances could carry at 100 % busy.
import type { ServiceModel } from '../core/model.ts';
import {
  instanceCapacityRps,
  latencyPercentileMs,
  poolDistribution,
  poolQueue,
  sloAttainment,
  type PoolShape,
} from '../core/pool.ts';
import { meanResponseTime } from '../core/queueing.ts';

/** Instance counts the table will consider before giving up (no trace needs more). */
const TABLE_LIMIT = 200_000;

/** Counts up to this are cached densely (every N below the largest asked for). */
const DENSE = 1024;

export class CapacityTable {
  readonly model: ServiceModel;
  /** Requests per second one instance completes when fully busy. */
  readonly instanceRps: number;
  // Below DENSE every N is filled in order (an array read per simulated second); above, only the N
  // asked for: a replay of 20,000 replicas filled 0..20,000 (13 s; 1 s now).
  readonly #thresholds: number[] = [0];
  readonly #sparse = new Map<number, number>();
  #memoKey = NaN;
  #memoN = -1;
  #memoInflight = 0;

  constructor(model: ServiceModel) {
    this.model = model;
    this.instanceRps = instanceCapacityRps(model.instance);
  }

  #shape(demandRps: number): PoolShape {
    return {
      demandRps,
      serviceTimeMs: this.model.instance.serviceTimeMs,
      concurrency: this.model.instance.concurrency,
      loadBalancing: this.model.loadBalancing,
      serviceTime: this.model.instance.serviceTime,
    };
  }

  /** λ*(n): the most demand n ready instances serve within the SLO (capacity when there is no SLO). */
  threshold(n: number): number {
    if (n < DENSE) {
      while (this.#thresholds.length <= n) this.#thresholds.push(this.#compute(this.#thresholds.length));
      return this.#thresholds[n] ?? 0;
    }
    let t = this.#sparse.get(n);
    if (t === undefined) {
      t = this.#compute(n);
      this.#sparse.set(n, t);
    }
    return t;
  }

  #compute(n: number): number {
    const cap = n * this.instanceRps;
    const slo = this.model.slo;
    if (!slo) return cap;
    const p = slo.percentile / 100;
    if (sloAttainment(this.#shape(0), n, slo.latencyMs) < p) return 0; // SLO unreachable
    let lo = 0;
    let hi = cap;
    for (let i = 0; i < 60 && hi - lo > 1e-9 * cap; i++) {
      const mid = (lo + hi) / 2;
      if (sloAttainment(this.#shape(mid), n, slo.latencyMs) >= p) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  /** A second violates when demand exceeds λ*(ready) or reaches the pool's capacity. */
  violates(demandRps: number, ready: number): boolean {
    if (demandRps <= 0) return false;
    return demandRps >= ready * this.instanceRps || demandRps > this.threshold(ready);
  }

  /** The fewest ready instances with no violation at this demand (0 for no demand). */
  need(demandRps: number): number {
    if (demandRps <= 0) return 0;
    // Capacity is linear in N and λ*(N) ≤ capacity, so start at the capacity bound and walk up.
    let n = Math.max(1, Math.floor(demandRps / this.instanceRps));
    while (this.violates(demandRps, n)) {
      n++;
      if (n > TABLE_LIMIT) return TABLE_LIMIT;
    }
    return n;
  }

  /** Modelled response-time percentile (ms) for reports; Infinity when overloaded. */
  latencyMs(demandRps: number, ready: number): number {
    const slo = this.model.slo;
    return latencyPercentileMs(this.#shape(demandRps), ready, slo?.percentile ?? 99);
  }

  /**
   * Requests in flight (queued + in service), summed over instances: Little's law λ·E[T], capped at
   * the busy servers plus one waiting request per server — a 1-s bucket cannot hold the steady state
   * of a nearly saturated queue (ρ = 0.999 would mean thousands waiting). Overloaded pools report
   * the cap. E.g. 2,000 rps on 5 instances × 4 (20 servers, 40 erlangs offered) → 60 in flight.
   * Service times that are not exponential scale the M/M/c mean wait by (1 + CV²)/2, as pool.ts does.
   */
  inflight(demandRps: number, ready: number): number {
    if (demandRps === this.#memoKey && ready === this.#memoN) return this.#memoInflight;
    const offered = (demandRps * this.model.instance.serviceTimeMs) / 1000;
    const cap = offered + ready * this.model.instance.concurrency;
    let v: number;
    if (demandRps <= 0) v = 0;
    else if (demandRps >= ready * this.instanceRps) v = cap;
    else {
      const shape = this.#shape(demandRps);
      const q = poolQueue(shape, ready);
      const service = 1 / q.serviceRate;
      const cv = poolDistribution(shape).cv;
      const response = service + (meanResponseTime(q) - service) * ((1 + cv * cv) / 2);
      v = Math.min(cap, demandRps * response);
    }
    this.#memoKey = demandRps;
    this.#memoN = ready;
    this.#memoInflight = v;
    return v;
  }
}
