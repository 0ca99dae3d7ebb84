// A request window as /api/status shows it (local mode).
import type { WindowStats } from '../adapters/metrics/proxy/windows.ts';
import type { WindowStatus } from '../server/status.ts';

export function windowStatus(w: WindowStats | undefined, windowSeconds: number): WindowStatus | null {
  if (!w) return null;
  return {
    windowSeconds,
    seconds: w.seconds,
    arrivalRps: w.arrivalRps,
    completionRps: w.completionRps,
    errorRatio: w.errorRatio,
    meanConcurrency: w.meanConcurrency,
    latencyMs: w.latency
      ? {
          p50: w.latency.p50Ms,
          p90: w.latency.p90Ms,
          p99: w.latency.p99Ms,
          mean: w.latency.meanMs,
          max: w.latency.maxMs,
        }
      : null,
    ...(w.wait
      ? {
          waitMs: { p50: w.wait.p50Ms, p90: w.wait.p90Ms, p99: w.wait.p99Ms },
          atInstanceMs: {
            p50: w.wait.atInstance.p50Ms,
            p90: w.wait.atInstance.p90Ms,
            p99: w.wait.atInstance.p99Ms,
            p999: w.wait.atInstance.p999Ms,
            mean: w.wait.atInstance.meanMs,
          },
        }
      : {}),
  };
}
