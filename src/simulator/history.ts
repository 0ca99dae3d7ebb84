// Real history (one value per step, e.g. from Prometheus query_range) → what the simulator replays:
// the demand as a Trace, and the replicas the cluster ran as a fixed schedule. A step whose demand
// or replicas are missing (no sample, NaN, negative) is skipped, never read as zero, and counted:
// each missing run is named with its times. Pure: the CLI fetches, this aligns.
import { TRACE_MAX_RPS, type Trace } from '../input/trace.ts';

/** Evaluation times start, start + step, …, start + (steps − 1)·step, seconds since the epoch. */
export interface StepGrid {
  start: number;
  step: number;
  steps: number;
}

/**
 * The values at each grid time (NaN where a time has no sample, or a non-finite or negative one).
 * Samples off the grid are ignored: Prometheus evaluates a range query exactly at the grid times.
 */
export function alignToGrid(values: ReadonlyArray<readonly [number, number]>, grid: StepGrid): Float64Array {
  const out = new Float64Array(grid.steps).fill(Number.NaN);
  for (const [t, v] of values) {
    const i = (t - grid.start) / grid.step;
    if (!Number.isInteger(i) || i < 0 || i >= grid.steps) continue;
    out[i] = Number.isFinite(v) && v >= 0 ? v : Number.NaN;
  }
  return out;
}

/** A run of consecutive missing steps: indexes from..to, both included. */
export interface MissingRun {
  from: number;
  to: number;
}

export function missingRuns(values: Float64Array): MissingRun[] {
  const runs: MissingRun[] = [];
  for (let i = 0; i < values.length; i++) {
    if (!Number.isNaN(values[i] ?? Number.NaN)) continue;
    const last = runs[runs.length - 1];
    if (last && last.to === i - 1) last.to = i;
    else runs.push({ from: i, to: i });
  }
  return runs;
}

/** `2026-11-20T03:00` (UTC, minutes; seconds only when the step has them). */
export function stepTime(grid: StepGrid, i: number): string {
  const iso = new Date((grid.start + i * grid.step) * 1000).toISOString();
  return grid.step % 60 === 0 ? iso.slice(0, 16) : iso.slice(0, 19);
}

/**
 * "demand missing for 37 of 20,160 steps, 2026-11-20T03:00–03:36": the times of the first
 * `maxRuns` runs (the end shown from where it differs from the start), then "and N more runs".
 */
export function missingText(what: string, runs: readonly MissingRun[], grid: StepGrid, maxRuns = 5): string {
  let n = 0;
  for (const r of runs) n += r.to - r.from + 1;
  const spans = runs.slice(0, maxRuns).map((r) => {
    const a = stepTime(grid, r.from);
    if (r.to === r.from) return a;
    const b = stepTime(grid, r.to);
    const cut = a.slice(0, 10) === b.slice(0, 10) ? 11 : 0;
    return `${a}–${b.slice(cut)}`;
  });
  const more = runs.length > maxRuns ? `, and ${runs.length - maxRuns} more runs` : '';
  return `${what} missing for ${n.toLocaleString('en')} of ${grid.steps.toLocaleString('en')} steps, ${spans.join(', ')}${more}`;
}

export interface Replay {
  /** Demand per second of the replayed steps, each step's value held `step` seconds. */
  trace: Trace;
  /** Replicas per second, the same seconds (rounded to whole instances). */
  replicas: Int32Array;
  /** Grid index of each replayed step, in order. */
  kept: Int32Array;
}

/**
 * The steps with both demand and replicas, joined end to end (a skipped step is cut out, so the
 * replay is shorter than the range, not zero-filled). E.g. 20,160 steps of 60 s with 37 missing →
 * 20,123 × 60 = 1,207,380 seconds. The caller refuses demand above the trace cap (1e9 rps) and
 * replicas above 100,000 (backtest.ts): here they are only kept in range.
 */
export function buildReplay(demand: Float64Array, replicas: Float64Array, grid: StepGrid, source: string): Replay {
  const kept: number[] = [];
  for (let i = 0; i < grid.steps; i++) {
    if (!Number.isNaN(demand[i] ?? Number.NaN) && !Number.isNaN(replicas[i] ?? Number.NaN)) kept.push(i);
  }
  const S = grid.step;
  const rps = new Float64Array(kept.length * S);
  const reps = new Int32Array(kept.length * S);
  kept.forEach((i, k) => {
    rps.fill(Math.min(demand[i] ?? 0, TRACE_MAX_RPS), k * S, (k + 1) * S);
    reps.fill(Math.min(Math.round(replicas[i] ?? 0), 2 ** 31 - 1), k * S, (k + 1) * S);
  });
  return { trace: { rps, rowSeconds: S, source }, replicas: reps, kept: Int32Array.from(kept) };
}

/**
 * Measured SLO-violating seconds: replayed steps whose measured latency (seconds, as Prometheus
 * exports it) is above the SLO, × the step. Steps without a latency value are counted apart, not
 * taken as meeting the SLO. E.g. 120 ms measured against 100 ms over one 60-s step → 60 s.
 */
export function measuredViolations(
  latencySeconds: Float64Array,
  kept: Int32Array,
  sloMs: number,
  step: number,
): { violatingSeconds: number; measuredSteps: number; unmeasuredSteps: number } {
  let violating = 0;
  let measured = 0;
  for (const i of kept) {
    const v = latencySeconds[i] ?? Number.NaN;
    if (Number.isNaN(v)) continue;
    measured++;
    if (v * 1000 > sloMs) violating++;
  }
  return { violatingSeconds: violating * step, measuredSteps: measured, unmeasuredSteps: kept.length - measured };
}

/**
 * What a rate query over `windowSeconds` reads from a trace every `step` s in [from, to): [t, the
 * mean of seconds [t − window, t)], from the first t with a whole window. `simulate --history`
 * reads the trace's first part as the controller reads Prometheus on a new policy's first round.
 * E.g. from 0 to 86,400 at 15 s with a 60-s window: t = 60, 75, …, 86,385 (5,756 readings).
 */
export function traceReadings(
  rps: Float64Array,
  r: { from: number; to: number; step: number; windowSeconds: number },
): Array<[number, number]> {
  const w = r.windowSeconds;
  const to = Math.min(r.to, rps.length + 1);
  const sums = new Float64Array(rps.length + 1); // sums[i]: seconds [0, i)
  for (let i = 0; i < rps.length; i++) sums[i + 1] = sums[i]! + rps[i]!;
  const out: Array<[number, number]> = [];
  for (let t = Math.ceil(Math.max(r.from, w) / r.step) * r.step; t < to; t += r.step)
    out.push([t, (sums[t]! - sums[t - w]!) / w]);
  return out;
}
