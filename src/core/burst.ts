// The burst path: when the short window asks more than the ready instances carry at the target (or
// would break the latency SLO on them: below the target utilization a small pool may), size for it
// at once, with no scale-up rate limit (Knative's panic mode has none either).
//
// A burst seen once is a rise already under way: an instance asked for now is ready after
// `startupSeconds`, by when the rise may have gone on. How far past bursts of this service went on
// is learned, not guessed: each burst episode is followed for the forecast horizon (startup + 60 s)
// and scored peak ÷ the burst rate at first sight; the burst path then sizes for the burst times
// the highest of the last BURST_KEEP scores (at most BURST_GROWTH_CAP, forgotten after 8 days).
// E.g. a flash crowd seen at 878 rps that peaked at 1,786 rps within 120 s scores 2.03; the next
// burst seen at 900 rps is sized for 1,800 rps at once instead of 900 and chasing the rise one
// startup late. A fresh service has no scores: once its level is known (the forecast's first
// FIRST_FORECAST_MINUTES scored: before that a reading over the pool is as likely the level as a
// rise), its first burst over what the ready instances carry (at least one ready) and past 1.25×
// (RECORD_NOISE) any demand its history holds is sized for FIRST_BURST_GROWTH× its first sight (or
// what past bursts showed, if more) until its own rise is scored (the bench's flash crowds rose
// 1.5–3.3× theirs). Bursts scored before it (a cold start's first readings, noise over a pool sized
// for the level, excursions under the target: 1× each) leave the prior to it. A fixed prior, so the
// count moves with the first sight as the learned one does, never in a jump at a threshold (a slope
// switched on at 1.25–1.75× the stable rate was unrepeatable in the real cluster:
// docs/benchmarks.md, "Flash crowds"). A burst within what the history holds (a service started
// from a day of Prometheus history that had spikes) is no unknown rise: sized for itself; so is one
// where the history found a period (a day of 2-h spikes read: day 2's highest spike, past every
// reading of day 1, peaked at 13 instances for the oracle's 11, not 23).
// The highest score is widened by how much the scores vary (one standard deviation of their logs):
// bursts that rose 1.02, 2.03, 2.04, 2.73 and 1.58× are sized for 2.73 × 1.446 = 3.95×, since the
// next may go further than any before (the bench's fifth crowd rose 3.25×); bursts that all rose
// about 3× (periodic spikes) or 1× (steps) are sized for about that, so a steady service pays
// nothing for it.
// (Sizing a rise at its slope within one burst was tried and not adopted: docs/benchmarks.md,
// "Flash crowds".)
import type { Observation, Reason } from './decide.ts';
import { FORECAST_CEILING, RECORD_NOISE } from './forecast.ts';
import type { ServiceModel } from './model.ts';
import { sloAttainment, type PoolShape } from './pool.ts';
import { count } from './plan-explain.ts';

const fmt = (x: number): string => String(Number(x.toPrecision(4)));

/** Scores kept: the last 8 burst episodes. */
export const BURST_KEEP = 8;
/** A score above this is an odd reading, not a rise (the seasonal growth's cap too). */
export const BURST_GROWTH_CAP = 10;
/** The growth a fresh service's first burst is sized for, until a burst is scored. */
export const FIRST_BURST_GROWTH = 2;
/** Scores older than 8 days are forgotten (the forecast's history length). */
const BURST_FORGET_S = 8 * 86400;

/** The ready instances, what they carry at the target utilization, and their pool (for the SLO). */
export interface BurstPool {
  ready: number;
  carry: number;
  shape?: PoolShape;
}

/** Would the ready instances miss the latency SLO at `rps`? (Below the target utilization, they may.) */
function missesSlo(model: ServiceModel, pool: BurstPool, rps: number): boolean {
  if (!model.slo || !pool.shape || pool.ready <= 0) return false;
  const attained = sloAttainment({ ...pool.shape, demandRps: rps }, pool.ready, model.slo.latencyMs);
  return attained < model.slo.percentile / 100;
}

/** Burst episodes: the one being followed, and the scores of the last BURST_KEEP. */
export interface BurstHistory {
  /**
   * The episode under way: [first seen, rps at first sight, highest demand within the horizon,
   * last time the burst path fired, scored (1) or not (0), sized with the first-burst prior (1: a
   * fresh service's, FIRST_BURST_GROWTH×) or not (0)]. It ends once the burst path has not fired
   * for a horizon: the steps of one rise are one episode, sized once. (State saved before the
   * prior came holds 5 numbers: no prior.)
   */
  open?: [number, number, number, number, number, number] | [number, number, number, number, number];
  /** [time, peak ÷ first sight] of scored episodes, oldest first. */
  scores: Array<[number, number]>;
  /**
   * Whether an episode sized with the first-burst prior has been scored (1) or not yet (0): until
   * then the prior holds, whatever else was scored. Absent in state saved before it: taken as 1.
   */
  firstRise?: 0 | 1;
}

