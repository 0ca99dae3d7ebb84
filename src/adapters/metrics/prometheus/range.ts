// Range queries (GET /api/v1/query_range) in chunks: Prometheus refuses a request whose series
// would have more than 11,000 points ("exceeded maximum resolution of 11,000 points per
// timeseries"), so 14 days at 60 s (20,160 steps) is two requests: 11,000 steps, then 9,160.
// Pure helpers; the HTTP lives in index.ts.

/** Prometheus' limit per series and request (promql: `maxPointsPerSeries`, not configurable). */
export const MAX_POINTS_PER_REQUEST = 11_000;

export interface RangeChunk {
  /** First and last evaluation time, seconds since the epoch; both included. */
  start: number;
  end: number;
}

/**
 * Evaluation times start, start + step, … ≤ end, split into chunks of at most `maxPoints` times,
 * each chunk starting one step after the previous ended (no time twice, none left out). E.g.
 * start 0, end 20,159 × 60, step 60 → [0, 10,999 × 60], [11,000 × 60, 20,159 × 60].
 */
export function chunkRange(start: number, end: number, step: number, maxPoints = MAX_POINTS_PER_REQUEST): RangeChunk[] {
  if (!(step > 0) || !(maxPoints >= 1) || !Number.isFinite(start) || !Number.isFinite(end)) {
    throw new RangeError(`chunkRange: bad range ${start}..${end} step ${step} maxPoints ${maxPoints}`);
  }
  const out: RangeChunk[] = [];
  if (end < start) return out;
  const points = Math.floor((end - start) / step) + 1;
  for (let i = 0; i < points; i += maxPoints) {
    const last = Math.min(points, i + maxPoints) - 1;
    out.push({ start: start + i * step, end: start + last * step });
  }
  return out;
}

export interface RangeSeries {
  /** The series' labels, e.g. { deployment: "web", namespace: "shop" }. */
  labels: Record<string, string>;
  /** [time s, value] in time order; Prometheus' "NaN", "+Inf" become NaN, Infinity. */
  values: Array<[number, number]>;
}

/** `{deployment="web", namespace="shop"}`, sorted by name: how a series is named in messages. */
export function labelText(labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `{${parts.join(', ')}}`;
}

/** One matrix per chunk → one list of series, each series' points joined across chunks. */
export function mergeChunks(chunks: ReadonlyArray<readonly RangeSeries[]>): RangeSeries[] {
  const byKey = new Map<string, RangeSeries>();
  for (const chunk of chunks) {
    for (const s of chunk) {
      const key = labelText(s.labels);
      const have = byKey.get(key);
      if (have) for (const v of s.values) have.values.push(v);
      else byKey.set(key, { labels: s.labels, values: [...s.values] });
    }
  }
  return [...byKey.values()];
}
