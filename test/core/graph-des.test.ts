// The call-graph prediction against ground truth: a seeded discrete-event simulation of the whole
// application (test/support/graph-sim.ts), which shares no formula with src/core.
import { describe, expect, it } from 'vitest';
import { planGraph } from '../../src/core/graph.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { loadSpecFile, parseSpecText } from '../../src/input/load.ts';
import { simulateGraph } from '../support/graph-sim.ts';
import { parseServiceTime, percentile } from '../support/mgc-sim.ts';

// CV 0.5 is the gamma the core uses for CV < 1 (Erlang-4); CV 2 a lognormal; CV 1 exponential.
function sampler(m: ServiceModel): ReturnType<typeof parseServiceTime> {
  const cv = m.instance.serviceTime?.cv ?? 1;
  const spec = cv === 0.5 ? 'erlang:4' : cv === 1 ? 'exponential' : `lognormal:cv=${cv}`;
  return parseServiceTime(spec, m.instance.serviceTimeMs);
}

function simulatedP99(models: readonly ServiceModel[], counts: Record<string, number>, seed: number): number {
  const entry = models.find((m) => m.endToEndSlo) as ServiceModel;
  const r = simulateGraph({
    services: models.map((m) => ({
      name: m.name,
      instances: counts[m.name] as number,
      concurrency: m.instance.concurrency,
      balancing: m.loadBalancing,
      sampler: sampler(m),
      ...(m.calls ? { calls: m.calls } : {}),
    })),
    entry: entry.name,
    arrivalRps: entry.demandRps,
    requests: 100_000,
    seed,
  });
  return percentile(r, 99);
}

describe('predicted end-to-end p99 vs a discrete-event simulation of the graph', () => {
  it('fixture (examples/graph.yaml) at the planned counts and at the equal split: within ±20 %', () => {
    const spec = loadSpecFile('examples/graph.yaml');
    const plan = planGraph(spec.services, { equalSplit: true });
    const planned = Object.fromEntries(plan.services.map((s) => [s.name, s.replicas]));
    const sim = simulatedP99(spec.services, planned, 1);
    expect(Math.abs((plan.predictedMs as number) / sim - 1)).toBeLessThan(0.2);
    const eq = plan.equalSplit;
    expect(eq).toBeTruthy();
    if (!eq) return;
    const simEq = simulatedP99(spec.services, eq.replicas, 2);
    expect(Math.abs(eq.predictedMs / simEq - 1)).toBeLessThan(0.2);
  }, 30_000);

  it('a parallel fan-out (×3 shards, random balancing, CV 2) behind an auth call: within ±20 %', () => {
    const spec = parseSpecText(
      `services:
  - name: front
    demand: { rps: 300 }
    instance: { serviceTimeMs: 4, concurrency: 2 }
    slo: { latencyMs: 150, percentile: 99, scope: endToEnd }
    calls:
      - { service: auth, perRequest: 1 }
      - { service: shard, perRequest: 3, mode: parallel }
  - name: auth
    instance: { serviceTimeMs: 3, concurrency: 1, serviceTimeCv: 0.5 }
  - name: shard
    loadBalancing: random
    instance: { serviceTimeMs: 10, concurrency: 2, serviceTimeCv: 2 }
`,
      'fanout.yaml',
    );
    const plan = planGraph(spec.services);
    expect(plan.feasible).toBe(true);
    const planned = Object.fromEntries(plan.services.map((s) => [s.name, s.replicas]));
    const sim = simulatedP99(spec.services, planned, 3);
    expect(Math.abs((plan.predictedMs as number) / sim - 1)).toBeLessThan(0.2);
  }, 30_000);

  it('many short calls under a loose SLO (20 × 2 ms, SLO 20 s): the p99 does not depend on the SLO', () => {
    // On a grid up to 2 × a 20-s SLO each 2-ms call sat on a 39-ms step: 164 ms predicted at 20 s
    // for a p99 the simulation puts at 68 (68 predicted at a 200-ms SLO).
    const at = (sloMs: number) =>
      parseSpecText(
        `services:
  - name: front
    demand: { rps: 20 }
    instance: { serviceTimeMs: 3, concurrency: 4 }
    slo: { latencyMs: ${sloMs}, percentile: 99, scope: endToEnd }
    calls: [{ service: db, perRequest: 20 }]
  - name: db
    instance: { serviceTimeMs: 2, concurrency: 4 }
`,
        'many.yaml',
      ).services;
    const loose = planGraph(at(20_000));
    const planned = Object.fromEntries(loose.services.map((s) => [s.name, s.replicas]));
    const sim = simulatedP99(at(20_000), planned, 4);
    expect(Math.abs((loose.predictedMs as number) / sim - 1)).toBeLessThan(0.2);
    const tight = planGraph(at(200));
    expect(Object.fromEntries(tight.services.map((s) => [s.name, s.replicas]))).toEqual(planned);
    expect(Math.abs((loose.predictedMs as number) / (tight.predictedMs as number) - 1)).toBeLessThan(0.02);
  }, 30_000);
});