/** Follows the episode under way with this tick's demand; scores it `horizon` seconds after first sight. */
export function followBursts(h: BurstHistory | undefined, now: number, seen: number, horizon: number): BurstHistory {
  let scores = (h?.scores ?? []).filter(([t]) => t > now - BURST_FORGET_S);
  let firstRise = h?.firstRise;
  const open = h?.open;
  const out = (o?: BurstHistory['open']): BurstHistory => ({
    ...(o ? { open: o } : {}),
    scores,
    ...(firstRise !== undefined ? { firstRise } : {}),
  });
  if (!open) return out();
  const [t0, first, peak, fired, scored, prior = 0] = open;
  if (now <= t0 + horizon) return out([t0, first, Math.max(peak, seen), fired, scored, prior]);
  if (!scored) {
    const score = first > 0 ? peak / first : 1;
    // A fresh history (no score yet) says so; one saved before the flag had the prior end at its first score.
    firstRise = prior === 1 ? 1 : (firstRise ?? (h?.scores.length ? 1 : 0));
    scores = [...scores, [t0, Number(score.toPrecision(4))] as [number, number]].slice(-BURST_KEEP);
  }
  return now > fired + horizon ? out() : out([t0, first, peak, fired, 1, prior]);
}

/** The episode's bookkeeping after the burst path fired at `now` with `rps` (`prior`: sized with the first-burst prior). */
export function burstFired(
  h: BurstHistory,
  now: number,
  rps: number,
  windowSeconds: number,
  prior = false,
): BurstHistory {
  const o = h.open;
  if (!o) return { ...h, open: [now, rps, rps, now, 0, prior ? 1 : 0] };
  const first = firstSight(o, now, rps, windowSeconds);
  return { ...h, open: [o[0], first, Math.max(o[2], rps), now, o[4], prior || o[5] === 1 ? 1 : 0] };
}

/**
 * The episode's first sight: the highest burst rate over its first burst window. A window that
 * straddles the step shows part of it (1 s into a step from 60 to 700 rps a 6-s window reads 167),
 * and a score over that part would say 4.2× where the step itself went on 1×: the real cluster's
 * 1-s ticks must score like the simulator's whole-window ones.
 */
function firstSight(open: readonly number[], now: number, rps: number, windowSeconds: number): number {
  const [t0 = now, first = rps] = open;
  return now <= t0 + windowSeconds ? Math.max(first, rps) : first;
}

/** A first sight times the learned growth, never past the forecast's ceiling over `top`. */
function projected(first: number, growth: number, top: number): number {
  return Math.min(first * growth, FORECAST_CEILING * top);
}

/** `capped at 2× 1274 rps, the highest demand the forecast holds` (or `self` when it is higher), for a reason. */
function capText(top: number, highest: number, self: string): string {
  return `capped at ${FORECAST_CEILING}× ${fmt(top)} rps, ${top > highest ? self : 'the highest demand the forecast holds'}`;
}

/**
 * Scores are kept to 4 significant digits: a projection within that of the burst is the burst (an
 * episode seen at 684.9 rps that rose to 1,829.32 scores 2.671, and 684.9 × 2.671 = 1,829.42).
 */
const SCORE_ROUNDING = 5e-4;

/** What past bursts showed: how far they rose, and the growth a first sight is sized for. */
export interface BurstGrowth {
  /** The growth a first sight is sized for: highest × spread, at most BURST_GROWTH_CAP (1 when none is known). */
  growth: number;
  /** The lowest and highest score kept. */
  lowest: number;
  highest: number;
  /** e^(standard deviation of the scores' logs), from 2 scores on (1 below). */
  spread: number;
  episodes: number;
}

/** The growth past bursts showed, widened by how much it varied (1 when none is known). */
export function burstGrowth(h: BurstHistory | undefined): BurstGrowth {
  // A score below 1 (a reading that fell within the horizon) rose 1×.
  const logs = (h?.scores ?? []).map(([, s]) => Math.log(Math.max(1, s)));
  const n = logs.length;
  if (n === 0) return { growth: 1, lowest: 1, highest: 1, spread: 1, episodes: 0 };
  const top = Math.max(...logs);
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const sd = n >= 2 ? Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return {
    growth: Math.min(BURST_GROWTH_CAP, Math.exp(top + sd)),
    lowest: Math.exp(Math.min(...logs)),
    highest: Math.exp(top),
    spread: Math.exp(sd),
    episodes: n,
  };
}

