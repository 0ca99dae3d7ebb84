// The noise bound on a hand-made trace. Service: 200 rps per instance, no SLO, so a second violates
// iff demand ≥ N × 200 (500 rps needs 3, 700 needs 4); startup 30 s.
// Trace: 500 rps for an hour except one minute at 700 (t = 1,800–1,859). The 901-s centred mean at a
// second whose window holds the whole minute is (841 × 500 + 60 × 700) / 901 = 513.32 rps, so a
// relative margin must reach 600 / 513.32 − 1 = 16.89 % to size 4 there, and that happens exactly
// for t ∈ [1,409, 2,250] (842 s), started 30 s early: 3,600 × 3 + 872 = 11,672 instance-seconds.
// The oracle knows the minute: 3,600 × 3 + 90 = 10,890.
import { describe, expect, it } from 'vitest';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { centredTrend, noiseBound, trendPolicy, utilizationFloor } from '../../src/simulator/bound.ts';
import { oraclePolicy } from '../../src/simulator/policies/oracle.ts';
import { stepTrace, traceFromSeconds } from '../../src/input/trace.ts';
import { service } from './helpers.ts';

describe('noise bound', () => {
  const m = service({ startupSeconds: 30 });
  const table = new CapacityTable(m);
  const trace = stepTrace([
    [1800, 500],
    [60, 700],
    [1740, 500],
  ]);

  it('centredTrend is the clipped centred mean', () => {
    expect(Array.from(centredTrend(Float64Array.from([0, 0, 3, 0, 0]), 3))).toEqual([0, 1, 1, 1, 0]);
    const t = centredTrend(trace.rps, 900);
    expect(t[1830]).toBeCloseTo(462500 / 901, 9);
    expect(t[0]).toBe(500);
  });

  it('with no violations allowed, the margin is the one the unforeseen minute needs (16.89 %)', () => {
    const b = noiseBound(trace, m, { budgetSeconds: 0, shapes: ['relative'], table });
    expect(b).toBeDefined();
    if (!b) return;
    expect(b.run.sloViolationSeconds).toBe(0);
    expect(b.z).toBeGreaterThanOrEqual(600 / (462500 / 901) - 1);
    expect(b.z).toBeLessThanOrEqual(600 / (462500 / 901) - 1 + 0.0021);
    // 11,672 at the exact margin; the bisection's 0.002 may widen the 4-instance stretch a little.
    expect(b.run.replicaSeconds).toBeGreaterThanOrEqual(11672);
    expect(b.run.replicaSeconds).toBeLessThanOrEqual(11672 + 10);
    const oracle = simulate(trace, m, oraclePolicy(), { table });
    expect(oracle.replicaSeconds).toBe(10890);
    // The smallest: just below it, the minute at 700 rps violates again.
    const trend = centredTrend(trace.rps, 900);
    const below = simulate(trace, m, trendPolicy(trend, 503.33, 'relative', b.z - 0.0021), { table });
    expect(below.sloViolationSeconds).toBeGreaterThan(0);
  });

  it('a budget that covers the minute needs no margin, and then costs less than the oracle', () => {
    const b = noiseBound(trace, m, { budgetSeconds: 60, table });
    expect(b?.z).toBe(0);
    expect(b?.run.sloViolationSeconds).toBe(60);
    expect(b?.run.replicaSeconds).toBe(3600 * 3);
  });

  it('takes the cheaper shape, and a noiseless trace costs what the oracle costs', () => {
    const flat = traceFromSeconds(new Array<number>(1200).fill(450));
    const b = noiseBound(flat, m, { budgetSeconds: 0, table });
    expect(b?.z).toBe(0);
    expect(b?.run.replicaSeconds).toBe(simulate(flat, m, oraclePolicy(), { table }).replicaSeconds);
    const both = noiseBound(trace, m, { budgetSeconds: 0, table });
    const rel = noiseBound(trace, m, { budgetSeconds: 0, shapes: ['relative'], table });
    const cnt = noiseBound(trace, m, { budgetSeconds: 0, shapes: ['counting'], table });
    expect(both?.run.replicaSeconds).toBe(Math.min(rel?.run.replicaSeconds ?? NaN, cnt?.run.replicaSeconds ?? NaN));
  });

  it('charges a policy its own utilization ceiling: u = 0.8 needs 4 where the SLO needs 3; u = 0.9 changes nothing', () => {
    // The trend never drops below 500 rps: at u = 0.8 that is ⌈500 / 160⌉ = 4 instances at every
    // second, which also carry the 700-rps minute (< 800), so no margin is needed: 3,600 × 4.
    const at08 = noiseBound(trace, m, { budgetSeconds: 0, utilization: 0.8, table });
    expect(at08?.utilization).toBe(0.8);
    expect(at08?.z).toBe(0);
    expect(at08?.run.sloViolationSeconds).toBe(0);
    expect(at08?.run.replicaSeconds).toBe(3600 * 4);
    // At u = 0.9 the floor is ⌈513.32 / 180⌉ = 3, the SLO's own count: the same bound as without one.
    const at09 = noiseBound(trace, m, { budgetSeconds: 0, shapes: ['relative'], utilization: 0.9, table });
    const none = noiseBound(trace, m, { budgetSeconds: 0, shapes: ['relative'], table });
    expect(at09?.run.replicaSeconds).toBe(none?.run.replicaSeconds);
    expect(at09?.z).toBe(none?.z);
    expect(utilizationFloor(Float64Array.from([0, 160, 160.5, 500]), 200, 0.8)).toEqual(Int32Array.from([0, 1, 2, 4]));
  });

  it('says undefined when replicas.max cannot meet the budget', () => {
    const capped = service({ startupSeconds: 30, replicas: { min: 1, max: 3 } });
    expect(noiseBound(trace, capped, { budgetSeconds: 0 })).toBeUndefined();
  });
});
