// A Prometheus histogram of simulated responses, read as Prometheus reads it: independent of
// src/core (the calibrator's own read of the model is pool.ts histogramQuantileMs, checked against
// this and, in test/e2e/controller-histogram.test.ts, against a real Prometheus).

/** Share of `responses` (ms) at or under each bound (ms): a histogram's cumulative buckets ÷ count. */
export function cumulativeShares(boundsMs: readonly number[], responses: Float64Array): number[] {
  const counts = boundsMs.map(() => 0);
  for (const r of responses)
    for (let i = 0; i < boundsMs.length; i++)
      if (r <= boundsMs[i]!) {
        counts[i]!++;
      }
  return counts.map((n) => n / responses.length);
}

/**
 * histogram_quantile(q) over those buckets (promql/quantile.go bucketQuantile): the first bucket
 * whose share reaches q, linear inside it from the bound below (0 under the first); past the last
 * finite bound, that bound.
 */
export function histogramRead(q: number, boundsMs: readonly number[], responses: Float64Array): number {
  const cum = cumulativeShares(boundsMs, responses);
  for (let i = 0; i < boundsMs.length; i++)
    if (cum[i]! >= q) {
      const lo = i === 0 ? 0 : boundsMs[i - 1]!;
      const below = i === 0 ? 0 : cum[i - 1]!;
      return lo + ((boundsMs[i]! - lo) * (q - below)) / (cum[i]! - below);
    }
  return boundsMs[boundsMs.length - 1]!;
}
