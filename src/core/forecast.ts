// Demand forecasting from past observations only (pure: the caller passes `now`).
//
// forecastPeak() answers "how high may demand go over the next `horizon` seconds?" as an upper
// bound the SLO sizing can trust, in three factors:
//
//   peak = min(base × seasonal growth × calibrated margin, 2 × the highest demand seen in 8 days)
//
// - base: the latest minute's demand (the highest observation in it);
// - seasonal growth (daily and weekly, Crane/GCP style): the highest 5-minute mean in
//   (then, then + horizon] a day ago (and, once two days are known, two days ago: a rise counts as
//   daily only when both days had it, so a one-off flash crowd is not replayed every day) and a week
//   ago, scaled by today's level ÷ that day's level (the half-hour means up to now and up to then),
//   over base; at least 1, at most 10. E.g. yesterday 08:55–09:00 averaged 100 rps and 09:00–09:05
//   1,000 rps → 1,000 rps at 08:57 today (growth 10 over a 100-rps base), so instances start before
//   09:00; 10 minutes into a spike that also came yesterday, growth stays near 1 (the spike is
//   already in the base; see seasonalGrowth). A day has 288 five-minute means, 8 days 2,304: small
//   enough to persist on a Kubernetes object;
// - the ceiling: twice the highest demand the history holds (FORECAST_CEILING), named in the reason
//   when it cuts;
// - calibrated margin: what the forecast missed before. Every minute, each minute k ∈ {1, 2, 4, 8,
//   16} back is scored: realized peak of the k minutes after it ÷ what base × growth said then. The
//   ratios go into log-spaced histograms per k — one over all minutes and one per demand band
//   (base ÷ the day's level: < 0.6, < 0.9, < 1.2, < 1.6, above), because quiet hours are noisier in
//   relative terms than busy ones — that forget with a 3-day half-life. The margin is the 99th
//   percentile of the band's misses (of all misses while the band has under 30), never below 1.
//   E.g. minute-to-minute noise of ±10 % gives a margin near 1.2: the peak of the next 2 minutes was
//   above 1.2× the last minute once in a hundred. Until 30 minutes have been scored there is no
//   margin and no forecast (the stable and burst windows decide alone), so a fresh service is
//   sized for what it sees.
//
// The whole history is plain JSON and bounded (2,304 + 60 + at most 5 × 6 × 2 × 108 numbers; about
// 23 KB after 8 days of 15-s samples).

export const FORECAST_BUCKET_S = 300;
const KEEP_BUCKETS = (8 * 86400) / FORECAST_BUCKET_S;
const DAY = 86400 / FORECAST_BUCKET_S;
const WEEK = 7 * DAY;

const MINUTE = 60;
/** Horizons (in minutes) the margin is calibrated for. */
export const MARGIN_HORIZONS = [1, 2, 4, 8, 16] as const;
const KEEP_MINUTES = 20;
/** Histogram of log(ratio): bins of 2 % from ratio 0.5 to ~4.2. */
const BIN_LOG = Math.log(1.02);
const BIN_FROM = Math.log(0.5);
const BINS = 108;
/** Forget with a 3-day half-life (in scored minutes). */
const DECAY = Math.pow(0.5, 1 / (3 * 1440));
/** The margin is this quantile of past misses. */
export const MARGIN_QUANTILE = 0.99;
/** Band edges of base ÷ level. */
const BAND_EDGES = [0.6, 0.9, 1.2, 1.6];
/** The level (a slow mean of minute peaks) forgets with a 1-day half-life. */
const LEVEL_DECAY = Math.pow(0.5, 1 / 1440);
/** Scored minutes needed before the margin (and the forecast) is used. */
export const MIN_SCORED_MINUTES = 30;

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
  /** Slow mean of minute peaks (the day's level), for the bands. */
  level?: number;
}

export function emptyHistory(): DemandHistory {
  return { last: -1, values: [], sum: 0, count: 0, minutes: [] };
}

/** Records one observation at `now` (seconds). Returns a new history; the input is not changed. */
export function recordDemand(h: DemandHistory, now: number, rps: number): DemandHistory {
  if (!Number.isFinite(rps) || rps < 0) return h;
  const idx = Math.floor(now / FORECAST_BUCKET_S);
  if (idx < h.last) return h; // time went backwards: ignore
  let next: DemandHistory;
  if (h.last === idx) {
    const sum = h.sum + rps;
    const count = h.count + 1;
    const values = h.values.slice();
    values[values.length - 1] = sig4(sum / count);
    next = { ...h, values, sum, count };
  } else {
    const values = h.last < 0 ? [] : h.values.slice();
    const gap = h.last < 0 ? 0 : Math.min(idx - h.last - 1, KEEP_BUCKETS);
    for (let i = 0; i < gap; i++) values.push(null);
    values.push(sig4(rps));
    const drop = values.length - KEEP_BUCKETS;
    next = { ...h, last: idx, values: drop > 0 ? values.slice(drop) : values, sum: rps, count: 1 };
  }
  return recordMinute(next, now, rps);
}

