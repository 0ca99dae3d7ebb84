// KEDA: a ScaledObject with a Prometheus trigger `sum(rate(http_requests_total[1m]))` and
// threshold = target × one instance's capacity (rps per pod), i.e. an External metric of type
// AverageValue fed to the HPA. KEDA evaluates the query every pollingInterval (30 s) and the HPA
// reads that value on its 15-s sync (RC GetExternalPerPodMetricReplicas):
//   ratio = usage / (threshold · currentReplicas); within tolerance → current, else ceil(usage / threshold)
// then the same HPA behaviour (300-s scale-down window, rate limits). minReplicaCount = replicas.min.
// With replicas.min 0, KEDA's own scale to and from zero: at 0 replicas a polled value above the
// activation threshold (0) scales to 1, and the HPA takes over from there (its minReplicas 1); once
// the value has been 0 for the cooldownPeriod (300 s) it scales to 0.
// E.g. 1,400 rps with 200 rps per instance at 70 % → threshold 140 → 10 pods.
import type { MetricsView } from '../metrics.ts';
import { HpaController, hpaDefaultBehavior } from './hpa.ts';
import type { OnlinePolicy, PolicyOptions } from './types.ts';
import { instanceCapacityRps } from '../../core/pool.ts';

export const KEDA_POLLING_SECONDS = 30;
export const KEDA_RATE_WINDOW_SECONDS = 60;
/** ScaledObject.spec.cooldownPeriod: seconds of an inactive trigger before scaling to zero. */
export const KEDA_COOLDOWN_SECONDS = 300;

export function kedaPolicy(opts: PolicyOptions): OnlinePolicy {
  const target = opts.target ?? 0.7;
  const model = opts.model;
  const threshold = target * instanceCapacityRps(model.instance);
  const toZero = model.replicas.min === 0;
  const ctl = new HpaController(hpaDefaultBehavior(), Math.max(1, model.replicas.min), model.replicas.max);
  let polledAt = -Infinity;
  let value: number | undefined;
  let activeAt = 0;
  return {
    kind: 'online',
    name: 'keda',
    label: `keda@${Math.round(target * 100)}%`,
    target,
    tickSeconds: 15,
    pipeline: { scrapeSeconds: opts.scrapeSeconds, delaySeconds: opts.scrapeSeconds },
    tick(view: MetricsView): number {
      if (view.now - polledAt >= KEDA_POLLING_SECONDS) {
        value = view.requestRate(KEDA_RATE_WINDOW_SECONDS, view.latest, opts.reads);
        polledAt = view.now;
      }
      const current = view.currentReplicas;
      if (toZero) {
        if (value !== undefined && value > 0) activeAt = view.now;
        if (current === 0) return value !== undefined && value > 0 ? 1 : 0; // activation
        if (view.now - activeAt >= KEDA_COOLDOWN_SECONDS) return 0;
      }
      let proposal: number | undefined;
      if (value !== undefined && current > 0) {
        const ratio = value / (threshold * current);
        proposal = Math.abs(1 - ratio) <= ctl.behavior.tolerance ? current : Math.ceil(value / threshold);
      }
      return ctl.reconcile(proposal, current, view.now);
    },
  };
}
