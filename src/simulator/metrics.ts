// The metrics pipeline a policy sees: cumulative counters, scraped every `scrapeSeconds`, readable
// one scrape interval late, averaged over a window, as Prometheus + rate() or metrics-server would.
//
// No policy can read the future, by construction:
// - the recorder only holds seconds the simulation has already played (it is filled after each tick);
// - a MetricsView is made for one `now` and answers only for scrape times ≤ now − delay; asking for
//   a later time throws FutureReadError (a test drives every policy and checks this).
// E.g. scrape 15 s, delay 15 s, now = 100: the latest visible scrape is t = 75 (floor(85/15)·15),
// and `requestRate(60)` averages seconds [15, 75).
import type { RateCounts } from '../core/model.ts';

export interface Pipeline {
  /** Seconds between scrapes (Prometheus scrape_interval; 1 for Knative's queue-proxy stats). */
  scrapeSeconds: number;
  /** How late a scrape becomes visible, seconds (one interval by default). */
  delaySeconds: number;
}

export class FutureReadError extends Error {
  constructor(asked: number, latest: number, now: number) {
    super(`a policy asked for metrics at t=${asked} but at now=${now} only t ≤ ${latest} is visible`);
    this.name = 'FutureReadError';
  }
}

type Counter = 'requests' | 'answered' | 'busy' | 'capacity' | 'inflight';

/** Per-second counters of the played seconds, as cumulative sums (value at T = sum over [0, T)). */
export class MetricsRecorder {
  readonly #requests: Float64Array;
  readonly #busy: Float64Array; // busy server-seconds (CPU usage)
  readonly #capacity: Float64Array; // ready server-seconds (CPU requests of ready pods)
  readonly #inflight: Float64Array; // request-seconds in flight (Knative concurrency)
  readonly #answered: Float64Array; // requests answered (a counter incremented on the answer)
  #recorded = 0;

  constructor(seconds: number) {
    this.#answered = new Float64Array(seconds + 1);
    this.#requests = new Float64Array(seconds + 1);
    this.#busy = new Float64Array(seconds + 1);
    this.#capacity = new Float64Array(seconds + 1);
    this.#inflight = new Float64Array(seconds + 1);
  }

  /** Seconds recorded so far: data exists for [0, recorded). */
  get recorded(): number {
    return this.#recorded;
  }

  /** Append the second just played (`answered`: default all the requests). */
  record(requests: number, busyServers: number, readyServers: number, inflight: number, answered = requests): void {
    const t = this.#recorded;
    this.#answered[t + 1] = (this.#answered[t] ?? 0) + answered;
    this.#requests[t + 1] = (this.#requests[t] ?? 0) + requests;
    this.#busy[t + 1] = (this.#busy[t] ?? 0) + busyServers;
    this.#capacity[t + 1] = (this.#capacity[t] ?? 0) + readyServers;
    this.#inflight[t + 1] = (this.#inflight[t] ?? 0) + inflight;
    this.#recorded = t + 1;
  }

  /** Cumulative value at T; only for T ≤ recorded. */
  counter(name: Counter, at: number): number {
    if (at > this.#recorded) throw new FutureReadError(at, this.#recorded, this.#recorded);
    return this.#series(name)[Math.max(0, at)] ?? 0;
  }

  #series(name: Counter): Float64Array {
    switch (name) {
      case 'requests':
        return this.#requests;
      case 'answered':
        return this.#answered;
      case 'busy':
        return this.#busy;
      case 'capacity':
        return this.#capacity;
      case 'inflight':
        return this.#inflight;
    }
  }
}

/** What one policy tick may read: the past, late, averaged. */
export class MetricsView {
  readonly now: number;
  /** The latest scrape time whose data is visible. */
  readonly latest: number;
  readonly pipeline: Pipeline;
  /** Instances ready and serving now (the API server's view, not delayed). */
  readonly readyReplicas: number;
  /** The count asked for now: ready + starting (scale spec.replicas). */
  readonly currentReplicas: number;
  readonly #rec: MetricsRecorder;

  constructor(rec: MetricsRecorder, now: number, pipeline: Pipeline, readyReplicas: number, currentReplicas: number) {
    this.#rec = rec;
    this.now = now;
    this.pipeline = pipeline;
    const s = pipeline.scrapeSeconds;
    this.latest = Math.min(rec.recorded, Math.floor((now - pipeline.delaySeconds) / s) * s);
    this.readyReplicas = readyReplicas;
    this.currentReplicas = currentReplicas;
  }

  /**
   * The same counters at the same `now` through a slower pipeline (never fresher: its delay is at
   * least this one's). E.g. the pod-burst Headroom reads its burst from 1-s pod counters and its
   * stable demand through the 15-s Prometheus pipeline: `view.through({ scrapeSeconds: 15,
   * delaySeconds: 15 }).requestRate(60)` at now = 100 averages [15, 75), what a 15-s view shows.
   */
  through(pipeline: Pipeline): MetricsView {
    if (pipeline.delaySeconds < this.pipeline.delaySeconds) {
      throw new Error(`a view ${this.pipeline.delaySeconds} s late cannot give one ${pipeline.delaySeconds} s late`);
    }
    return new MetricsView(this.#rec, this.now, pipeline, this.readyReplicas, this.currentReplicas);
  }

  #window(windowSeconds: number, end: number): [number, number] | undefined {
    if (end > this.latest) throw new FutureReadError(end, this.latest, this.now);
    const s = this.pipeline.scrapeSeconds;
    // rate() over a window spans whole scrape intervals, at least one.
    const w = Math.max(s, Math.round(windowSeconds / s) * s);
    const from = Math.max(0, end - w);
    if (end - from <= 0) return undefined;
    return [from, end];
  }

  #delta(name: Counter, from: number, to: number): number {
    return this.#rec.counter(name, to) - this.#rec.counter(name, from);
  }

  /**
   * Request rate (rps) averaged over the window ending at the latest visible scrape (or `end`):
   * arrivals, or the answers a counter incremented on the answer shows.
   */
  requestRate(windowSeconds: number, end = this.latest, reads: RateCounts = 'arrivals'): number | undefined {
    const w = this.#window(windowSeconds, end);
    return w && this.#delta(reads === 'answers' ? 'answered' : 'requests', w[0], w[1]) / (w[1] - w[0]);
  }

  /** Mean busy fraction of the ready instances' servers (CPU usage / request), 0..1. */
  utilization(windowSeconds: number, end = this.latest): number | undefined {
    const w = this.#window(windowSeconds, end);
    if (!w) return undefined;
    const cap = this.#delta('capacity', w[0], w[1]);
    return cap > 0 ? this.#delta('busy', w[0], w[1]) / cap : undefined;
  }

  /** Requests in flight (queued + in service), summed over instances, averaged over the window. */
  concurrency(windowSeconds: number, end = this.latest): number | undefined {
    const w = this.#window(windowSeconds, end);
    return w && this.#delta('inflight', w[0], w[1]) / (w[1] - w[0]);
  }
}
