// Shared fixtures for the simulator tests: small services whose numbers can be checked by hand.
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';

/** 20 ms, concurrency 4 → 200 rps per instance. No SLO unless given: a second violates iff demand ≥ capacity. */
export function service(over: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name: 'svc',
    demandRps: 0,
    instance: { serviceTimeMs: 20, concurrency: 4 },
    loadBalancing: 'leastRequests',
    targetUtilization: 1,
    replicas: { min: 1, max: 1000 },
    availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
    startupSeconds: 30,
    behavior: defaultBehavior(),
    ...over,
  };
}

/** The benchmark's service: p99 ≤ 100 ms, startup 60 s. */
export function benchService(over: Partial<ServiceModel> = {}): ServiceModel {
  return service({ slo: { latencyMs: 100, percentile: 99 }, targetUtilization: 0.9, startupSeconds: 60, ...over });
}
