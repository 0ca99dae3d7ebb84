// The MetricsSource port over what the local load balancer measured (RequestWindows).
//
// Queries: `<metric>:<window>` with metric one of
//   rate         arrivals per second (the demand)
//   completions  answers per second
//   concurrency  time-weighted mean requests in flight
//   errors       failed answers / answers
//   latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_mean_ms
// and window `stable` (~60 s) or `burst` (~6 s); plus `inflight` (now). E.g. `rate:stable`.
// Right after start (< 0.5 s of data) every windowed query answers no-data; a latency with no
// completed request in the window is no-data too, while a rate of 0 is a real 0.
import { systemClock, type Clock } from '../../../ports/clock.ts';
import type { MetricSample, MetricsSource } from '../../../ports/metrics.ts';
import type { RequestWindows, WindowStats } from './windows.ts';

const METRICS: Record<string, (w: WindowStats) => number | undefined> = {
  rate: (w) => w.arrivalRps,
  completions: (w) => w.completionRps,
  concurrency: (w) => w.meanConcurrency,
  errors: (w) => w.errorRatio,
  latency_p50_ms: (w) => w.latency?.p50Ms,
  latency_p90_ms: (w) => w.latency?.p90Ms,
  latency_p99_ms: (w) => w.latency?.p99Ms,
  latency_mean_ms: (w) => w.latency?.meanMs,
};

export class ProxyMetricsSource implements MetricsSource {
  private readonly windows: RequestWindows;
  private readonly clock: Clock;

  /** Sample times are `clock.now()`. */
  constructor(windows: RequestWindows, clock: Clock = systemClock) {
    this.windows = windows;
    this.clock = clock;
  }

  sample(query: string): Promise<MetricSample> {
    return Promise.resolve(this.sampleNow(query));
  }

  sampleNow(query: string): MetricSample {
    const at = this.clock.now();
    if (query === 'inflight') return { kind: 'ok', value: this.windows.currentInFlight, at, series: 1 };
    const [metric, window] = query.split(':');
    const read = metric !== undefined ? METRICS[metric] : undefined;
    if (!read || (window !== 'stable' && window !== 'burst')) {
      return {
        kind: 'error',
        reason: `unknown query ${JSON.stringify(query)}: use <${Object.keys(METRICS).join('|')}>:<stable|burst> or inflight`,
      };
    }
    const w = window === 'stable' ? this.windows.stable() : this.windows.burst();
    if (!w) return { kind: 'no-data', reason: 'the load balancer started less than 0.5 s ago' };
    const v = read(w);
    if (v === undefined) return { kind: 'no-data', reason: `no request completed in the ${window} window` };
    return { kind: 'ok', value: v, at, series: 1 };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
