// The periodic term of the forecast (issue 15, item 2): detectPeriod() finds the dominant period of
// the 5-minute means, periodicRise() looks one and two periods back for a rise, quietAhead() for
// its absence (decide()'s quiet phase). forecast.ts explains the whole forecast; this module is its
// period detection and phase.
//
// When a bucket closes (every 5 minutes, not every decision) detectPeriod() looks for the dominant
// period of 15 min to a day: per candidate lag L, detrend by a moving mean over L, and score
// min(r(L), r(2L)) of the autocorrelation — the pattern must repeat over 3 periods, so noise
// (|r| ≈ 0.03) and flash crowds (r(2L) ≈ 0) never count; the shortest lag scoring ≥ 0.5 and
// ≥ 0.85× the best wins (a 2-h spike grid: r(24 buckets) ≈ 0.9, r(12) < 0 → 2 h). A period within
// 10 % of a day is left to the daily term. periodicRise() then takes the highest observation of each
// bucket (kept 2 days: a 5× spike that rises in 2.5 min averages ~2.4× over 5 minutes but peaks at
// 5×) from then's bucket to then + horizon + 2 minutes (PERIOD_SLACK_S: jitter), one and two periods
// back, each scaled by the level ratio (closed half hours: before now's bucket and before then's);
// a rise counts only when both cycles show it, and is then sized for the higher of the two (with
// ±2 min jitter the lower one often holds only the spike's edge).

import {
  DAY,
  FORECAST_BUCKET_S,
  RISE_GROWTH,
  fmt,
  medianOf,
  peakAt,
  periodActive,
  type DemandHistory,
  type Periodicity,
} from './forecast-history.ts';

/** Shortest period looked for: 15 minutes (3 buckets). */
const MIN_LAG = 3;
/** Candidates up to a day: longer ones cannot show 3 periods in 8 days (the weekly term covers a week). */
const MAX_LAG = DAY;
/** Evidence for a period: the autocorrelation at one and at two periods both at least this. */
export const PERIOD_MIN_R = 0.5;
/** Of the candidates within this fraction of the best score, the shortest (the fundamental) wins. */
const PERIOD_NEAR_BEST = 0.85;
/** Pairs needed at two periods back: at least a period and at least 2 hours of buckets. */
const MIN_PAIRS = 24;

/**
 * The dominant period of 5-minute means (oldest first, null = no data), or lag 0 if none shows
 * real evidence. For each candidate lag L of 15 minutes to a day with at least 3 periods of
 * history: detrend with a moving mean over L (what varies slower than the period goes; a
 * period-L pattern survives, its mean over one period is constant), then the autocorrelation r(L)
 * and r(2L) of the residual. Score = min(r(L), r(2L)): the pattern must repeat over three periods,
 * as the daily term needs two days to agree, so two flash crowds that happen to be L apart score
 * ~0 at 2L. The period is the shortest local maximum with score ≥ PERIOD_MIN_R and ≥ 0.85× the best
 * (multiples of the period score as well; the shortest is the fundamental). E.g. a 2-h grid of 5×
 * spikes with ±10 % noise and ±2 min jitter: r(24) ≈ 0.8, r(48) ≈ 0.8, r(12) < 0 → 2 h; pure
 * noise: |r| ≈ 1/√n ≈ 0.03 → none; a day/night sine: residuals of the short lags are noise, the
 * first peak is 288 buckets → daily (left to the daily term).
 *
 * Cost: ~3 passes over n ≤ 2,304 buckets per candidate, 286 candidates: ~2 M multiply-adds, about
 * 2–3 ms, once per closed bucket (every 5 minutes), not per decision.
 */
