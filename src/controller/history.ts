// A policy's first round (no demand history in its status: a new policy, or a status reset) reads
// the demand query's past from Prometheus, so the forecast starts with its periods found and its
// margin scored instead of learning them for hours: the same query over the last
// behavior.forecast.historySeconds (default 8 days) at the policy's interval (at least 15 s),
// folded as the loop would have recorded it (src/loop/step.ts withHistory). As Crane reads 3 days
// and AWS predictive scaling up to 14 days of the metric's own history before its first forecast.
// E.g. 2-h spikes, a new policy: without it the first spike is an unforeseen 5× miss and the
// next 6 hours size every quiet minute for one; with a day read it sizes each spike 60 s ahead.
import { parseDuration } from '../alerting/config.ts';
import { forecastHorizon } from '../core/decide.ts';
import { pastBurstsText, type BurstHistory } from '../core/burst.ts';
import { historyText } from '../core/forecast.ts';
import { duration } from '../core/forecast-periodic.ts';
import type { DemandHistory } from '../core/forecast-history.ts';
import { FORECAST_HISTORY_SECONDS, type ServiceModel } from '../core/model.ts';
import { hasHistory, withHistory, type LoopState } from '../loop/step.ts';
import type { RangeSource } from '../ports/metrics.ts';

/** The finest step the past is read at (s): a policy's interval when it is longer. */
export const HISTORY_MIN_STEP_SECONDS = 15;

/** What was read, for the policy's Event (status.ts): `HistoryRead` (Normal) or `HistoryNotRead` (Warning). */
export interface HistoryOutcome {
  read: boolean;
  message: string;
}

/** The demand's past as read: oldest first, or why there is none. */
export type DemandPast =
  | { kind: 'read'; readings: Array<[number, number]>; step: number; seconds: number }
  | { kind: 'off' }
  | { kind: 'failed'; reason: string; seconds: number }
  | { kind: 'empty'; seconds: number };

/**
 * The window of the rate a demand query reads, s, when it has one range selector: `[2m]` in
 * `sum(rate(http_requests_total[2m]))` is 120; 60 (the default template's) when it has none, or
 * several that differ. The history's bursts are scored for it (src/core/burst.ts pastBursts).
 */
export function rateWindowOf(query: string): number {
  const ranges = new Set([...query.matchAll(/\[((?:\d+(?:ms|[smhd]))+)\]/g)].map((m) => m[1]));
  const [only] = ranges;
  return ranges.size === 1 && only !== undefined ? parseDuration(only) : 60;
}

/** Seconds of the past a policy reads: 0 with the forecast off or historySeconds 0. */
export function pastSeconds(model: ServiceModel): number {
  return model.behavior.forecast.enabled ? (model.behavior.forecast.historySeconds ?? FORECAST_HISTORY_SECONDS) : 0;
}

/** 691,185 s → "8 d", 172,000 s → "47 h 47 min", 5,400 s → "1 h 30 min" (to the minute; days from 2). */
export function spanText(seconds: number): string {
  const min = Math.round(seconds / 60);
  return min >= 2 * 1440 ? `${Number((min / 1440).toFixed(1))} d` : duration(min * 60);
}

/**
 * The demand query over the model's history before `beforeMs` (the step before it last), at
 * `stepSeconds` (at least 15), several series added up as the live reading sums them. Never
 * rejects. `headroom backtest` reads the past before its range the same way.
 */
export async function readDemandPast(
  source: RangeSource,
  query: string,
  model: ServiceModel,
  at: { beforeMs: number; stepSeconds: number; signal?: AbortSignal },
): Promise<DemandPast> {
  const seconds = pastSeconds(model);
  if (seconds <= 0) return { kind: 'off' };
  // At least 15 s (a common scrape interval): a 1-s round over 8 days would be 691,200 points.
  const step = Math.max(HISTORY_MIN_STEP_SECONDS, Math.round(at.stepSeconds));
  const before = Math.floor(at.beforeMs / 1000);
  // Up to the step before: the reading at `before` is the live one decide() records.
  const range = { start: before - seconds, end: before - step, step };
  let answer;
  try {
    answer = await source.range(query, range, at.signal ? { signal: at.signal } : {});
  } catch (err) {
    answer = { kind: 'error' as const, reason: err instanceof Error ? err.message : String(err) };
  }
  if (answer.kind === 'error') return { kind: 'failed', reason: answer.reason, seconds };
  const sums = new Map<number, number>();
  for (const s of answer.series)
    for (const [t, v] of s.values) if (Number.isFinite(v) && v >= 0) sums.set(t, (sums.get(t) ?? 0) + v);
  const sorted = [...sums.entries()].sort((a, b) => a[0] - b[0]);
  // Data that begins inside the range (a new service's counter): rate() over its first window
  // extrapolates from fewer samples than the window spans, and a real Prometheus read 2 samples as
  // ~0.6× the level. Scored as a forecast miss, that 1.3–1.6× kept a record from bounding the noise
  // for the 3 days misses are kept (2 of 8 clock alignments in test/e2e/controller-model-confirmed).
  // The readings within one rate window of where the data begins are left out.
  const first = sorted[0]?.[0];
  const rate = rateWindowOf(query);
  const readings = first !== undefined && first > range.start ? sorted.filter(([t]) => t >= first + rate) : sorted;
  if (readings.length === 0) return { kind: 'empty', seconds };
  return { kind: 'read', readings, step, seconds: before - (readings[0]?.[0] ?? before) };
}

/** What was read and what the history then holds, for an Event or a report line. */
export function pastText(
  model: ServiceModel,
  past: Extract<DemandPast, { kind: 'read' }>,
  history: DemandHistory,
  bursts?: BurstHistory,
): { what: string; holds: string } {
  return {
    what: `${spanText(past.seconds)} of demand history (${past.readings.length.toLocaleString('en-US')} readings ${past.step} s apart)`,
    holds: historyText(history, forecastHorizon(model)) + pastBurstsText(bursts, forecastHorizon(model)),
  };
}

/**
 * `state` with the demand's past read through `source` when it has no demand history and the
 * model asks for some; else `state` as it is. Never rejects: a failed read leaves the state as it
 * was (the forecast learns from now, as before) and says why.
 */
export async function readHistory(
  source: RangeSource | undefined,
  query: string,
  model: ServiceModel,
  state: LoopState,
  at: { nowMs: number; stepSeconds: number; signal?: AbortSignal },
): Promise<{ state: LoopState; outcome?: HistoryOutcome }> {
  if (!source || pastSeconds(model) <= 0 || hasHistory(state)) return { state };
  const past = await readDemandPast(source, query, model, {
    beforeMs: at.nowMs,
    stepSeconds: at.stepSeconds,
    ...(at.signal ? { signal: at.signal } : {}),
  });
  const learns = 'the forecast learns from now';
  if (past.kind === 'off') return { state };
  if (past.kind === 'failed') {
    const message = `the demand's last ${spanText(past.seconds)} were not read from Prometheus (${past.reason}): ${learns}`;
    return { state, outcome: { read: false, message } };
  }
  if (past.kind === 'empty') {
    const message = `the demand query had no data in the last ${spanText(past.seconds)}: ${learns}`;
    return { state, outcome: { read: false, message } };
  }
  const next = withHistory(model, state, past.readings, rateWindowOf(query));
  const t = pastText(model, past, next.decide.demand, next.decide.bursts);
  return { state: next, outcome: { read: true, message: `read ${t.what} from Prometheus: ${t.holds}` } };
}
