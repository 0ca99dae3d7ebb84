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
import type { BurstHistory } from '../core/burst.ts';
import { decide, initialDecideState, type DecideState, type Decision, type Observation } from '../core/decide.ts';
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

/** Without valid metrics, never below the current count. */
export function guard(d: Decision, current: number): Decision {
  if (!d.valid && d.desired < current) return { ...d, desired: current };
  return d;
}

/** The persisted decide state, or a fresh one when it is missing or from an incompatible version. */
export function restoreState(saved: unknown): DecideState {
  const s = saved as Partial<DecideState> | undefined;
  if (s && Array.isArray(s.recommendations) && Array.isArray(s.events) && typeof s.failures === 'number' && s.demand) {
    // Burst episodes that are not the shape this version writes start afresh (a fresh service's),
    // and a quiet phase's start that is not a time is forgotten (the full window holds).
    let out = s as DecideState;
    if (out.bursts !== undefined && !validBursts(out.bursts)) {
      const { bursts: _dropped, ...rest } = out;
      out = rest;
    }
    if (out.quietSince !== undefined && !(typeof out.quietSince === 'number' && Number.isFinite(out.quietSince))) {
      const { quietSince: _dropped, ...rest } = out;
      out = rest;
    }
    return out;
  }
  return initialDecideState();
}

function validBursts(b: unknown): boolean {
  const h = b as Partial<BurstHistory> | null;
  const nums = (x: unknown, n: number): boolean =>
    Array.isArray(x) && x.length === n && x.every((v) => typeof v === 'number' && Number.isFinite(v));
  return (
    typeof h === 'object' &&
    h !== null &&
    Array.isArray(h.scores) &&
    h.scores.every((x) => nums(x, 2)) &&
    (h.open === undefined || nums(h.open, 5))
  );
}

/** The persisted calibration, or a fresh one when missing or from another version. */
export function restoreCalibration(saved: unknown): CalibrationState {
  const s = saved as Partial<CalibrationState> | undefined;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  if (s && finite(s.logScale) && finite(s.logError) && finite(s.samples) && (s.at === undefined || finite(s.at))) {
    const log = Array.isArray(s.readyLog)
      ? s.readyLog.filter(
          (e): e is [number, number] => Array.isArray(e) && e.length === 2 && finite(e[0]) && finite(e[1]),
        )
      : undefined;
    return {
      logScale: s.logScale,
      logError: s.logError,
      samples: s.samples,
      ...(s.at !== undefined ? { at: s.at } : {}),
      ...(log && log.length > 0 ? { readyLog: log.slice(-64) } : {}),
    };
  }
  return initialCalibration();
}