export function detectPeriod(values: ReadonlyArray<number | null>): { lag: number; r: number; origin: number } {
  const n = values.length;
  const x = new Float64Array(n);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) {
      x[i] = v;
      ok[i] = 1;
    }
  }
  const y = new Float64Array(n);
  const yok = new Uint8Array(n);
  const corr = (lag: number): { r: number; pairs: number } => {
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    let pairs = 0;
    for (let i = 0; i + lag < n; i++) {
      if (!yok[i] || !yok[i + lag]) continue;
      const a = y[i]!;
      const b = y[i + lag]!;
      sxy += a * b;
      sxx += a * a;
      syy += b * b;
      pairs++;
    }
    return { r: sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0, pairs };
  };
  const top = Math.min(MAX_LAG, Math.floor(n / 3));
  const score = new Float64Array(top + 2);
  const r1 = new Float64Array(top + 2);
  for (let lag = MIN_LAG; lag <= top; lag++) {
    // Centered moving mean over one period (window [i − ⌊L/2⌋, i − ⌊L/2⌋ + L)), at least half present.
    const half = Math.floor(lag / 2);
    let sum = 0;
    let cnt = 0;
    for (let j = 0; j < Math.min(n, lag - half); j++) {
      if (!ok[j]) continue;
      sum += x[j]!;
      cnt++;
    }
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        const add = i - half + lag - 1;
        const drop = i - half - 1;
        if (add < n && ok[add]) {
          sum += x[add]!;
          cnt++;
        }
        if (drop >= 0 && ok[drop]) {
          sum -= x[drop]!;
          cnt--;
        }
      }
      const full = i - half >= 0 && i - half + lag <= n;
      yok[i] = ok[i] && full && cnt * 2 >= lag ? 1 : 0;
      y[i] = yok[i] ? x[i]! - sum / cnt : 0;
    }
    const a = corr(lag);
    const b = corr(2 * lag);
    r1[lag] = a.r;
    score[lag] = b.pairs >= Math.max(lag, MIN_PAIRS) ? Math.min(a.r, b.r) : 0;
  }
  let best = 0;
  for (let lag = MIN_LAG; lag <= top; lag++) best = Math.max(best, score[lag]!);
  if (best < PERIOD_MIN_R) return { lag: 0, r: 0, origin: 0 };
  for (let lag = MIN_LAG; lag <= top; lag++) {
    const s = score[lag]!;
    if (s < Math.max(PERIOD_MIN_R, PERIOD_NEAR_BEST * best)) continue;
    if (s < score[lag - 1]! || s < score[lag + 1]!) continue;
    return { lag, r: r1[lag]!, origin: riseOrigin(x, ok, lag) };
  }
  return { lag: 0, r: 0, origin: 0 };
}

/** The phase (array index mod lag) where the folded mean profile rises most: where a spike starts. */
function riseOrigin(x: Float64Array, ok: Uint8Array, lag: number): number {
  const sum = new Float64Array(lag);
  const cnt = new Float64Array(lag);
  for (let i = 0; i < x.length; i++) {
    if (!ok[i]) continue;
    sum[i % lag] = sum[i % lag]! + x[i]!;
    cnt[i % lag] = cnt[i % lag]! + 1;
  }
  const mean = (p: number): number => (cnt[p]! > 0 ? sum[p]! / cnt[p]! : 0);
  let origin = 0;
  let rise = -Infinity;
  for (let p = 0; p < lag; p++) {
    const d = mean(p) - mean((p + lag - 1) % lag);
    if (d > rise) {
      rise = d;
      origin = p;
    }
  }
  return origin;
}

/** detectPeriod over closed buckets ending at bucket `at`, with the origin as a bucket index mod lag. */
export function periodicity(closed: ReadonlyArray<number | null>, at: number): Periodicity {
  const d = detectPeriod(closed);
  if (d.lag === 0) return { at, lag: 0, r: 0, origin: 0 };
  const first = at - closed.length + 1;
  return { at, lag: d.lag, r: Number(d.r.toFixed(3)), origin: (((first + d.origin) % d.lag) + d.lag) % d.lag };
}

/** Slack past the horizon the periodic term looks: one bucket, for jitter and the 5-minute grain. */
export const PERIOD_SLACK_S = 120;

/**
 * The detected period's term: the highest observation in the buckets from `then`'s to
 * then + horizon + one bucket, one period ago and two periods ago, each scaled by the level ratio
 * as the daily term (over closed half hours); a rise counts only when both cycles show it (so one
 * odd cycle does not repeat) and is then the higher of the two, else the lower; over base. The
 * bucket of `then` itself counts (its rest is still ahead) and the extra bucket covers jitter:
 * with a spike due at 3:00:00 ± 2 min on a 5-minute grid, the term rises from 2:53 on, so instances (60-s startup) are ready by 2:54–2:59 and the spike may come early. A
 * period within 10 % of a day is the daily term's.
 */
export function periodicRise(
  h: DemandHistory,
  now: number,
  horizonSeconds: number,
  base: number,
): { growth: number; label: string; rise: PeriodicRise } | undefined {
  const per = h.period;
  if (!per || base <= 0) return;
  const cs = lastCycles(h, now, horizonSeconds);
  if (!cs) return;
  const { lag, c1, c2 } = cs;
  // Both cycles must show the rise for it to count (one odd cycle does not repeat); when both do,
  // the higher is expected: with ±2-min jitter one cycle's window often holds only the spike's edge,
  // and the lower one under-sized those spikes.
  const rises = Math.min(c1.peak, c2.peak) >= RISE_GROWTH * base;
  const expected = rises ? Math.max(c1.peak, c2.peak) : Math.min(c1.peak, c2.peak);
  const growth = Math.min(10, Math.max(1, expected / base));
  const phase =
    (((now - per.origin * FORECAST_BUCKET_S) % (lag * FORECAST_BUCKET_S)) + lag * FORECAST_BUCKET_S) %
    (lag * FORECAST_BUCKET_S);
  const inSeconds = Math.max(0, c1.bucket * FORECAST_BUCKET_S - now);
  const rise: PeriodicRise = {
    periodSeconds: lag * FORECAST_BUCKET_S,
    r: per.r,
    phaseSeconds: phase,
    expectedRps: expected,
    inSeconds,
  };
  const label = `period ${duration(rise.periodSeconds)} (autocorrelation ${fmt(per.r)}), phase ${clock(phase)} of ${clock(rise.periodSeconds)}: ${growth >= RISE_GROWTH ? 'spike' : 'peak'} of ${fmt(expected)} rps expected ${inSeconds > 0 ? `in ${Math.round(inSeconds)} s` : 'now'} (looked for over the ${horizonSeconds}-s horizon + ${PERIOD_SLACK_S} s for jitter)`;
  return { growth, label, rise };
}

