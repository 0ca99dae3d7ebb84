// The status a graph run serves for its entry (src/local/cluster-views.ts): the entry has no SLO of
// its own, only the end-to-end one, and that is what its row on the dashboard is read against.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../src/input/load.ts';
import { clusterStatus, type ClusterView } from '../../src/local/cluster-views.ts';
import type { ServiceModel } from '../../src/core/model.ts';

const SPEC = fileURLToPath(new URL('../../examples/graph-run.yaml', import.meta.url));

/** The parts of a LocalCluster clusterStatus reads, idle: no instance, no request yet. */
function view(model: ServiceModel): ClusterView {
  return {
    model,
    run: { command: ['node', 'service.ts'], calibrate: true, stableWindowSeconds: 30 },
    capacitySource: 'spec',
    learned: undefined,
    url: 'http://127.0.0.1:8080',
    nowSeconds: 1_800_000_000,
    uptimeSeconds: 1,
    loop: { shadow: false, paused: false, last: undefined },
    supervisor: { desired: 1, running: 1, ready: 1, list: () => [], events: () => [] },
    balancer: { queue: 'balancer', queued: () => 0 },
    windows: {
      snapshot: () => ({ inFlight: 0, totals: { arrivals: 0, completions: 0, errors: 0 } }),
      config: { burstSeconds: 6 },
    },
    usage: new Map(),
    calibration: undefined,
    decisions: [],
    history: [],
    fitLimit: undefined,
    host: { cores: 2, memoryBytes: 4 << 30 },
    alerting: undefined,
  } as unknown as ClusterView;
}

describe('a graph run’s status', () => {
  const spec = loadSpecFile(SPEC);
  const byName = (n: string) => spec.services.find((m) => m.name === n)!;

  it('the entry carries the end-to-end SLO, marked as such; the services it calls have none', () => {
    expect(clusterStatus(view(byName('gateway'))).service.slo).toEqual({
      latencyMs: 600,
      percentile: 99,
      scope: 'endToEnd',
    });
    expect(clusterStatus(view(byName('cart'))).service.slo).toBeUndefined();
  });
});
