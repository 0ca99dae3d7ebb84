// The demand history forecast.ts keeps (5-minute buckets, minute peaks, the detected period) and
// the bucket look-ups both the seasonal terms (forecast.ts) and the periodic term
// (forecast-periodic.ts) read. Split out of forecast.ts so the two modules share it without a cycle.

export const FORECAST_BUCKET_S = 300;

/** Buckets in a day and in a week. */
export const DAY = 86400 / FORECAST_BUCKET_S;
export const WEEK = 7 * DAY;

/**
 * A minute whose seasonal growth was at least this is a predicted rise: its misses go to their own
 * histogram (RISE_BAND), so quiet phases do not pay for the spikes' margin, nor spikes for the quiet.
 */
export const RISE_GROWTH = 1.5;

export interface DemandHistory {
  /** Index (time / bucket) of the newest 5-minute bucket, or -1 when empty. */
  last: number;
  /** 5-minute means, oldest first; values[values.length − 1] is bucket `last`. null = no data. */
  values: Array<number | null>;
  /** Running sum and count of the newest (partial) 5-minute bucket. */
  sum: number;
  count: number;
  /** The last minutes: [minute index, highest observation, seasonal growth predicted then]. */
  minutes?: Array<[number, number, number]>;
  /** Per calibrated horizon, per band (0 = all), the decayed counts of log-ratio bins: [bin, weight]. */
  misses?: Array<Array<Array<[number, number]>>>;
  /** Scored minutes per horizon and band (decayed weight). */
  scored?: number[][];
  /**
   * Misses of ≥ 1.5× from the last 32 minutes, until it is known whether demand stayed up (a level
   * shift, taken back out of the margin): [minute due, horizon index, band, bin, realized peak,
   * lowest minute peak since]. Usually empty.
   */
  shifts?: Array<[number, number, number, number, number, number]>;
  /** Per horizon and band, the scored minutes taken back out as level shifts (decayed as `scored`). */
  shifted?: number[][];
  /** Slow mean of minute peaks (the day's level), for the bands. */
  level?: number;
  /**
   * Highest observation per 5-minute bucket, the last 2 days only (aligned with `values`: the last
   * is bucket `last`). The periodic term looks one and two periods back at these: a 5× spike that
   * rises in 2.5 minutes and decays in 7 averages ~2.4× over its 5 minutes, peaks at 5×.
   */
  peaks?: Array<number | null>;
  /** The dominant period found when bucket `at` closed (detectPeriod); lag 0 = none. */
  period?: Periodicity;
}

/** A detected period: `lag` buckets, its autocorrelation `r`, the bucket phase its rise starts at. */
export interface Periodicity {
  /** The newest closed bucket it was computed over. */
  at: number;
  /** Period in 5-minute buckets (0 = no period). */
  lag: number;
  /** Autocorrelation at one period (of the detrended 5-minute means). */
  r: number;
  /** Bucket index mod lag where the folded profile rises most (phase 0:00 of the reason). */
  origin: number;
}

/** A period is detected and it is not the daily term's (within 10 % of a day). */
export function periodActive(h: DemandHistory): boolean {
  const lag = h.period?.lag ?? 0;
  return lag > 0 && Math.abs(lag - DAY) > DAY / 10;
}

/** The 5-minute mean of bucket `idx`, or null when unknown or not kept. */
export function at(h: DemandHistory, idx: number): number | null {
  const pos = h.values.length - 1 - (h.last - idx);
  if (pos < 0 || pos >= h.values.length) return null;
  return h.values[pos] ?? null;
}

/**
 * Median of the known 5-minute means of buckets from..to (inclusive), or undefined without data: a
 * crowd filling one or two buckets of a half hour does not move it (the mean it replaced did).
 */
export function medianOf(h: DemandHistory, from: number, to: number): number | undefined {
  const vs = knownMeans(h, from, to).sort((a, b) => a - b);
  const m = vs.length % 2 ? vs[(vs.length - 1) / 2] : ((vs[vs.length / 2 - 1] ?? 0) + (vs[vs.length / 2] ?? 0)) / 2;
  return m === undefined || !(m > 0) ? undefined : m;
}

/** Mean of the known 5-minute means of buckets from..to (inclusive), or undefined without data. */
export function meanOf(h: DemandHistory, from: number, to: number): number | undefined {
  const vs = knownMeans(h, from, to);
  return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : undefined;
}

/** The known 5-minute means of buckets from..to (inclusive), oldest first. */
function knownMeans(h: DemandHistory, from: number, to: number): number[] {
  const vs: number[] = [];
  for (let i = from; i <= to; i++) {
    const v = at(h, i);
    if (v !== null) vs.push(v);
  }
  return vs;
}

/** The highest observation of bucket `idx`, when kept (the last 2 days). */
export function peakAt(h: DemandHistory, idx: number): number | null {
  const peaks = h.peaks ?? [];
  const pos = peaks.length - 1 - (h.last - idx);
  if (pos < 0 || pos >= peaks.length) return null;
  return peaks[pos] ?? null;
}

/** 3 significant digits, for the reasons. */
export function fmt(x: number): string {
  return String(Number(x.toPrecision(3)));
}
