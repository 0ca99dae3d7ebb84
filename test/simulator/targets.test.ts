// The comparisons issue 15's targets are read with (bench/simulate.ts): a family's Pareto frontier
// and its fewest violations at no more cost than Headroom's.
import { describe, expect, it } from 'vitest';
import { fewestAtCost, frontier } from '../../src/simulator/run.ts';
import type { PolicyRun } from '../../src/simulator/engine.ts';

const run = (policy: string, target: number, replicaSeconds: number, sloViolationSeconds: number): PolicyRun => ({
  policy,
  label: `${policy}@${target * 100}%`,
  target,
  replicaSeconds,
  sloViolationSeconds,
  violationFraction: sloViolationSeconds / 1000,
  peakReplicas: 1,
  meanReplicas: 1,
  scaleEvents: 0,
  seconds: 1000,
});

const sweep = [
  run('kpa', 0.5, 300, 10),
  run('kpa', 0.7, 200, 50),
  run('kpa', 0.9, 150, 400),
  run('hpa', 0.9, 100, 5), // another family: never counted for KPA
];

describe('fewestAtCost', () => {
  it("the family's fewest violations among its settings that cost no more", () => {
    expect(fewestAtCost(250, sweep, 'kpa')?.label).toBe('kpa@70%');
    expect(fewestAtCost(300, sweep, 'kpa')?.label).toBe('kpa@50%'); // equal cost counts
    expect(fewestAtCost(160, sweep, 'kpa')?.label).toBe('kpa@90%');
  });

  it('undefined when every setting of the family costs more', () => {
    expect(fewestAtCost(149, sweep, 'kpa')).toBeUndefined();
    expect(fewestAtCost(1000, sweep, 'keda')).toBeUndefined();
  });

  it('agrees with the frontier: the answer is a frontier point', () => {
    const f = frontier(sweep.filter((p) => p.policy === 'kpa'));
    for (const cost of [150, 199, 200, 250, 300, 500]) {
      const best = fewestAtCost(cost, sweep, 'kpa');
      expect(best && f.includes(best)).toBe(true);
    }
  });
});