/** Did the spread widen the growth by as much as a reason's 4 significant digits show? */
const widened = (g: BurstGrowth): boolean => g.spread >= 1.0005;

/**
 * How far past bursts went, for a reason: `the last 3 bursts rose 1.021–2.035× … = 3.03×`. `own`:
 * the scores hold the episode under way (scored a horizon after its first sight, still firing).
 */
function grewText(g: BurstGrowth, horizon: number, own: boolean): string {
  if (g.episodes === 1)
    return `${own ? 'this burst' : 'the last burst'} rose to ${fmt(g.highest)}× its first sight within ${horizon} s`;
  const rose = `the last ${g.episodes} bursts${own ? ', this one included,' : ''} rose ${rangeText(g)} their first sight within ${horizon} s`;
  return widened(g)
    ? `${rose}, sized for ${fmt(g.highest)} × ${fmt(g.spread)} (their spread) = ${fmt(g.growth)}×`
    : rose;
}

/** `1.021–2.734×` (or `2.5×` when the scores agree to 4 digits), for a reason. */
function rangeText(g: BurstGrowth): string {
  return fmt(g.lowest) === fmt(g.highest) ? `${fmt(g.highest)}×` : `${fmt(g.lowest)}–${fmt(g.highest)}×`;
}

/** The growth an episode is sized for: the first-burst prior while it holds (or past bursts' if higher), else theirs. */
function episodeGrowth(g: BurstGrowth, prior: boolean): number {
  return prior ? Math.max(FIRST_BURST_GROWTH, g.growth) : g.growth;
}

/**
 * Does the first-burst prior still hold: no burst scored, or none sized with it? Bursts scored
 * before are no evidence on a rise past the demand the history holds: a cold start's first readings
 * over its pool, noise over a pool sized for the level, an excursion under the target, each 1× (the
 * bench's flash at 20,000 rps, seed 2: four such, then the week's first crowd was sized for itself,
 * 46 instances where its 8,137-rps first sight went on to 19,420).
 */
function priorHolds(h: BurstHistory | undefined): boolean {
  return !h?.scores.length || h.firstRise === 0;
}

/**
 * Why a first burst past the history's demand is sized for FIRST_BURST_GROWTH× (or what past
 * bursts showed, if more), for a reason.
 */
function priorText(g: BurstGrowth): string {
  const none =
    g.episodes === 0
      ? 'no burst of this service scored yet'
      : `no burst first seen past the demand its history held scored yet (${count(g.episodes, 'other')} rose ${rangeText(g)})`;
  return `${none}, and this one was first seen past any demand its history holds: sized for ${g.growth > FIRST_BURST_GROWTH ? `${fmt(g.growth)}× (as past bursts went)` : `${FIRST_BURST_GROWTH}×`} until its own rise is scored`;
}

/**
 * What the burst path knows of the demand's level: the highest demand the forecast holds (its
 * ceiling's), the highest reading the history holds (the first-burst prior is for a rise past it),
 * whether the level is known (the forecast's first minutes scored) and whether the history found a
 * period (not the day's).
 */
export interface BurstLevel {
  highest: number;
  held: number;
  known: boolean;
  periodic: boolean;
  /**
   * Readings up to this are the level's noise, which a record bounds and the count covers within
   * the SLO (decide() step 2b): no burst while the ready instances meet the SLO at them.
   */
  noise?: number;
}

/**
 * The demand the burst path sizes for, with its reasons; undefined when it does not fire.
 * `ready` instances carry `carry` rps at the target utilization.
 */