/** Minute peaks, and scoring of what the forecast said k minutes ago once a minute closes. */
function recordMinute(h: DemandHistory, now: number, rps: number): DemandHistory {
  const m = Math.floor(now / MINUTE);
  const minutes = (h.minutes ?? []).slice();
  const lastEntry = minutes[minutes.length - 1];
  if (lastEntry && lastEntry[0] === m) {
    if (rps > lastEntry[1]) minutes[minutes.length - 1] = [m, rps, lastEntry[2]];
    return { ...h, minutes };
  }
  if (lastEntry && lastEntry[0] > m) return h;
  // Minute `lastEntry` closed: score each horizon k whose start minute is m_closed − k.
  let misses = h.misses ?? [];
  let scored = h.scored ?? [];
  let level = h.level;
  if (lastEntry) {
    const closed = lastEntry[0];
    level = level === undefined ? lastEntry[1] : level * LEVEL_DECAY + lastEntry[1] * (1 - LEVEL_DECAY);
    misses = misses.slice();
    scored = scored.slice();
    MARGIN_HORIZONS.forEach((k, i) => {
      const start = minutes.find((e) => e[0] === closed - k);
      if (!start) return;
      const before = minutes.find((e) => e[0] === closed - k - 1);
      const base = Math.max(start[1], before?.[1] ?? 0);
      const predicted = base * start[2];
      if (predicted <= 0) return;
      let realized = 0;
      for (const e of minutes) if (e[0] > start[0] && e[0] <= closed && e[1] > realized) realized = e[1];
      const bin = Math.min(BINS - 1, Math.max(0, Math.floor((Math.log(realized / predicted) - BIN_FROM) / BIN_LOG)));
      const perBand = (misses[i] ?? []).slice();
      const counts = (scored[i] ?? []).slice();
      for (const band of [0, bandOf(base, level)]) {
        perBand[band] = addToBin(perBand[band] ?? [], bin);
        counts[band] = (counts[band] ?? 0) * DECAY + 1;
      }
      misses[i] = perBand;
      scored[i] = counts;
    });
  }
  // The seasonal growth the forecast uses in this minute, to be scored later.
  const prevPeak = lastEntry && lastEntry[0] === m - 1 ? lastEntry[1] : 0;
  minutes.push([m, rps, seasonalGrowth(h, now, MINUTE, Math.max(rps, prevPeak)).growth]);
  const keep = minutes.filter((e) => e[0] > m - KEEP_MINUTES);
  return { ...h, minutes: keep, misses, scored, ...(level !== undefined ? { level } : {}) };
}

/**
 * 5-minute means are kept to 4 significant digits: the controller persists the history on the
 * HeadroomPolicy's status, and full doubles made 8 days of it ~52 KB of JSON instead of ~23 KB;
 * a 0.05 % rounding is far below the forecast's margins.
 */
function sig4(x: number): number {
  return x === 0 ? 0 : Number(x.toPrecision(4));
}

function bandOf(base: number, level: number | undefined): number {
  if (level === undefined || level <= 0) return 0;
  const r = base / level;
  let band = 1;
  for (const edge of BAND_EDGES) if (r >= edge) band++;
  return band;
}

function addToBin(bins: Array<[number, number]>, bin: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let found = false;
  for (const [b, w] of bins) {
    const d = w * DECAY + (b === bin ? 1 : 0);
    if (b === bin) found = true;
    if (d > 1e-3) out.push([b, d]);
  }
  if (!found) out.push([bin, 1]);
  return out.sort((a, b) => a[0] - b[0]);
}

function at(h: DemandHistory, idx: number): number | null {
  const pos = h.values.length - 1 - (h.last - idx);
  if (pos < 0 || pos >= h.values.length) return null;
  return h.values[pos] ?? null;
}

/**
 * What one day and one week ago say about (now, now + horizon]: the highest 5-minute mean in
 * (then, then + horizon], scaled by how today's level compares with that day's (the mean of the
 * half hour up to now over the half hour up to then), as a factor over `base`, at least 1.
 *
 * Scaling the seasonal peak by the level, not the current minute by the seasonal rise, is what keeps
 * a recurring spike from being counted twice: 10 minutes into a spike that also came yesterday, the
 * current minute is already 5× the quiet level, and yesterday's rise from its quiet half hour was
 * ~3×; base × rise would size for ~15× the quiet level, yesterday's peak × level ratio sizes for ~5×.
 * With today like yesterday before the rise, the two agree: yesterday 08:55–09:00 averaged 100 rps
 * and 09:00–09:05 1,000 rps → 1,000 rps forecast at 08:57 today, 10× a 100-rps base.
 */
