// Demand forecasting from past observations only (pure: the caller passes `now`).
// Demand is kept as 5-minute averages over the last 8 days (2,304 numbers: small enough to persist
// on a Kubernetes object). The forecast for the next `horizon` seconds is the peak of the same
// window one day and one week ago, scaled by how today's last hour compares with that day's.
// E.g. yesterday 09:00–09:05 peaked at 1,200 rps and the last hour ran 10 % above yesterday's same
// hour → forecast 1,320 rps, so instances start `startupSeconds` before 09:00 rather than after.

export const FORECAST_BUCKET_S = 300;
const KEEP_BUCKETS = (8 * 86400) / FORECAST_BUCKET_S;
const DAY = 86400 / FORECAST_BUCKET_S;
const WEEK = 7 * DAY;

export interface DemandHistory {
  /** Index (time / bucket) of the newest bucket, or -1 when empty. */
  last: number;
  /** Averages, oldest first; values[values.length − 1] is bucket `last`. null = no data. */
  values: Array<number | null>;
  /** Running sum and count of the newest (partial) bucket. */
  sum: number;
  count: number;
}

export function emptyHistory(): DemandHistory {
  return { last: -1, values: [], sum: 0, count: 0 };
}

/** Records one observation at `now` (seconds). Returns a new history; the input is not changed. */
export function recordDemand(h: DemandHistory, now: number, rps: number): DemandHistory {
  if (!Number.isFinite(rps) || rps < 0) return h;
  const idx = Math.floor(now / FORECAST_BUCKET_S);
  if (h.last === idx) {
    const sum = h.sum + rps;
    const count = h.count + 1;
    const values = h.values.slice();
    values[values.length - 1] = sum / count;
    return { last: idx, values, sum, count };
  }
  if (idx < h.last) return h; // time went backwards: ignore
  const values = h.last < 0 ? [] : h.values.slice();
  const gap = h.last < 0 ? 0 : Math.min(idx - h.last - 1, KEEP_BUCKETS);
  for (let i = 0; i < gap; i++) values.push(null);
  values.push(rps);
  const drop = values.length - KEEP_BUCKETS;
  return { last: idx, values: drop > 0 ? values.slice(drop) : values, sum: rps, count: 1 };
}

function at(h: DemandHistory, idx: number): number | null {
  const pos = h.values.length - 1 - (h.last - idx);
  if (pos < 0 || pos >= h.values.length) return null;
  return h.values[pos] ?? null;
}

function windowPeak(h: DemandHistory, from: number, to: number): number | null {
  let peak: number | null = null;
  for (let i = from; i <= to; i++) {
    const v = at(h, i);
    if (v !== null && (peak === null || v > peak)) peak = v;
  }
  return peak;
}

function windowMean(h: DemandHistory, from: number, to: number): number | null {
  let sum = 0;
  let n = 0;
  for (let i = from; i <= to; i++) {
    const v = at(h, i);
    if (v !== null) {
      sum += v;
      n++;
    }
  }
  return n > 0 ? sum / n : null;
}

/** The peak demand expected over (now, now + horizon], or undefined without a day of history. */
export function forecastPeak(
  h: DemandHistory,
  now: number,
  horizonSeconds: number,
): { rps: number; reason: string } | undefined {
  if (h.last < 0) return undefined;
  const idx = Math.floor(now / FORECAST_BUCKET_S);
  const ahead = Math.max(1, Math.ceil(horizonSeconds / FORECAST_BUCKET_S));
  const recent = windowMean(h, idx - 12, idx);
  let best: { rps: number; reason: string } | undefined;
  for (const [lag, label] of [
    [DAY, 'a day'],
    [WEEK, 'a week'],
  ] as const) {
    const then = windowPeak(h, idx - lag + 1, idx - lag + ahead);
    const thenRecent = windowMean(h, idx - lag - 12, idx - lag);
    if (then === null || recent === null || thenRecent === null || thenRecent <= 0) continue;
    // Scale by today's level, but never by more than 2× either way: one odd hour must not run away.
    const level = Math.min(2, Math.max(0.5, recent / thenRecent));
    const rps = then * level;
    if (!best || rps > best.rps) {
      best = {
        rps,
        reason: `${label} ago the next ${Math.round((ahead * FORECAST_BUCKET_S) / 60)} min peaked at ${then.toFixed(1)} rps; the last hour runs at ${level.toFixed(2)}× that day's`,
      };
    }
  }
  return best;
}