export function burstDemand(
  model: ServiceModel,
  obs: Observation,
  stable: number,
  pool: BurstPool,
  learned?: BurstLevel & { history: BurstHistory; horizon: number; now: number },
): { rps: number; reasons: Reason[]; prior?: true } | undefined {
  const { ready, carry } = pool;
  const b = model.behavior.burst;
  const burst = obs.burstDemandRps;
  if (!b.enabled || burst === undefined || !Number.isFinite(burst) || burst <= stable) return undefined;
  // Within the noise a record bounds a reading is a burst only where the ready pool misses the SLO
  // at it: a count sized for the record carries it within the SLO.
  const withinNoise = learned?.noise !== undefined && burst <= learned.noise;
  const over = burst >= b.threshold * carry && !withinNoise;
  if (!over && !missesSlo(model, pool, burst)) return undefined;
  const grew = burstGrowth(b.learn ? learned?.history : undefined);
  // Within an episode the rise is sized once, from its first sight (later steps add only what goes
  // past it), and never past the forecast's ceiling: twice the highest demand seen.
  const window = obs.burstWindowSeconds ?? b.windowSeconds;
  const open = learned?.history.open;
  const first = open ? firstSight(open, learned.now, burst, window) : burst;
  // The prior is decided over the first burst window, as the first sight is (1-s ticks climb through
  // it), for a burst over a serving pool: with none ready there is no rise to measure, only demand
  // unserved; a burst under the target utilization that only breaks the SLO is a small excursion,
  // and one within the highest demand the history holds is no unknown rise; nor is one where the
  // history found a period (the periodic term starts those rises ahead: a burst past it is what is
  // left of a recurring rise, as pastBurstsOf leaves them unscored).
  const prior =
    b.learn &&
    learned !== undefined &&
    priorHolds(learned.history) &&
    (open?.[5] === 1 ||
      ((!open || learned.now <= open[0] + window) &&
        over &&
        ready > 0 &&
        burst > learned.held * RECORD_NOISE &&
        learned.known &&
        !learned.periodic));
  const growth = episodeGrowth(grew, prior);
  const top = Math.max(learned?.highest ?? 0, burst);
  const rps = Math.max(burst, projected(first, growth, top));
  const goesOn = rps > burst * (1 + SCORE_ROUNDING);
  const own = open?.[4] === 1 && grew.episodes > 0 && !!learned?.history.scores.some(([t]) => t === open[0]);
  const wanted = first * growth;
  const cap = wanted > rps ? ` = ${fmt(wanted)}, ${capText(top, learned?.highest ?? 0, 'the burst itself')}` : '';
  const reasons: Reason[] = [
    {
      code: 'Burst',
      message: `last ${fmt(obs.burstWindowSeconds ?? b.windowSeconds)} s at ${fmt(burst)} rps ${
        over
          ? `≥ ${b.threshold}× what ${count(ready, 'ready instance')} ${ready === 1 ? 'carries' : 'carry'} (${fmt(carry)} rps)`
          : `would break the p${model.slo?.percentile} ≤ ${model.slo?.latencyMs} ms SLO on ${count(ready, 'ready instance')}`
      }: sizing for the burst${
        goesOn
          ? ` as it may go on, ${fmt(rps)} rps (${fmt(first)} rps at first sight × ${fmt(growth)}${cap}): ${prior ? priorText(grew) : grewText(grew, learned?.horizon ?? 0, own)}`
          : ''
      }, no scale-up rate limit`,
    },
  ];
  return { rps, reasons, ...(prior ? { prior } : {}) };
}

/**
 * One decision's burst path: follows the episode under way, sizes a burst (undefined when it does
 * not fire) and records that it fired. `highest`: the highest demand the forecast history holds.
 */
export function burstPath(
  model: ServiceModel,
  obs: Observation,
  stable: number,
  pool: BurstPool,
  at: BurstLevel & { bursts: BurstHistory | undefined; now: number; horizon: number },
): { burst?: { rps: number; reasons: Reason[]; held?: true }; bursts: BurstHistory } {
  const b = obs.burstDemandRps;
  // A burst reading that is not a rate (NaN, negative) never enters an episode's peak.
  const seen = Math.max(stable, b !== undefined && b >= 0 && b <= Number.MAX_VALUE ? b : 0);
  const followed = followBursts(at.bursts, at.now, seen, at.horizon);
  const learned = { ...at, history: followed };
  const burst = burstDemand(model, obs, stable, pool, learned);
  if (!burst) {
    const held = heldBurst(model, followed, at);
    return held ? { burst: held, bursts: followed } : { bursts: followed };
  }
  const window = obs.burstWindowSeconds ?? model.behavior.burst.windowSeconds;
  return { burst, bursts: burstFired(followed, at.now, obs.burstDemandRps ?? stable, window, burst.prior) };
}

/**
 * While an episode is within its horizon and the ready instances carry it (so the burst path does
 * not fire), what it was sized for at first sight still holds: the rise it foresaw may not have come
 * yet, and the stable window lags it by a minute. Without this the count asked for at first sight
 * was taken back a scale-down window later, in the middle of the rise.
 */
