// What the load balancer sees, in 1 s buckets (Knative's metric collection): arrivals, completions,
// errors, time-weighted concurrency and a latency histogram per second. Reads aggregate the newest
// buckets over a stable window (~60 s) and a burst window (~6 s).
//
// Concurrency is the integral of in-flight requests over time: 3 requests in flight for 0.5 s and
// 1 for the other 0.5 s of a second → 3·0.5 + 1·0.5 = 2.0 average concurrency in that bucket.
import * as hdr from 'hdr-histogram-js';

type Histogram = ReturnType<typeof hdr.build>;

export interface WindowConfig {
  /** Stable window, seconds (Knative default 60). */
  stableSeconds: number;
  /** Burst (panic) window, seconds (Knative: 10% of stable = 6). */
  burstSeconds: number;
  /**
   * Significant digits of the latency histograms (default 2: a value within 1 %, 40 ms ± 0.26 ms).
   * 3 costs 5× more per snapshot (bench/windows.ts: 5.1 against 1.0 ms) for a precision no SLO needs.
   */
  histogramDigits?: 2 | 3;
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The measured percentile the balancer has nearest below an SLO's (it keeps p50, p90 and p99): what
 * the model check, the alerts and a graph's end-to-end measurement compare with.
 */
export function measuredAt(
  lat: Pick<LatencySummary, 'p50Ms' | 'p90Ms' | 'p99Ms'>,
  percentile: number,
): { percentile: 99 | 90 | 50; ms: number } {
  if (percentile >= 99) return { percentile: 99, ms: lat.p99Ms };
  if (percentile >= 90) return { percentile: 90, ms: lat.p90Ms };
  return { percentile: 50, ms: lat.p50Ms };
}

/**
 * Where requests wait at the balancer for a slot: the wait before dispatch and the time after it
 * (the instance's, with the hop), over the requests dispatched in the window.
 */
export interface WaitSummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** From dispatch to the answer: how long a request held its instance's slot. */
  atInstance: { meanMs: number; p50Ms: number; p90Ms: number; p99Ms: number; p999Ms: number };
}

export interface WindowStats {
  /** Seconds of data behind the numbers (less than the window right after start). */
  seconds: number;
  /** Requests that arrived, per second: the demand. */
  arrivalRps: number;
  /** Requests answered, per second. */
  completionRps: number;
  /** Failed answers (5xx, proxy errors, client aborts) per second. */
  errorRps: number;
  /** Failed / completed, 0 when nothing completed. */
  errorRatio: number;
  /** Time-weighted mean of requests in flight. */
  meanConcurrency: number;
  latency: LatencySummary | null;
  /** The burst window only; null when no request that was dispatched finished in it. */
  wait: WaitSummary | null;
}

export interface WindowSnapshot {
  /** Undefined until some data exists (less than `MIN_DATA_MS` since start). */
  stable?: WindowStats;
  burst?: WindowStats;
  inFlight: number;
  totals: { arrivals: number; completions: number; errors: number };
}

interface Bucket {
  second: number;
  arrivals: number;
  completions: number;
  errors: number;
  /** ∫ in-flight dt over the bucket, request·ms. */
  concurrencyMs: number;
  latency: Histogram;
  wait: Histogram;
  /** Answer − dispatch of the same requests. */
  atInstance: Histogram;
}

/** Below this much observed time a window has no data (a rate over 50 ms is noise). */
export const MIN_DATA_MS = 500;

function newHistogram(digits: 2 | 3): Histogram {
  // Microseconds from 1 µs to 1 h.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: digits,
  });
}

export class RequestWindows {
  readonly config: Readonly<WindowConfig>;
  private readonly now: () => number;
  private readonly buckets: Bucket[];
  private readonly startMs: number;
  private inFlight = 0;
  private lastMs: number;
  private readonly totals = { arrivals: 0, completions: 0, errors: 0 };
  private readonly scratch: Histogram;
  private readonly waitScratch: Histogram;
  private readonly atInstanceScratch: Histogram;

  /** `now` returns milliseconds (monotonic is best: performance.now() + a fixed origin). */
  constructor(config: WindowConfig, now: () => number) {
    if (!(config.burstSeconds >= 1 && config.stableSeconds >= config.burstSeconds)) {
      throw new RangeError(`windows need 1 <= burstSeconds <= stableSeconds, got ${JSON.stringify(config)}`);
    }
    this.config = Object.freeze({ ...config });
    this.now = now;
    this.startMs = now();
    this.lastMs = this.startMs;
    const digits = config.histogramDigits ?? 2;
    this.scratch = newHistogram(digits);
    this.waitScratch = newHistogram(digits);
    this.atInstanceScratch = newHistogram(digits);
    const size = Math.ceil(config.stableSeconds) + 1;
    this.buckets = Array.from({ length: size }, () => ({
      second: -Infinity,
      arrivals: 0,
      completions: 0,
      errors: 0,
      concurrencyMs: 0,
      latency: newHistogram(digits),
      wait: newHistogram(digits),
      atInstance: newHistogram(digits),
    }));
  }

  /** A request arrived (call before it is forwarded). */
  arrive(): void {
    const t = this.now();
    this.advance(t);
    this.bucket(t).arrivals++;
    this.totals.arrivals++;
    this.inFlight++;
  }

