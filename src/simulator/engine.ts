// One policy over one trace, second by second.
//
// Each second t: (1) instances whose startup finished become ready; (2) on a tick, the policy reads
// a MetricsView for `now = t` (only the past, late) and asks for a count; extra instances start and
// are ready at t + startupSeconds, surplus ones stop at once (starting ones first, newest first);
// (3) the second is played: demand λ(t) against the READY instances — it violates when the modelled
// percentile exceeds the SLO or λ reaches capacity — and costs ready + starting instance-seconds;
// (4) its counters are recorded, so they are visible to ticks after t + delay only.
import type { ServiceModel } from '../core/model.ts';
import { CapacityTable } from './capacity.ts';
import { MetricsRecorder, MetricsView } from './metrics.ts';
import { clampReplicas, type Policy } from './policies/types.ts';
import type { Trace } from '../input/trace.ts';

export interface SeriesBuckets {
  bucketSeconds: number;
  /** Highest demand in the bucket, rps. */
  demand: number[];
  /** Lowest SLO capacity of the ready instances in the bucket (λ*(ready)), rps. */
  capacity: number[];
  /** Highest count asked for (ready + starting). */
  replicas: number[];
  /** Violating seconds in the bucket. */
  violations: number[];
}

export interface PolicyRun {
  policy: string;
  label: string;
  target?: number;
  /** Σ over seconds of (ready + starting) instances. */
  replicaSeconds: number;
  sloViolationSeconds: number;
  violationFraction: number;
  peakReplicas: number;
  meanReplicas: number;
  /** Times the asked-for count changed. */
  scaleEvents: number;
  seconds: number;
  series?: SeriesBuckets;
}

export interface EngineOptions {
  /** Keep per-bucket series for plots (bucket chosen so a week has ~5,000 points). */
  series?: boolean;
  /** Called after every policy tick (tests: decisions, views). */
  onTick?: (t: number, view: MetricsView, desired: number) => void;
  table?: CapacityTable;
}

/** Starting instances, each with the second it becomes ready, oldest first. */
class Cluster {
  ready: number;
  #readyAt: number[] = [];
  #head = 0;

  constructor(ready: number) {
    this.ready = ready;
  }

  get starting(): number {
    return this.#readyAt.length - this.#head;
  }

  advance(t: number): void {
    while (this.#head < this.#readyAt.length && (this.#readyAt[this.#head] ?? Infinity) <= t) {
      this.#head++;
      this.ready++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#readyAt.length) {
      this.#readyAt = this.#readyAt.slice(this.#head);
      this.#head = 0;
    }
  }

  scaleTo(desired: number, t: number, startupSeconds: number): void {
    let running = this.ready + this.starting;
    while (running < desired) {
      this.#readyAt.push(t + startupSeconds);
      running++;
    }
    while (running > desired && this.starting > 0) {
      this.#readyAt.pop();
      running--;
    }
    if (running > desired) this.ready = desired;
    if (startupSeconds <= 0) this.advance(t);
  }
}

export function simulate(trace: Trace, model: ServiceModel, policy: Policy, opts: EngineOptions = {}): PolicyRun {
  const table = opts.table ?? new CapacityTable(model);
  const demand = trace.rps;
  const T = demand.length;
  const S = Math.max(0, Math.round(model.startupSeconds));
  // The table is the ground truth (run.ts may build it from true service times that differ from
  // the model the policies are told): busy time and requests in flight, what the HPA and KPA
  // observe, follow it too.
  const truth = table.model;
  const c = truth.instance.concurrency;
  const mu = 1000 / truth.instance.serviceTimeMs;

  const schedule = policy.kind === 'offline' ? policy.schedule(demand, table, model) : undefined;
  // The oracle starts as every online policy does, with what the first second needs ready: an
  // instance it would want ready before S would have started before t = 0 (a 20-s trace rising at
  // 10 s gave it 16 ready at once where every policy had 2: Headroom "0.125 × the oracle").
  const first = clampReplicas(model, table.need(demand[0] ?? 0));
  const initial =
    schedule && !(policy.kind === 'offline' && policy.startsAtFirstNeed)
      ? (schedule[0] ?? 0)
      : Math.max(first, policy.kind === 'online' ? (policy.minReplicas ?? 0) : 0);
  const cluster = new Cluster(initial);
  const rec = new MetricsRecorder(T);

  const bucket = Math.max(1, Math.ceil(T / 5000));
  const series: SeriesBuckets | undefined = opts.series
    ? { bucketSeconds: bucket, demand: [], capacity: [], replicas: [], violations: [] }
    : undefined;

  let replicaSeconds = 0;
  let violations = 0;
  let peak = initial;
  let events = 0;
  let asked = initial;
  let bDemand = 0;
  let bCap = Infinity;
  let bRep = 0;
  let bViol = 0;

  for (let t = 0; t < T; t++) {
    cluster.advance(t);
    let desired: number | undefined;
    if (schedule) desired = schedule[t] ?? asked;
    else if (policy.kind === 'online' && t % policy.tickSeconds === 0) {
      const view = new MetricsView(rec, t, policy.pipeline, cluster.ready, cluster.ready + cluster.starting);
      const d = policy.tick(view);
      desired = Number.isFinite(d) ? Math.max(0, Math.round(d)) : asked;
      opts.onTick?.(t, view, desired);
    }
    if (desired !== undefined && desired !== asked) {
      cluster.scaleTo(desired, t, S);
      asked = desired;
      events++;
    }

    const lambda = demand[t] ?? 0;
    const ready = cluster.ready;
    const running = ready + cluster.starting;
    replicaSeconds += running;
    if (running > peak) peak = running;
    const bad = table.violates(lambda, ready);
    if (bad) violations++;
    const servers = ready * c;
    const busy = Math.min(lambda / mu, servers);
    // Answered: what the busy servers get through this second (the excess waits; its drain once
    // the pool grows is not modelled, as the violations take each second at its steady state).
    rec.record(lambda, busy, servers, table.inflight(lambda, ready), busy * mu);

    if (series) {
      if (lambda > bDemand) bDemand = lambda;
      const cap = table.threshold(ready);
      if (cap < bCap) bCap = cap;
      if (running > bRep) bRep = running;
      if (bad) bViol++;
      if ((t + 1) % bucket === 0 || t === T - 1) {
        series.demand.push(round2(bDemand));
        series.capacity.push(round2(bCap));
        series.replicas.push(bRep);
        series.violations.push(bViol);
        bDemand = 0;
        bCap = Infinity;
        bRep = 0;
        bViol = 0;
      }
    }
  }

  const run: PolicyRun = {
    policy: policy.name,
    label: policy.label,
    replicaSeconds,
    sloViolationSeconds: violations,
    violationFraction: T > 0 ? violations / T : 0,
    peakReplicas: peak,
    meanReplicas: T > 0 ? replicaSeconds / T : 0,
    scaleEvents: events,
    seconds: T,
  };
  if (policy.target !== undefined) run.target = policy.target;
  if (series) run.series = series;
  return run;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
