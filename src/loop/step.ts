// One step of the control loop, the same for every mode that acts (local `run`, the Kubernetes
// controller): check the latency model against what was measured (calibrate), decide, and guard.
// Pure: the caller gives the time and does the I/O (observe before, act after). Each mode keeps only
// its adapters: what it measures and how it writes the count.
//
//   observation (+ measured latency) ─▶ calibrate ─▶ decide ─▶ guard ─▶ decision (+ new state)
//
// E.g. spec 40 ms exponential, 60 rps on 3 ready instances: the model predicts p99 ≈ 235 ms; the
// service measures 480 ms over 600 requests, so calibrate finds a scale of ~2 and decide sizes with
// 80-ms service times (reason Calibrated); with no measurement the step is decide + guard alone.
import {
  calibrate,
  initialCalibration,
  type Calibration,
  type CalibrationState,
  type LatencySample,
} from '../core/calibrate.ts';
import type { DemandHistory, Periodicity } from '../core/forecast-history.ts';
import {
  decide,
  forecastHorizon,
  initialDecideState,
  pastBurstsOf,
  type DecideState,
  type Decision,
  type Observation,
} from '../core/decide.ts';
import { historyFrom } from '../core/forecast.ts';
import type { ServiceModel } from '../core/model.ts';

/** What the loop carries from one step to the next (the controller persists it in the policy's status). */
export interface LoopState {
  decide: DecideState;
  calibration: CalibrationState;
}

export function initialLoopState(): LoopState {
  return { decide: initialDecideState(), calibration: initialCalibration() };
}

/** Measured latency, for modes that measure it (the balancer's window, a Prometheus histogram). */
export interface Measured {
  /** This step's sample; undefined when there was none (no data changes nothing). */
  sample: LatencySample | undefined;
  /** Correct the model from it (else only report the model's error). */
  correct: boolean;
  /** How fast measurements move the correction (default 60 s). */
  halfLifeSeconds?: number;
}

export interface StepResult {
  decision: Decision;
  state: LoopState;
  /** The model against the measurement; absent when the mode measures no latency. */
  calibration?: Calibration;
}

/**
 * Calibrate, decide, guard. `observation` must not carry a calibration of its own: the step owns it.
 * The guard is belt and braces around decide()'s promise: without valid metrics, never below the
 * current count.
 */
export function step(
  model: ServiceModel,
  state: LoopState,
  observation: Observation,
  now: number,
  measured?: Measured,
): StepResult {
  let calibration: Calibration | undefined;
  let calState = state.calibration;
  if (measured) {
    const r = calibrate(model, state.calibration, measured.sample, now, measured.halfLifeSeconds);
    calibration = r.calibration;
    calState = r.state;
  }
  const obs: Observation = measured?.correct && calibration ? { ...observation, calibration } : observation;
  const r = decide(model, state.decide, obs, now);
  return {
    decision: guard(r.decision, observation.currentReplicas),
    state: { decide: r.state, calibration: calState },
    ...(calibration ? { calibration } : {}),
  };
}

/**
 * Demand readings from before the loop ran (the controller reads its demand query over the past
 * from Prometheus) as the demand history the loop would have recorded from them, for a state that
 * has none (`hasHistory` false: a first round, or a status reset); the rest of the state is kept,
 * with the burst episodes in the readings scored (each a rate over `rateSeconds`: the query's window).
 */
export function withHistory(
  model: ServiceModel,
  state: LoopState,
  readings: ReadonlyArray<readonly [number, number]>,
  rateSeconds: number,
): LoopState {
  const horizon = forecastHorizon(model);
  const demand = historyFrom(readings, horizon);
  const bursts = pastBurstsOf(model, readings, demand, rateSeconds);
  return { ...state, decide: { ...state.decide, demand, ...(bursts.scores.length ? { bursts } : {}) } };
}

/** The state has recorded demand (once it has, a history read from the past would only be older). */
export function hasHistory(state: LoopState): boolean {
  return state.decide.demand.last >= 0;
}

/** Without valid metrics, never below the current count. */
export function guard(d: Decision, current: number): Decision {
  if (!d.valid && d.desired < current) return { ...d, desired: current };
  return d;
}