function heldBurst(
  model: ServiceModel,
  h: BurstHistory,
  at: { now: number; horizon: number; highest: number },
): { rps: number; reasons: Reason[]; held: true } | undefined {
  const o = h.open;
  if (!o || !model.behavior.burst.learn || at.now > o[0] + at.horizon) return undefined;
  const g = burstGrowth(h);
  const prior = priorHolds(h) && o[5] === 1;
  const growth = episodeGrowth(g, prior);
  if (growth <= 1) return undefined;
  const top = Math.max(at.highest, o[1]);
  const rps = projected(o[1], growth, top);
  // Within the horizon the episode is not scored yet: its scores are all past bursts'.
  const as = prior
    ? `, a first burst past the demand the history held`
    : widened(g)
      ? `: past bursts rose up to ${fmt(g.highest)}×, × ${fmt(g.spread)} for their spread`
      : ' as past bursts did';
  const wanted = o[1] * growth;
  const cap = wanted > rps ? `; ${fmt(wanted)} rps ${capText(top, at.highest, 'its first sight')}` : '';
  const message = `a burst first seen ${fmt(at.now - o[0])} s ago at ${fmt(o[1])} rps may still rise to ${fmt(rps)} rps (${fmt(growth)}×${as}${cap}) until ${fmt(at.horizon)} s after its first sight`;
  return { rps, reasons: [{ code: 'Burst', message }], held: true };
}

/**
 * The bursts a history read holds, for its Event: `; 1 burst in it scored: it rose 1.922× its first
 * sight within 120 s` ('' when none).
 */
export function pastBurstsText(h: BurstHistory | undefined, horizon: number): string {
  const g = burstGrowth(h);
  if (g.episodes === 0) return '';
  const them = g.episodes === 1 ? 'it rose' : 'they rose';
  const their = g.episodes === 1 ? 'its' : 'their';
  return `; ${count(g.episodes, 'burst')} in it scored: ${them} ${rangeText(g)} ${their} first sight within ${horizon} s`;
}

/** A reading this many times the 10 minutes' median before it (and over one pool's carry) is a rise. */
const PAST_RISE = 1.5;

/**
 * Burst episodes in the demand's past (readings [t, rps] oldest first, each the mean rate of the
 * `meanSeconds` before t, as Prometheus' rate() gives them), scored as the live path scores its
 * own: peak within `horizon` ÷ first sight. So a service started from its history sizes its first
 * crowd for how far its past crowds went, not for itself (a warm start held no scores, and a crowd
 * within the history's highest got no prior either). A rise: a reading ≥ PAST_RISE× the median of
 * the readings 1–10 minutes before and ≥ what a pool sized for that median carries (`carryOf`: the
 * live path fires over what the ready carry). A mean lags the rate under it by half its window, so
 * the first sight is the highest reading within half a window after the rise. E.g. 100 rps, then
 * 200, 400 and 600 a minute each (the 60-s rate every 15 s): the rise read at 150, first sight 200
 * 30 s later, peak 500 within 120 s: 2.5× (the live 6-s window: 600 ÷ 200 = 3×); a step 640 →
 * 1,900 rps reads 1–1.3× (1× live), by where the readings fall in it.
 */
export function pastBursts(
  readings: ReadonlyArray<readonly [number, number]>,
  horizon: number,
  carryOf: (rps: number) => number,
  meanSeconds = 60,
): BurstHistory {
  const scores: Array<[number, number]> = [];
  const end = readings[readings.length - 1]?.[0] ?? 0;
  let quietUntil = -Infinity;
  for (let i = 0; i < readings.length; i++) {
    const [t, rps] = readings[i]!;
    if (t < quietUntil || t < end - BURST_FORGET_S) continue;
    const before: number[] = [];
    for (let j = i - 1; j >= 0 && readings[j]![0] >= t - 600; j--)
      if (readings[j]![0] <= t - 60) before.push(readings[j]![1]);
    if (before.length < 5) continue;
    before.sort((a, b) => a - b);
    const level = before[Math.floor(before.length / 2)]!;
    const rise = Math.max(PAST_RISE * level, carryOf(level));
    if (!(rps >= rise && rps > 0)) continue;
    let first = rps;
    let peak = rps;
    for (let j = i + 1; j < readings.length && readings[j]![0] <= t + horizon; j++) {
      const r = readings[j]![1];
      if (readings[j]![0] <= t + meanSeconds / 2) first = Math.max(first, r);
      peak = Math.max(peak, r);
    }
    scores.push([t, Number((peak / first).toPrecision(4))]);
    // As a live episode, it ends a horizon after the rate fell back under the rise.
    let k = i + 1;
    while (k < readings.length && readings[k]![1] >= rise) k++;
    quietUntil = Math.max(t, readings[Math.min(k, readings.length - 1)]![0]) + horizon;
  }
  return { scores: scores.slice(-BURST_KEEP) };
}
