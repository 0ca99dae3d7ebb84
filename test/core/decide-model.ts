// The service decide()'s unit tests size: 50 rps per instance at target 1.0 with no SLO, so
// recommended = ceil(demand / 50); burst and forecast off unless a test turns them on.
import {
  decide,
  initialDecideState,
  type DecideState,
  type Decision,
  type Observation,
} from '../../src/core/decide.ts';
import { defaultBehavior, type BehaviorModel, type ServiceModel } from '../../src/core/model.ts';

export function model(behavior: Partial<BehaviorModel> = {}, over: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name: 'svc',
    demandRps: 0,
    instance: { serviceTimeMs: 20, concurrency: 1 },
    loadBalancing: 'leastRequests',
    targetUtilization: 1,
    replicas: { min: 1, max: 100 },
    availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
    startupSeconds: 60,
    behavior: {
      ...defaultBehavior(),
      burst: { enabled: false, windowSeconds: 6, threshold: 1, learn: true },
      forecast: { enabled: false, quietPhase: true },
      ...behavior,
    },
    ...over,
  };
}

/** Runs ticks [t, observation] feeding each decision's desired back as the current (and ready) count. */
export function run(
  m: ServiceModel,
  ticks: Array<[number, Partial<Observation>]>,
  start = 1,
  state: DecideState = initialDecideState(),
): Decision[] {
  let current = start;
  const out: Decision[] = [];
  for (const [t, o] of ticks) {
    const r = decide(m, state, { readyReplicas: current, currentReplicas: current, ...o }, t);
    state = r.state;
    current = r.decision.desired;
    out.push(r.decision);
  }
  return out;
}