  /**
   * A request finished after `latencyMs`; `ok` false for 5xx, proxy errors and aborts. `split`, for
   * a request that was dispatched: how long it waited for a slot, and its time at the instance.
   */
  complete(latencyMs: number, ok: boolean, split?: { waitMs: number; atInstanceMs: number }): void {
    const t = this.now();
    this.advance(t);
    const b = this.bucket(t);
    b.completions++;
    this.totals.completions++;
    if (!ok) {
      b.errors++;
      this.totals.errors++;
    }
    b.latency.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    if (split && Number.isFinite(split.waitMs) && Number.isFinite(split.atInstanceMs)) {
      b.wait.recordValue(Math.max(1, Math.round(Math.min(Math.max(0, split.waitMs), latencyMs) * 1000)));
      b.atInstance.recordValue(Math.max(1, Math.round(Math.min(Math.max(0, split.atInstanceMs), latencyMs) * 1000)));
    }
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  get currentInFlight(): number {
    return this.inFlight;
  }

  snapshot(): WindowSnapshot {
    const t = this.now();
    return {
      stable: this.stats(t, this.config.stableSeconds),
      burst: this.stats(t, this.config.burstSeconds, true),
      inFlight: this.inFlight,
      totals: { ...this.totals },
    };
  }

  /**
   * One window, for a reader that needs no other: the stable window's 61 merges are most of a
   * snapshot's cost (bench/windows.ts), and the burst window's 7 × 3 a tenth of it.
   */
  stable(): WindowStats | undefined {
    return this.stats(this.now(), this.config.stableSeconds);
  }

  burst(): WindowStats | undefined {
    return this.stats(this.now(), this.config.burstSeconds, true);
  }

  /**
   * Aggregate the buckets of the last `seconds` (aligned to whole seconds, current one partial).
   * `split`: the waits and times at the instance too. Only the burst window asks (calibration reads
   * it): each merge walks a histogram's whole counts array (3,328 slots at 2 digits, 23,552 at
   * 3), on the event loop that forwards every request, and the stable window's 61 × 2 more merges
   * would double a read.
   */
  stats(t: number, seconds: number, split = false): WindowStats | undefined {
    this.advance(t);
    const nowSec = Math.floor(t / 1000);
    const firstSec = nowSec - Math.ceil(seconds) + 1;
    const fromMs = Math.max(firstSec * 1000, this.startMs);
    const spanMs = t - fromMs;
    if (spanMs < MIN_DATA_MS) return undefined;
    let arrivals = 0;
    let completions = 0;
    let errors = 0;
    let concurrencyMs = 0;
    this.scratch.reset();
    this.waitScratch.reset();
    this.atInstanceScratch.reset();
    for (const b of this.buckets) {
      if (b.second < firstSec || b.second > nowSec) continue;
      arrivals += b.arrivals;
      completions += b.completions;
      errors += b.errors;
      concurrencyMs += b.concurrencyMs;
      if (b.latency.totalCount > 0) this.scratch.add(b.latency);
      if (split && b.wait.totalCount > 0) {
        this.waitScratch.add(b.wait);
        this.atInstanceScratch.add(b.atInstance);
      }
    }
    const w = this.waitScratch;
    const at = this.atInstanceScratch;
    const s = spanMs / 1000;
    const h = this.scratch;
    return {
      seconds: s,
      arrivalRps: arrivals / s,
      completionRps: completions / s,
      errorRps: errors / s,
      errorRatio: completions > 0 ? errors / completions : 0,
      meanConcurrency: concurrencyMs / spanMs,
      latency:
        h.totalCount > 0
          ? {
              count: h.totalCount,
              meanMs: h.mean / 1000,
              p50Ms: h.getValueAtPercentile(50) / 1000,
              p90Ms: h.getValueAtPercentile(90) / 1000,
              p99Ms: h.getValueAtPercentile(99) / 1000,
              maxMs: h.maxValue / 1000,
            }
          : null,
      wait:
        w.totalCount > 0
          ? {
              count: w.totalCount,
              p50Ms: w.getValueAtPercentile(50) / 1000,
              p90Ms: w.getValueAtPercentile(90) / 1000,
              p99Ms: w.getValueAtPercentile(99) / 1000,
              atInstance: {
                meanMs: at.mean / 1000,
                p50Ms: at.getValueAtPercentile(50) / 1000,
                p90Ms: at.getValueAtPercentile(90) / 1000,
                p99Ms: at.getValueAtPercentile(99) / 1000,
                p999Ms: at.getValueAtPercentile(99.9) / 1000,
              },
            }
          : null,
    };
  }

  private bucket(t: number): Bucket {
    const second = Math.floor(t / 1000);
    const b = this.buckets[second % this.buckets.length]!;
    if (b.second !== second) {
      b.second = second;
      b.arrivals = 0;
      b.completions = 0;
      b.errors = 0;
      b.concurrencyMs = 0;
      b.latency.reset();
      b.wait.reset();
      b.atInstance.reset();
    }
    return b;
  }

  /** Book the in-flight integral up to `t`, split at second boundaries. */
  private advance(t: number): void {
    if (t <= this.lastMs) return;
    // After a long idle spell only the last window matters: skip older seconds.
    const horizon = t - this.buckets.length * 1000;
    if (this.lastMs < horizon) this.lastMs = horizon;
    while (this.lastMs < t) {
      const boundary = (Math.floor(this.lastMs / 1000) + 1) * 1000;
      const end = Math.min(boundary, t);
      this.bucket(this.lastMs).concurrencyMs += this.inFlight * (end - this.lastMs);
      this.lastMs = end;
    }
  }
}
