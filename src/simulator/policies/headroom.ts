// Headroom: the same pure decide() (src/core/decide.ts) that `headroom run` and the Kubernetes
// controller call — imported, not copied — fed the way the controller feeds it: the request rate
// over the stable window (60 s) and the burst window, from the same 15-s scrape one interval late
// as the HPA sees, plus the ready and asked-for counts. Its state (stabilization, forecast history)
// lives between ticks exactly as the controller persists it.
import { decide, initialDecideState, type Decision, type DecideState, type Observation } from '../../core/decide.ts';
import type { MetricsView } from '../metrics.ts';
import type { OnlinePolicy, PolicyOptions } from './types.ts';

export const HEADROOM_STABLE_WINDOW_SECONDS = 60;

export interface HeadroomPolicy extends OnlinePolicy {
  /** The last decision (tests, reports). */
  readonly last: Decision | undefined;
  readonly state: DecideState;
}

export function headroomPolicy(opts: PolicyOptions): HeadroomPolicy {
  const model = opts.model;
  const burstWindow = Math.max(model.behavior.burst.windowSeconds, opts.scrapeSeconds);
  let state = initialDecideState();
  let last: Decision | undefined;
  return {
    kind: 'online',
    name: 'headroom',
    label: 'headroom',
    tickSeconds: opts.scrapeSeconds,
    pipeline: { scrapeSeconds: opts.scrapeSeconds, delaySeconds: opts.scrapeSeconds },
    get last() {
      return last;
    },
    get state() {
      return state;
    },
    tick(view: MetricsView): number {
      const obs: Observation = {
        readyReplicas: view.readyReplicas,
        currentReplicas: view.currentReplicas,
      };
      const demand = view.requestRate(HEADROOM_STABLE_WINDOW_SECONDS);
      const burst = view.requestRate(burstWindow);
      if (demand !== undefined) obs.demandRps = demand;
      if (burst !== undefined) obs.burstDemandRps = burst;
      const r = decide(model, state, obs, view.now);
      state = r.state;
      last = r.decision;
      return r.decision.desired;
    },
  };
}
