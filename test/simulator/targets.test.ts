// The comparisons issue 15's targets are read with (bench/simulate.ts): a family's Pareto frontier,
// its fewest violations at no more cost than Headroom's, and one setting kept for every trace.
import { describe, expect, it } from 'vitest';
import { fewestAtCost, frontier, oneSetting, type TraceRuns } from '../../src/simulator/run.ts';
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

describe('oneSetting', () => {
  // Two traces, seconds 1000 each (violationFraction = s / 1000); oracle 100 and 200 instance-s.
  const traces: TraceRuns[] = [
    {
      trace: 'a',
      headroom: run('headroom', 0, 120, 1),
      oracleSeconds: 100,
      sweep: [run('kpa', 0.5, 150, 0), run('kpa', 0.9, 110, 3), run('hpa', 0.7, 120, 1)],
    },
    {
      trace: 'b',
      headroom: run('headroom', 0, 260, 0),
      oracleSeconds: 200,
      sweep: [run('kpa', 0.5, 400, 0), run('kpa', 0.9, 220, 2), run('hpa', 0.9, 200, 0)],
    },
  ];
  const rows = oneSetting(traces);
  const by = (label: string) => rows.find((r) => r.label === label);

  it('a setting in every trace: its mean × oracle, its worst violating share and how often it is over 0.1 %', () => {
    expect(by('kpa@50%')).toMatchObject({ meanCost: (1.5 + 2) / 2, worstViolating: 0, over: 0 });
    expect(by('kpa@90%')).toMatchObject({ meanCost: (1.1 + 1.1) / 2, worstViolating: 0.003, worstTrace: 'a', over: 2 });
    expect(by('kpa@50%')?.worstTrace).toBe('a'); // all 0: the first
  });

  it('who dominates whom per trace: no dearer and no more violations, one of them strictly', () => {
    // kpa@50 %: dearer on both, fewer violations on a → Headroom better only on b.
    expect(by('kpa@50%')).toMatchObject({ headroomBetter: ['b'], settingBetter: [] });
    // kpa@90 %: cheaper but violating more on both → neither.
    expect(by('kpa@90%')).toMatchObject({ headroomBetter: [], settingBetter: [] });
    // hpa@90 % on b alone: cheaper with as few violations → the setting is better there.
    const cheaper = oneSetting([traces[1]!]).find((r) => r.label === 'hpa@90%');
    expect(cheaper).toMatchObject({ headroomBetter: [], settingBetter: ['b'] });
  });

  it('a setting missing from a trace is left out; equal on both counts is neither better', () => {
    expect(rows.map((r) => r.label)).toEqual(['kpa@50%', 'kpa@90%']);
    const same = oneSetting([{ ...traces[0]!, sweep: [run('hpa', 0.7, 120, 1)] }]);
    expect(same[0]).toMatchObject({ headroomBetter: [], settingBetter: [] });
  });

  it('the limit is configurable: 0.2 % lets kpa@90 % through on the second trace', () => {
    expect(oneSetting(traces, 0.002).find((r) => r.label === 'kpa@90%')?.over).toBe(1);
  });
});
