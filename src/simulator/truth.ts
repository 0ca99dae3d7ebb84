// Model error (issue 13): the simulator can draw the TRUE service times from one distribution while
// every policy is told the spec's. The truth decides which seconds violate the SLO, what the oracle
// needs, and what the HPA and KPA observe (busy time, requests in flight); the policies size with
// the spec. E.g. `--true-service-time lognormal:cv=2,scale=1.5` on a 20-ms exponential spec: the
// requests really take 30 ms on average with CV 2, and their p99 alone is 257 ms.
import type { ServiceModel, ServiceTimeModel } from '../core/model.ts';
import { poolShape } from '../core/plan.ts';
import { histogramQuantileMs, serviceTimeFloorMs } from '../core/pool.ts';
import type { CapacityTable } from './capacity.ts';
import type { LatencyMeter } from './policies/headroom.ts';
import { mulberry32 } from './synthetic.ts';

const fmt = (x: number): string => String(Number(x.toPrecision(4)));

export type TruthFamily = 'exponential' | 'fixed' | 'lognormal' | 'gamma' | 'cv';

/** The true service-time distribution: a family, its CV, and the true mean ÷ the spec's. */
export interface TrueServiceTime {
  family: TruthFamily;
  cv: number;
  scale: number;
}

/** The spec's model with the true service times: mean × scale, variability {cv}. */
export function trueModel(model: ServiceModel, truth: TrueServiceTime): ServiceModel {
  const serviceTime: ServiceTimeModel = { cv: truth.cv, source: 'spec' };
  return {
    ...model,
    instance: { ...model.instance, serviceTimeMs: model.instance.serviceTimeMs * truth.scale, serviceTime },
  };
}

function cvFamily(cv: number): string {
  if (cv < 1e-6) return 'fixed';
  if (Math.abs(cv - 1) < 1e-9) return 'exponential';
  return cv < 1 ? `gamma CV ${fmt(cv)}` : `lognormal CV ${fmt(cv)}`;
}

/** "lognormal CV 2 × 1.5", "fixed", "exponential". */
export function truthLabel(t: TrueServiceTime): string {
  const base =
    t.family === 'cv'
      ? cvFamily(t.cv)
      : t.family === 'exponential' || t.family === 'fixed'
        ? t.family
        : `${t.family} CV ${fmt(t.cv)}`;
  return t.scale === 1 ? base : `${base} × ${fmt(t.scale)}`;
}

/** What the policies are told: "exponential, 20 ms", "gamma CV 0.5, 20 ms", "measured quantiles (p99 76 ms), 20 ms". */
export function toldLabel(model: ServiceModel): string {
  const st = model.instance.serviceTime;
  const kind = !st
    ? 'exponential'
    : st.quantilesMs
      ? `measured quantiles (p50 ${fmt(st.quantilesMs.p50)} ms, p99 ${fmt(st.quantilesMs.p99)} ms)`
      : cvFamily(st.cv);
  return `${kind}, ${fmt(model.instance.serviceTimeMs)} ms`;
}

/** The sentence the table and the report print. */
export function modelErrorText(truth: TrueServiceTime, model: ServiceModel): string {
  return `true service times: ${truthLabel(truth)}, ${fmt(model.instance.serviceTimeMs * truth.scale)} ms mean (the policy is told: ${toldLabel(model)})`;
}

/**
 * What a latency measurement over `windowSeconds` shows under the true model: its percentile at
 * that demand and ready count (src/core/pool.ts, steady state; the simulator has no per-request
 * samples). An overloaded pool has no steady state (the model says Infinity), but a real window
 * measures a finite, growing queue: the backlog builds at λ − capacity, so its last requests wait
 * about windowSeconds × (ρ − 1); that plus the service time's own percentile is what is reported.
 * E.g. ρ = 1.2 over a 15-s window: ≈ 3 s. Without it an overloaded tick would be no evidence, and a
 * loop that had scaled its service time down too far would never see its mistake.
 */
export function trueLatencyMeter(
  table: CapacityTable,
  windowSeconds: number,
): (demandRps: number, ready: number) => number {
  const truth = table.model;
  const pct = truth.slo?.percentile ?? 99;
  const floorMs = serviceTimeFloorMs(truth.instance, pct);
  return (demandRps, ready) => {
    const ms = table.latencyMs(demandRps, ready);
    if (Number.isFinite(ms)) return ms;
    const rho = ready > 0 ? demandRps / (ready * table.instanceRps) : Infinity;
    return Number.isFinite(rho) ? floorMs + 1000 * windowSeconds * Math.max(0, rho - 1) : Infinity;
  };
}

/** The client libraries' default histogram bounds (prom-client, client_golang), ms. */
export const DEFAULT_HISTOGRAM_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * A latency read as the controller reads it from Prometheus: histogram_quantile over `boundsMs`,
 * with the noise of the window's requests. The empirical percentile of n responses is the true
 * distribution's at a rank off by the binomial's spread, p + z·√(p(1 − p)/n) (z standard normal,
 * seeded: runs repeat); the histogram reads that rank linearly inside its bucket. Overloaded, the
 * backlog trueLatencyMeter reports. E.g. 1,750 rps on 10 of the bench's pools, p99, 26,250
 * requests in a 15-s window: the rank 0.99 ± 0.0006, read 98.3 ms ± ~0.6 % where the true p99 is
 * 93.6 ms.
 */
export function histogramLatencyMeter(
  table: CapacityTable,
  windowSeconds: number,
  boundsMs: readonly number[] = DEFAULT_HISTOGRAM_BOUNDS_MS,
  seed = 1,
): LatencyMeter {
  const truth = table.model;
  const p = (truth.slo?.percentile ?? 99) / 100;
  const backlog = trueLatencyMeter(table, windowSeconds);
  const rand = mulberry32(seed);
  // Box–Muller; 1 − rand() is in (0, 1], so the log is finite.
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const read = (demandRps: number, ready: number, requests: number): number => {
    const z = normal();
    const rank = Math.min(1 - 1e-9, Math.max(1e-9, p + z * Math.sqrt((p * (1 - p)) / Math.max(1, requests))));
    const ms = histogramQuantileMs(poolShape(truth, { demandRps }), ready, rank * 100, boundsMs);
    return Number.isFinite(ms) ? ms : backlog(demandRps, ready);
  };
  return Object.assign(read, { boundsMs });
}
