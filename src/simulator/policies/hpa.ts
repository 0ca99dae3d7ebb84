// Kubernetes HPA autoscaling/v2 on CPU utilization, after k/k pkg/controller/podautoscaler
// (horizontal.go = HZ, replica_calculator.go = RC) with the API defaults:
// - sync every 15 s; tolerance 0.1; target = averageUtilization;
// - metric: CPU usage / request of the ready pods, averaged over one scrape interval (metrics-server),
//   visible one interval late (kubelet + metrics-server + sync ≈ 27.5 s on average, k/k#110317);
// - RC: ratio = utilization / target. No unready pods or scale-down: within tolerance → current,
//   else ceil(ratio · ready). Scale-up with unready (starting) pods: they count as 0 %, so
//   newRatio = ratio · ready / (ready + unready); within tolerance or flipped → current, else
//   ceil(newRatio · (ready + unready)), never below current;
// - behaviour (HZ stabilizeRecommendationWithBehaviors + convertDesiredReplicasWithBehaviorRate):
//   up window 0 s, down window 300 s (max of the recommendations inside it); rate limits from
//   periodStart = current − added + removed within the period: up max(+4 pods, +100 %) per 15 s,
//   down −100 % per 15 s; then [min, max].
// E.g. 4 pods at 140 % CPU with target 70 % → ratio 2 → 8; 8 pods idle for 5 min → the 300-s window
// still holds 8 until the last high recommendation leaves it.
import { scaleDownLimit, scaleUpLimit, stabilize } from '../../core/hpa-behavior.ts';
import { defaultBehavior, type DirectionBehavior, type ServiceModel } from '../../core/model.ts';
import type { MetricsView } from '../metrics.ts';
import type { OnlinePolicy, PolicyOptions } from './types.ts';

export interface HpaBehavior {
  tolerance: number;
  scaleUp: DirectionBehavior;
  scaleDown: DirectionBehavior;
}

/** autoscaling/v2 API defaults (k/k pkg/apis/autoscaling/v2/defaults.go). */
export function hpaDefaultBehavior(): HpaBehavior {
  const b = defaultBehavior();
  return { tolerance: b.tolerance, scaleUp: b.scaleUp, scaleDown: b.scaleDown };
}

/**
 * The controller's memory per HPA: recommendations and scale events, with their times. The window
 * and rate-limit math is decide()'s own (src/core/hpa-behavior.ts: stabilize, scaleUpLimit,
 * scaleDownLimit), so the baseline and Headroom cannot drift apart. Intended differences, each
 * tested in test/simulator/baselines.test.ts: at 0 replicas with minReplicas ≥ 1 the HPA does not
 * scale (k/k: scaling disabled) where decide() does; and the HPA has no burst path around the
 * scale-up limit.
 */
export class HpaController {
  readonly behavior: HpaBehavior;
  readonly min: number;
  readonly max: number;
  #recommendations: Array<[number, number]> = [];
  /** Scale events [t, change]: + up, − down. */
  #events: Array<[number, number]> = [];

  constructor(behavior: HpaBehavior, min: number, max: number) {
    this.behavior = behavior;
    this.min = min;
    this.max = max;
  }

  /** HZ reconcile after the metric proposal: bounds, stabilization, rate limits. */
  reconcile(proposal: number | undefined, current: number, now: number): number {
    if (current === 0 && this.min !== 0) return current; // scaling disabled
    if (current > this.max) return this.record(current, this.max, now);
    if (current < this.min) return this.record(current, this.min, now);
    if (proposal === undefined) return current; // invalid metrics: no scaling
    const stabilized = this.#stabilize(proposal, current, now);
    const desired = this.#rateLimit(stabilized, current, now);
    return this.record(current, desired, now);
  }

  record(current: number, desired: number, now: number): number {
    if (desired !== current) this.#events.push([now, desired - current]);
    return desired;
  }

  #stabilize(desired: number, current: number, now: number): number {
    const b = this.behavior;
    const keep = now - Math.max(b.scaleUp.stabilizationSeconds, b.scaleDown.stabilizationSeconds);
    this.#recommendations = this.#recommendations.filter(([t]) => t > keep);
    const out = stabilize(this.#recommendations, now, desired, current, b).desired;
    this.#recommendations.push([now, desired]);
    return out;
  }

  #rateLimit(desired: number, current: number, now: number): number {
    const longest = Math.max(
      ...this.behavior.scaleUp.policies.map((p) => p.periodSeconds),
      ...this.behavior.scaleDown.policies.map((p) => p.periodSeconds),
      0,
    );
    this.#events = this.#events.filter(([t]) => t + longest > now);
    if (desired > current)
      return Math.min(desired, scaleUpLimit(current, this.#events, now, this.behavior.scaleUp), this.max);
    if (desired < current)
      return Math.max(desired, scaleDownLimit(current, this.#events, now, this.behavior.scaleDown), this.min);
    return desired;
  }
}

/** RC GetResourceReplicas for one CPU metric, from the ready/unready pod counts. */
export function cpuReplicas(ratio: number, ready: number, unready: number, current: number, tolerance: number): number {
  const scaleUpWithUnready = unready > 0 && ratio > 1;
  if (!scaleUpWithUnready) {
    if (Math.abs(1 - ratio) <= tolerance) return current;
    return Math.ceil(ratio * ready);
  }
  const newRatio = (ratio * ready) / (ready + unready);
  if (Math.abs(1 - newRatio) <= tolerance || newRatio < 1) return current;
  const n = Math.ceil(newRatio * (ready + unready));
  return n < current ? current : n;
}

export function hpaPolicy(opts: PolicyOptions): OnlinePolicy {
  const target = opts.target ?? 0.7;
  const model: ServiceModel = opts.model;
  // An HPA's minReplicas is at least 1 (0 needs the HPAScaleToZero alpha gate, and a target at 0
  // disables it): with replicas.min 0 it runs 1 at least, as a deployed HPA would.
  const min = Math.max(1, model.replicas.min);
  const ctl = new HpaController(hpaDefaultBehavior(), min, model.replicas.max);
  return {
    kind: 'online',
    minReplicas: min,
    name: 'hpa',
    label: `hpa@${Math.round(target * 100)}%`,
    target,
    tickSeconds: 15,
    pipeline: { scrapeSeconds: opts.scrapeSeconds, delaySeconds: opts.scrapeSeconds },
    tick(view: MetricsView): number {
      const current = view.currentReplicas;
      const util = view.utilization(opts.scrapeSeconds);
      const ready = view.readyReplicas;
      const proposal =
        util === undefined || ready === 0
          ? undefined
          : cpuReplicas(util / target, ready, current - ready, current, ctl.behavior.tolerance);
      return ctl.reconcile(proposal, current, view.now);
    },
  };
}