/** One cycle back: the highest observation over the window, scaled to today's level, and its bucket. */
interface Cycle {
  peak: number;
  bucket: number;
  /** Every bucket of the window was kept (an unknown one reads as 0 in `peak`). */
  complete: boolean;
}

/**
 * The window from now's bucket to now + `aheadSeconds` + PERIOD_SLACK_S, one and two periods back
 * (the highest observation of each bucket, scaled by the level ratio of the closed half hours before
 * now's bucket and before then's), or undefined without an active period or enough history.
 */
function lastCycles(
  h: DemandHistory,
  now: number,
  aheadSeconds: number,
): { lag: number; levelNow: number; c1: Cycle; c2: Cycle } | undefined {
  const per = h.period;
  if (!per || !periodActive(h)) return undefined;
  const lag = per.lag;
  const idx = Math.floor(now / FORECAST_BUCKET_S);
  // The level compares closed half hours, the six buckets before now's and before then's: now's
  // partial bucket against then's whole one cut a spike starting at this phase by ~1.35× (1,400 rps
  // foreseen, 1,850 came). (A whole period as the level: 1-h spikes 0.097 → 0.149 % violating.)
  const levelNow = medianOf(h, idx - 6, idx - 1);
  if (levelNow === undefined) return undefined;
  const last = Math.floor((now + aheadSeconds + PERIOD_SLACK_S) / FORECAST_BUCKET_S);
  const cycle = (k: number): Cycle | undefined => {
    const levelThen = medianOf(h, idx - 6 - k * lag, idx - 1 - k * lag);
    if (levelThen === undefined) return undefined;
    let peak = 0;
    let bucket = idx;
    let complete = true;
    for (let i = idx; i <= last; i++) {
      const v = peakAt(h, i - k * lag);
      if (v === null) complete = false;
      if ((v ?? 0) > peak) {
        peak = v ?? 0;
        bucket = i;
      }
    }
    return { peak: peak * (levelNow / levelThen), bucket, complete };
  };
  const c1 = cycle(1);
  const c2 = cycle(2);
  return c1 && c2 ? { lag, levelNow, c1, c2 } : undefined;
}

/**
 * A detected period's quiet phase: from now to `aheadSeconds` ahead (plus PERIOD_SLACK_S), both of
 * the last two cycles stayed under RISE_GROWTH × today's level (the half hour's median), so no spike
 * is due. decide() then lets the scale-down window drop the counts a spike that is over asked for.
 * E.g. 2-h spikes at 2,000 rps, 420 s ahead (+ 120 s of slack): today's level 397 rps, the cycles'
 * next 540 s at most 412 rps < 1.5 × 397 → quiet; in the 540 s before the next spike, never.
 */
export function quietAhead(h: DemandHistory, now: number, aheadSeconds: number): { label: string } | undefined {
  const cs = lastCycles(h, now, aheadSeconds);
  if (!cs || !cs.c1.complete || !cs.c2.complete) return undefined;
  const highest = Math.max(cs.c1.peak, cs.c2.peak);
  if (!(highest < RISE_GROWTH * cs.levelNow)) return undefined;
  const periodSeconds = cs.lag * FORECAST_BUCKET_S;
  const ahead = Math.round(aheadSeconds + PERIOD_SLACK_S);
  return {
    label: `the last two cycles of the ${duration(periodSeconds)} period stayed under ${RISE_GROWTH}× today's level (${fmt(cs.levelNow)} rps) over the next ${ahead} s, at most ${fmt(highest)} rps`,
  };
}

/** What the periodic term matched, for the reason. */
export interface PeriodicRise {
  periodSeconds: number;
  /** Autocorrelation at one period. */
  r: number;
  /** Seconds since the period's rise phase (the folded profile's steepest rise). */
  phaseSeconds: number;
  /** The highest observation the matched phase had, scaled (of one and two periods back: the higher for a rise, else the lower). */
  expectedRps: number;
  /** Seconds until the bucket that had it starts (0 = this bucket). */
  inSeconds: number;
}

/** 7200 → "2 h", 5400 → "1 h 30 min", 900 → "15 min". */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return [h > 0 ? `${h} h` : '', m > 0 ? `${m} min` : ''].filter(Boolean).join(' ') || '0 min';
}

/** 6900 → "1:55". */
function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}
