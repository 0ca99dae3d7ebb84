// Knative KPA (knative/serving pkg/autoscaler/scaling/autoscaler.go, config defaults):
// concurrency metric from 1-s buckets scraped from every pod's queue-proxy (visible 1 s late), tick
// every 2 s, stable window 60 s, panic window 6 s (10 %), panic threshold 200 %, target utilization
// 0.7 of containerConcurrency (= the instance's concurrency), max scale-up rate 1000, max
// scale-down rate 2, scale-down delay 0. Each tick:
//   ready = max(1, readyPods); target = max(0.01, concurrency × TU)
//   dspc = ceil(stableAvg / target), dppc = ceil(panicAvg / target), both clamped to
//   [floor(ready / 2), ceil(1000 · ready)]
//   panic starts (or is extended) when dppc / ready ≥ 2 and ends one stable window after the last
//   trigger; in panic desired = max(dspc, dppc) and never decreases.
// E.g. concurrency 4, TU 0.7 → target 2.8 in flight per pod; 2 ready pods with 12 in flight over the
// last 6 s → dppc = 5, 5/2 ≥ 2 → panic, ask for 5 at once.
import type { MetricsView } from '../metrics.ts';
import { clampReplicas, type OnlinePolicy, type PolicyOptions } from './types.ts';

export const KPA = {
  stableWindowSeconds: 60,
  panicWindowSeconds: 6,
  panicThreshold: 2,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  tickSeconds: 2,
} as const;

export function kpaPolicy(opts: PolicyOptions): OnlinePolicy {
  const tu = opts.target ?? 0.7;
  const model = opts.model;
  const target = Math.max(0.01, model.instance.concurrency * tu);
  let panicTime: number | undefined;
  let maxPanicPods = 0;
  return {
    kind: 'online',
    name: 'kpa',
    label: `kpa@${Math.round(tu * 100)}%`,
    target: tu,
    tickSeconds: KPA.tickSeconds,
    pipeline: { scrapeSeconds: 1, delaySeconds: 1 },
    tick(view: MetricsView): number {
      const stable = view.concurrency(KPA.stableWindowSeconds);
      const panic = view.concurrency(KPA.panicWindowSeconds);
      if (stable === undefined || panic === undefined) return view.currentReplicas; // no data: hold
      const ready = Math.max(1, view.readyReplicas);
      const maxUp = Math.ceil(KPA.maxScaleUpRate * ready);
      const maxDown = Math.floor(ready / KPA.maxScaleDownRate);
      const clamp = (n: number): number => Math.min(maxUp, Math.max(maxDown, n));
      const dspc = clamp(Math.ceil(stable / target));
      const dppc = clamp(Math.ceil(panic / target));
      const over = dppc / ready >= KPA.panicThreshold;
      const now = view.now;
      if (over) panicTime = now;
      else if (panicTime !== undefined && panicTime + KPA.stableWindowSeconds < now) panicTime = undefined;
      let desired = dspc;
      if (panicTime !== undefined) {
        if (desired < dppc) desired = dppc;
        if (desired > maxPanicPods) maxPanicPods = desired;
        else desired = maxPanicPods;
      } else maxPanicPods = 0;
      return clampReplicas(model, desired);
    },
  };
}
