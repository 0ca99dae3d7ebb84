// A policy decides how many instances to ask for. Online policies (headroom, hpa, kpa, keda) are
// built from the service model alone — they never receive the trace — and each tick they get a
// MetricsView, which only answers about the past. Offline policies (static, oracle) are the
// yardsticks: they are allowed to read the whole trace, and say so in their kind.
import type { DemandHistory } from '../../core/forecast-history.ts';
import type { BurstHistory } from '../../core/burst.ts';
import type { ServiceModel } from '../../core/model.ts';
import type { CapacityTable } from '../capacity.ts';
import type { MetricsView, Pipeline } from '../metrics.ts';
import type { RateCounts } from '../../core/model.ts';

export interface OnlinePolicy {
  readonly kind: 'online';
  /** Policy family: headroom | hpa | kpa | keda. */
  readonly name: string;
  /** Shown in tables, e.g. "hpa@70%". */
  readonly label: string;
  /** The tuning knob swept by --sweep (target utilization), when there is one. */
  readonly target?: number;
  /** Seconds between decisions (HPA sync 15, KPA tick 2). */
  readonly tickSeconds: number;
  /** The metrics it reads: scrape interval and delay. */
  readonly pipeline: Pipeline;
  /** The count to ask for now (ready + starting). Called at t = 0, tick, 2·tick, … */
  tick(view: MetricsView): number;
  /** It never runs fewer than this, from t = 0 (an HPA's minReplicas is at least 1). */
  readonly minReplicas?: number;
}

export interface OfflinePolicy {
  readonly kind: 'offline';
  readonly name: string;
  readonly label: string;
  readonly target?: number;
  /** The count to ask for at every second (ready + starting), knowing the whole trace. */
  schedule(demand: Float64Array, table: CapacityTable, model: ServiceModel): Int32Array;
  /**
   * It starts, as the online policies do, with what the first second needs ready (its schedule asks
   * ahead by the startup: the oracle, the bound); without it, with its schedule's first count (what
   * was deployed before the trace: static, the real replicas).
   */
  readonly startsAtFirstNeed?: true;
}

export type Policy = OnlinePolicy | OfflinePolicy;

/** What every policy factory gets: the service and the metrics defaults; never the trace. */
export interface PolicyOptions {
  model: ServiceModel;
  /** Prometheus / metrics-server scrape interval, seconds (default 15). */
  scrapeSeconds: number;
  /** Target utilization for the baselines (HPA CPU, KEDA rps per pod, KPA concurrency), 0..1. */
  target?: number;
  /** Headroom only: the burst from the pods' own counters (`spec.demand.pods`); see SimulationOptions. */
  podBurst?: PodBurst;
  /** What Headroom's and KEDA's request rates count (default arrivals); see RateCounts. */
  reads?: RateCounts;
  /**
   * Headroom only: the demand history the controller starts a new policy from (its demand's past
   * read from Prometheus and folded, src/loop/step.ts withHistory), on a clock where the trace's
   * t = 0 is `traceStartSeconds` (after its last reading). Folded once by the caller, shared by
   * every Headroom run (it is never changed). Without it Headroom starts with no history.
   */
  history?: { demand: DemandHistory; bursts?: BurstHistory; traceStartSeconds: number };
}

/**
 * The controller's `spec.demand.pods`: it scrapes the ready pods' /metrics itself every round and
 * gives decide() the burst reading (the rate over `behavior.burst.windowSeconds`) from 1-s-fresh
 * counters, while the stable demand still comes from Prometheus (one scrape interval late). Rounds
 * run every `intervalSeconds`.
 */
export interface PodBurst {
  /** Seconds between controller rounds (the user sets 1–2 s). */
  intervalSeconds: number;
}

export function clampReplicas(model: ServiceModel, n: number): number {
  return Math.min(model.replicas.max, Math.max(model.replicas.min, n));
}