/** The persisted decide state, or a fresh one when it is missing or from an incompatible version. */
export function restoreState(saved: unknown): DecideState {
  const s = saved as Partial<DecideState> | undefined;
  // Every field checked to its leaves: a status edited by hand or by a broken writer ("demand":
  // "garbage") made every round throw, forever, while the status still said Ready. A state that is
  // not this shape starts afresh; the count running then holds a full window (decide step 4).
  if (
    s &&
    pairs(s.recommendations) &&
    pairs(s.events) &&
    finite(s.failures) &&
    s.failures >= 0 &&
    validHistory(s.demand)
  ) {
    // Burst episodes and falls that are not the shape this version writes start afresh (a fresh
    // service's), and a quiet phase's start that is not a time is forgotten (the full window holds).
    let out = s as DecideState;
    if (
      out.bursts !== undefined &&
      !(validFollowed(out.bursts, 'scores', [5, 6]) && [undefined, 0, 1].includes(out.bursts.firstRise))
    ) {
      const { bursts: _dropped, ...rest } = out;
      out = rest;
    }
    if (out.falls !== undefined && !validFollowed(out.falls, 'outcomes', [4])) {
      const { falls: _dropped, ...rest } = out;
      out = rest;
    }
    if (out.quietSince !== undefined && !finite(out.quietSince)) {
      const { quietSince: _dropped, ...rest } = out;
      out = rest;
    }
    if (out.seed !== undefined && !tuple(out.seed, 2)) {
      const { seed: _dropped, ...rest } = out;
      out = rest;
    }
    return out;
  }
  return initialDecideState();
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const tuple = (x: unknown, n: number): boolean => Array.isArray(x) && x.length === n && x.every(finite);
const pairs = (x: unknown): x is Array<[number, number]> => Array.isArray(x) && x.every((e) => tuple(e, 2));
const orNull = (x: unknown): boolean => Array.isArray(x) && x.every((v) => v === null || finite(v));

function validHistory(h: unknown): h is DemandHistory {
  const d = h as Partial<DemandHistory> | null | undefined;
  if (typeof d !== 'object' || d === null) return false;
  if (!finite(d.last) || !orNull(d.values) || !finite(d.sum) || !finite(d.count)) return false;
  if (d.minutes !== undefined && !(Array.isArray(d.minutes) && d.minutes.every((m) => tuple(m, 3)))) return false;
  // Sparse per-band arrays come back from JSON with nulls (a band never scored).
  const each = (x: unknown, ok: (v: unknown) => boolean): boolean =>
    Array.isArray(x) && x.every((v) => v === null || ok(v));
  if (d.misses !== undefined && !each(d.misses, (k) => each(k, pairs))) return false;
  if (d.scored !== undefined && !each(d.scored, orNull)) return false;
  if (d.shifted !== undefined && !each(d.shifted, orNull)) return false;
  if (d.level !== undefined && !finite(d.level)) return false;
  if (d.shifts !== undefined && !(Array.isArray(d.shifts) && d.shifts.every((x) => tuple(x, 6)))) return false;
  if (d.peaks !== undefined && !orNull(d.peaks)) return false;
  const p = d.period as Partial<Periodicity> | undefined;
  if (p !== undefined && !(typeof p === 'object' && p !== null && [p.at, p.lag, p.r, p.origin].every(finite)))
    return false;
  return true;
}

/**
 * Burst episodes (`scores`, open 6-tuple, or 5 as saved before the first-burst prior) and falls
 * (`outcomes`, open 4-tuple): pairs and an optional tuple.
 */
function validFollowed(x: unknown, list: 'scores' | 'outcomes', open: number[]): boolean {
  const h = x as Partial<Record<typeof list | 'open', unknown>> | null;
  return (
    typeof h === 'object' &&
    h !== null &&
    Array.isArray(h[list]) &&
    h[list].every((e) => tuple(e, 2)) &&
    (h.open === undefined || open.some((n) => tuple(h.open, n)))
  );
}

/** The persisted calibration, or a fresh one when missing or from another version. */
export function restoreCalibration(saved: unknown): CalibrationState {
  const s = saved as Partial<CalibrationState> | undefined;
  if (s && finite(s.logScale) && finite(s.logError) && finite(s.samples) && (s.at === undefined || finite(s.at))) {
    const log = Array.isArray(s.readyLog) ? s.readyLog.filter((e): e is [number, number] => tuple(e, 2)) : undefined;
    return {
      logScale: s.logScale,
      logError: s.logError,
      ...(finite(s.logFit) ? { logFit: s.logFit } : {}),
      samples: s.samples,
      ...(s.at !== undefined ? { at: s.at } : {}),
      ...(log && log.length > 0 ? { readyLog: log.slice(-64) } : {}),
      ...(Array.isArray(s.logShape) && s.logShape.length === 4 && s.logShape.every(finite)
        ? { logShape: s.logShape }
        : {}),
      ...(finite(s.logAtMean) ? { logAtMean: s.logAtMean } : {}),
      ...(finite(s.smoothedRequests) && s.smoothedRequests > 0 ? { smoothedRequests: s.smoothedRequests } : {}),
    };
  }
  return initialCalibration();
}
