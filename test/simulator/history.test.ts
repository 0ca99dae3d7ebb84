// History → replay: missing steps are cut out and named, never zero; the actual row's cost is
// Σ replicas × step, checked by hand and against a plain loop.
import { describe, expect, it } from 'vitest';
import {
  alignToGrid,
  buildReplay,
  measuredViolations,
  missingRuns,
  missingText,
  type StepGrid,
} from '../../src/simulator/history.ts';
import { actualPolicy } from '../../src/simulator/policies/actual.ts';
import { runSimulation } from '../../src/simulator/run.ts';
import { mulberry32 } from '../../src/simulator/synthetic.ts';
import { benchService } from './helpers.ts';

const T0 = Date.parse('2026-11-20T00:00:00Z') / 1000;

describe('alignToGrid', () => {
  it('puts samples on their step; missing, off-grid, NaN and negative values are NaN', () => {
    const grid: StepGrid = { start: 1000, step: 60, steps: 5 };
    const v = alignToGrid(
      [
        [1000, 3],
        [1060, Number.NaN],
        [1090, 7], // off the grid
        [1120, -1],
        [1240, 4],
        [1300, 9], // after the range
      ],
      grid,
    );
    expect([...v]).toEqual([3, Number.NaN, Number.NaN, Number.NaN, 4]);
    expect(missingRuns(v)).toEqual([{ from: 1, to: 3 }]);
  });
});

describe('missingText', () => {
  it("the brief's example: 37 of 20,160 steps, 03:00–03:36", () => {
    const grid: StepGrid = { start: T0, step: 60, steps: 20_160 };
    const v = new Float64Array(grid.steps).fill(1);
    v.fill(Number.NaN, 180, 217); // 03:00 … 03:36
    expect(missingText('demand', missingRuns(v), grid)).toBe(
      'demand missing for 37 of 20,160 steps, 2026-11-20T03:00–03:36',
    );
  });

  it('a run over midnight shows both dates; a single step its time; beyond five runs a count', () => {
    const grid: StepGrid = { start: T0, step: 60, steps: 3000 };
    const v = new Float64Array(grid.steps).fill(1);
    v.fill(Number.NaN, 1438, 1442); // 23:58 … 00:01 next day
    for (const i of [2000, 2002, 2004, 2006, 2008, 2010]) v[i] = Number.NaN;
    expect(missingText('replicas', missingRuns(v), grid)).toBe(
      'replicas missing for 10 of 3,000 steps, 2026-11-20T23:58–2026-11-21T00:01, 2026-11-21T09:20, 2026-11-21T09:22, 2026-11-21T09:24, 2026-11-21T09:26, and 2 more runs',
    );
  });
});

describe('buildReplay', () => {
  it('cuts out steps missing either series and holds each kept step for its seconds', () => {
    const grid: StepGrid = { start: T0, step: 10, steps: 4 };
    const demand = Float64Array.from([100, Number.NaN, 300, 400]);
    const replicas = Float64Array.from([2, 3, Number.NaN, 4.4]);
    const r = buildReplay(demand, replicas, grid, 'test');
    expect([...r.kept]).toEqual([0, 3]);
    expect(r.trace.rps.length).toBe(20);
    expect(r.trace.rps[9]).toBe(100);
    expect(r.trace.rps[10]).toBe(400);
    expect([...r.replicas.slice(8, 12)]).toEqual([2, 2, 4, 4]); // 4.4 → 4 instances
    expect(r.trace.rowSeconds).toBe(10);
  });

  it('the actual row costs Σ replicas × step over the kept steps, the same engine as every policy', () => {
    const rnd = mulberry32(11);
    const grid: StepGrid = { start: T0, step: 60, steps: 600 };
    const demand = new Float64Array(grid.steps);
    const replicas = new Float64Array(grid.steps);
    let want = 0;
    for (let i = 0; i < grid.steps; i++) {
      demand[i] = rnd() < 0.05 ? Number.NaN : 200 + 600 * rnd();
      replicas[i] = rnd() < 0.05 ? Number.NaN : 2 + Math.floor(6 * rnd());
      if (!Number.isNaN(demand[i]!) && !Number.isNaN(replicas[i]!)) want += replicas[i]! * 60;
    }
    const r = buildReplay(demand, replicas, grid, 'test');
    const res = runSimulation({
      trace: r.trace,
      model: benchService(),
      policies: ['headroom', 'oracle'],
      extra: [actualPolicy(r.replicas)],
    });
    const actual = res.policies[0]!;
    expect(actual.policy).toBe('actual');
    expect(actual.replicaSeconds).toBe(want);
    expect(res.policies.map((p) => p.policy)).toEqual(['actual', 'headroom', 'oracle']);
  });
});

describe('measuredViolations', () => {
  it('counts kept steps above the SLO × step; steps without latency apart', () => {
    const latency = Float64Array.from([0.05, 0.25, Number.NaN, 0.3, 0.9]);
    const kept = Int32Array.from([0, 1, 2, 3]); // step 4 was skipped by the replay
    expect(measuredViolations(latency, kept, 200, 60)).toEqual({
      violatingSeconds: 120,
      measuredSteps: 3,
      unmeasuredSteps: 1,
    });
  });
});
