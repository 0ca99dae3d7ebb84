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

/** The controller's memory per HPA: recommendations and scale events, with their times. */
export class HpaController {
  readonly behavior: HpaBehavior;
  readonly min: number;
  readonly max: number;
  #recommendations: Array<{ t: number; n: number }> = [];
  #upEvents: Array<{ t: number; n: number }> = [];
  #downEvents: Array<{ t: number; n: number }> = [];

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
    if (desired > current) this.#upEvents.push({ t: now, n: desired - current });
    if (desired < current) this.#downEvents.push({ t: now, n: current - desired });
    return desired;
  }

  #stabilize(desired: number, current: number, now: number): number {
    const upCut = now - this.behavior.scaleUp.stabilizationSeconds;
    const downCut = now - this.behavior.scaleDown.stabilizationSeconds;
    let up = desired;
    let down = desired;
    for (const r of this.#recommendations) {
      if (r.t > upCut) up = Math.min(up, r.n);
      if (r.t > downCut) down = Math.max(down, r.n);
    }
    const keep = Math.min(upCut, downCut);
    this.#recommendations = this.#recommendations.filter((r) => r.t > keep);
    this.#recommendations.push({ t: now, n: desired });
    let rec = current;
    if (rec < up) rec = up;
    if (rec > down) rec = down;
    return rec;
  }

  #changeIn(events: Array<{ t: number; n: number }>, period: number, now: number): number {
    let sum = 0;
    for (const e of events) if (e.t + period > now) sum += e.n;
    return sum;
  }

  #rateLimit(desired: number, current: number, now: number): number {
    const longest = Math.max(
      ...this.behavior.scaleUp.policies.map((p) => p.periodSeconds),
      ...this.behavior.scaleDown.policies.map((p) => p.periodSeconds),
      0,
    );
    this.#upEvents = this.#upEvents.filter((e) => e.t + longest > now);
    this.#downEvents = this.#downEvents.filter((e) => e.t + longest > now);
    if (desired > current) {
      const rules = this.behavior.scaleUp;
      if (rules.select === 'disabled') return current;
      let limit = rules.select === 'min' ? Infinity : -Infinity;
      for (const p of rules.policies) {
        const start =
          current -
          this.#changeIn(this.#upEvents, p.periodSeconds, now) +
          this.#changeIn(this.#downEvents, p.periodSeconds, now);
        const proposed = p.type === 'pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
        limit = rules.select === 'min' ? Math.min(limit, proposed) : Math.max(limit, proposed);
      }
      limit = Math.max(limit, current);
      return Math.min(desired, limit, this.max);
    }
    if (desired < current) {
      const rules = this.behavior.scaleDown;
      if (rules.select === 'disabled') return current;
      let limit = rules.select === 'min' ? -Infinity : Infinity;
      for (const p of rules.policies) {
        const start =
          current -
          this.#changeIn(this.#upEvents, p.periodSeconds, now) +
          this.#changeIn(this.#downEvents, p.periodSeconds, now);
        const proposed = p.type === 'pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
        limit = rules.select === 'min' ? Math.max(limit, proposed) : Math.min(limit, proposed);
      }
      limit = Math.min(limit, current);
      return Math.max(desired, limit, this.min);
    }
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
  const ctl = new HpaController(hpaDefaultBehavior(), model.replicas.min, model.replicas.max);
  return {
    kind: 'online',
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
