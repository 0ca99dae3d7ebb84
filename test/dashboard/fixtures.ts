// A status snapshot for unit tests of the dashboard's routes (the real one comes from LocalCluster).
import { serviceModelFromSpec } from '../../src/input/load.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { STATUS_KIND, type HistoryPoint, type StatusSnapshot } from '../../src/server/status.ts';

export function webModel(over: Record<string, unknown> = {}): ServiceModel {
  return serviceModelFromSpec({
    name: 'web',
    instance: { serviceTimeMs: 50, concurrency: 4 },
    slo: { latencyMs: 500, percentile: 99 },
    targetUtilization: 0.7,
    replicas: { min: 1, max: 8 },
    ...over,
  });
}

export function history(n: number, t0 = 1_800_000_000): HistoryPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    t: t0 + i,
    demandRps: 10 * i,
    burstRps: 11 * i,
    p99Ms: 100 + i,
    desired: 1 + Math.floor(i / 3),
    current: 1 + Math.floor(i / 3),
    ready: 1 + Math.floor(i / 4),
  }));
}

export function snapshot(over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    kind: STATUS_KIND,
    mode: 'local',
    time: new Date(1_800_000_000_000).toISOString(),
    uptimeSeconds: 10,
    service: {
      name: 'web',
      loadBalancing: 'leastRequests',
      slo: { latencyMs: 500, percentile: 99 },
      capacity: { serviceTimeMs: 50, concurrency: 4, source: 'spec' },
    },
    shadow: false,
    replicas: { desired: 3, current: 3, ready: 2, min: 1, max: 8, fitLimit: 6 },
    decision: {
      at: new Date(1_800_000_000_000).toISOString(),
      desired: 3,
      recommended: 3,
      valid: true,
      binding: 'latency',
      mode: 'normal',
      reasons: [{ code: 'SLO', message: 'p99 500 ms needs 3 instances at 160 rps' }],
      warnings: [],
      predicted: { utilization: 0.6, latencyMs: 120 },
      sizedForRps: 160,
      applied: true,
    },
    traffic: { inFlight: 0, stable: null, burst: null, totals: { requests: 0, errors: 0 } },
    instances: [],
    host: { cores: 2, memoryBytes: 4 << 30, cpuMillisPerInstance: 250, memoryBytesPerInstance: 64 << 20 },
    events: [],
    history: history(5),
    ...over,
  };
}
