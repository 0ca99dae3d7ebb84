// A policy's first round (no demand history in its status: a new policy, or a status reset) reads
// the demand query's past from Prometheus, so the forecast starts with its periods found and its
// margin scored instead of learning them for hours: the same query over the last
// behavior.forecast.historySeconds (default 8 days) at the policy's interval (at least 15 s),
// folded as the loop would have recorded it (src/loop/step.ts withHistory). As Crane reads 3 days
// and AWS predictive scaling up to 14 days of the metric's own history before its first forecast.
// E.g. 2-h spikes, a new policy: without it the first spike is an unforeseen 5× miss and the
// next 6 hours size every quiet minute for one; with a day read it sizes each spike 60 s ahead.
import { forecastHorizon } from '../core/decide.ts';
import { historyText } from '../core/forecast.ts';
import { duration } from '../core/forecast-periodic.ts';
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
  const seconds = model.behavior.forecast.historySeconds ?? FORECAST_HISTORY_SECONDS;
  if (!source || !model.behavior.forecast.enabled || seconds <= 0 || hasHistory(state)) return { state };
  // At least 15 s (a common scrape interval): a 1-s round over 8 days would be 691,200 points.
  const step = Math.max(HISTORY_MIN_STEP_SECONDS, Math.round(at.stepSeconds));
  const now = Math.floor(at.nowMs / 1000);
  // Up to the step before now: this round's reading is the live one decide() records.
  const range = { start: now - seconds, end: now - step, step };
  const span = duration(seconds);
  let answer;
  try {
    answer = await source.range(query, range, at.signal ? { signal: at.signal } : {});
  } catch (err) {
    answer = { kind: 'error' as const, reason: err instanceof Error ? err.message : String(err) };
  }
  if (answer.kind === 'error')
    return {
      state,
      outcome: {
        read: false,
        message: `the demand's last ${span} were not read from Prometheus (${answer.reason}): the forecast learns from now`,
      },
    };
  // Several series add up, as the live reading sums them (a raw query by pod).
  const sums = new Map<number, number>();
  for (const s of answer.series)
    for (const [t, v] of s.values) if (Number.isFinite(v) && v >= 0) sums.set(t, (sums.get(t) ?? 0) + v);
  const readings = [...sums.entries()].sort((a, b) => a[0] - b[0]);
  if (readings.length === 0)
    return {
      state,
      outcome: {
        read: false,
        message: `the demand query had no data in the last ${span}: the forecast learns from now`,
      },
    };
  const next = withHistory(model, state, readings);
  const from = readings[0]?.[0] ?? now;
  return {
    state: next,
    outcome: {
      read: true,
      message: `read ${duration(now - from)} of demand history from Prometheus (${readings.length.toLocaleString('en-US')} readings ${step} s apart): ${historyText(next.decide.demand, forecastHorizon(model))}`,
    },
  };
}