function seasonalGrowth(
  h: DemandHistory,
  now: number,
  horizonSeconds: number,
  base: number,
): { growth: number; label: string } {
  const idx = Math.floor(now / FORECAST_BUCKET_S);
  const ahead = Math.max(1, Math.ceil(horizonSeconds / FORECAST_BUCKET_S));
  const halfHourMean = (end: number): number | undefined => {
    let sum = 0;
    let n = 0;
    for (let i = end - 5; i <= end; i++) {
      const v = at(h, i);
      if (v !== null) {
        sum += v;
        n++;
      }
    }
    return n === 0 || sum <= 0 ? undefined : sum / n;
  };
  const levelNow = halfHourMean(idx);
  const rise = (lag: number): number | undefined => {
    // Against the half hour before `then`, so that one quiet bucket cannot fake a rise.
    const levelThen = halfHourMean(idx - lag);
    if (levelThen === undefined || levelNow === undefined || base <= 0) return undefined;
    let peak = 0;
    for (let i = idx - lag + 1; i <= idx - lag + ahead; i++) peak = Math.max(peak, at(h, i) ?? 0);
    // Never more than 10× the base: one odd bucket must not run away.
    return Math.min(10, Math.max(1, (peak * (levelNow / levelThen)) / base));
  };
  let best = { growth: 1, label: '' };
  // Two days back, a rise counts only if both days had it; with one day of history, yesterday alone.
  const d1 = rise(DAY);
  const d2 = rise(2 * DAY);
  const daily = d1 === undefined ? undefined : d2 === undefined ? d1 : Math.min(d1, d2);
  if (daily !== undefined && daily > best.growth)
    best = { growth: daily, label: d2 === undefined ? 'a day' : 'a day (and two days)' };
  const w = rise(WEEK);
  if (w !== undefined && w > best.growth) best = { growth: w, label: 'a week' };
  return best;
}

/**
 * The highest demand the history holds: 5-minute means over 8 days and the minute peaks of the last
 * 20 minutes. The forecast never exceeds FORECAST_CEILING times it.
 */
export function highestSeen(h: DemandHistory): number {
  let top = 0;
  for (const v of h.values) if (v !== null && v > top) top = v;
  for (const m of h.minutes ?? []) if (m[1] > top) top = m[1];
  return top;
}

/**
 * The forecast's ceiling over the highest demand seen: demand may grow past its record, and the
 * stable and burst windows follow it there, but pre-provisioning beyond twice the record is a
 * guess no history supports (on a spiky trace the uncapped forecast sized for 84 instances where
 * the real peak needed 11).
 */
export const FORECAST_CEILING = 2;

/** The calibrated margin for a horizon and base: the quantile of past misses (≥ 1), or undefined if too few. */
export function forecastMargin(h: DemandHistory, horizonSeconds: number, base?: number): number | undefined {
  const minutes = Math.max(1, Math.ceil(horizonSeconds / MINUTE));
  let i = MARGIN_HORIZONS.findIndex((k) => k >= minutes);
  if (i < 0) i = MARGIN_HORIZONS.length - 1;
  let band = base === undefined ? 0 : bandOf(base, h.level);
  if ((h.scored?.[i]?.[band] ?? 0) < MIN_SCORED_MINUTES) band = 0;
  const bins = h.misses?.[i]?.[band];
  if (!bins || (h.scored?.[i]?.[band] ?? 0) < MIN_SCORED_MINUTES) return undefined;
  let total = 0;
  for (const [, w] of bins) total += w;
  let above = total * (1 - MARGIN_QUANTILE);
  for (let j = bins.length - 1; j >= 0; j--) {
    const [b, w] = bins[j] ?? [0, 0];
    above -= w;
    if (above <= 0) return Math.max(1, Math.exp(BIN_FROM + (b + 1) * BIN_LOG));
  }
  return 1;
}

/** The peak demand expected over (now, now + horizon], or undefined before enough history. */
export function forecastPeak(
  h: DemandHistory,
  now: number,
  horizonSeconds: number,
): { rps: number; reason: string } | undefined {
  const latest = h.minutes?.[h.minutes.length - 1];
  if (!latest) return undefined;
  // Base: the highest observation of this minute and the last (a minute just begun says little).
  const prev = h.minutes?.[h.minutes.length - 2];
  const base = Math.max(latest[1], prev && prev[0] === latest[0] - 1 ? prev[1] : 0);
  const margin = forecastMargin(h, horizonSeconds, base);
  if (margin === undefined) return undefined;
  const { growth, label } = seasonalGrowth(h, now, horizonSeconds, base);
  const wanted = base * growth * margin;
  const record = Math.max(highestSeen(h), base);
  const ceiling = FORECAST_CEILING * record;
  const rps = Math.min(wanted, ceiling);
  const parts = [`last minute peaked at ${fmt(base)} rps`];
  if (growth > 1) parts.push(`${label} ago the next ${horizonSeconds} s peaked ${fmt(growth)}× this, at today's level`);
  parts.push(
    `past ${horizonSeconds}-s peaks came within ${fmt(margin)}× of the forecast ${MARGIN_QUANTILE * 100} % of the time at this level`,
  );
  if (wanted > ceiling)
    parts.push(
      `capped at ${FORECAST_CEILING}× the highest demand seen in 8 days (${fmt(record)} rps) from ${fmt(wanted)}`,
    );
  return { rps, reason: parts.join('; ') };
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(3)));
}
