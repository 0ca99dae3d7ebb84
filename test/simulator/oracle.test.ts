// The oracle on hand-made traces, against counts worked out by hand. Service: 200 rps per instance,
// no SLO, so a second violates iff demand ≥ N × 200: 450 rps needs 3, 1,050 needs 6, 1,500 needs 8.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minInstancesForSlo } from '../../src/core/pool.ts';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { oraclePolicy, oracleSchedule, slidingMax } from '../../src/simulator/policies/oracle.ts';
import { stepTrace } from '../../src/input/trace.ts';
import { benchService, service } from './helpers.ts';

describe('oracle', () => {
  const m = service({ startupSeconds: 30 });
  const table = new CapacityTable(m);

  it('constant 450 rps: 3 instances all along, cost 3 × T', () => {
    const trace = stepTrace([[200, 450]]);
    const r = simulate(trace, m, oraclePolicy());
    expect(r.peakReplicas).toBe(3);
    expect(r.replicaSeconds).toBe(3 * 200);
    expect(r.sloViolationSeconds).toBe(0);
  });

  it('step 450 → 1,050 rps at t = 100 with 30-s startup: 6 from t = 70 (started 30 s early)', () => {
    const trace = stepTrace([
      [100, 450],
      [100, 1050],
    ]);
    const s = oracleSchedule(trace.rps, table, m);
    expect(s[69]).toBe(3);
    expect(s[70]).toBe(6);
    expect(s[199]).toBe(6);
    const r = simulate(trace, m, oraclePolicy());
    // 70 s × 3 + 130 s × 6 = 210 + 780 = 990 instance-seconds, starting ones included.
    expect(r.replicaSeconds).toBe(990);
    expect(r.sloViolationSeconds).toBe(0);
  });

  it('a rise within the first startup: the oracle starts with what second 0 needs, as every policy', () => {
    // 450 rps, then 1,050 from t = 10; startup 30. Its 6 are asked at t = 0 and ready at t = 30: it
    // violates over [10, 30) like any policy could, and pays for no instance started before t = 0
    // (it had 6 ready at t = 0, and a 20-s trace made Headroom "0.125 × the oracle").
    const trace = stepTrace([
      [10, 450],
      [90, 1050],
    ]);
    const r = simulate(trace, m, oraclePolicy());
    expect(r.sloViolationSeconds).toBe(20);
    // 3 ready over [0, 30) plus 3 starting from t = 0: 6 running all along.
    expect(r.replicaSeconds).toBe(6 * 100);
    expect(r.scaleEvents).toBe(1);
  });

  it('a 1-s spike to 1,500 rps at t = 100: 8 instances over [70, 100], 3 elsewhere', () => {
    const trace = stepTrace([
      [100, 450],
      [1, 1500],
      [99, 450],
    ]);
    const s = oracleSchedule(trace.rps, table, m);
    expect([s[69], s[70], s[100], s[101]]).toEqual([3, 8, 8, 3]);
    const r = simulate(trace, m, oraclePolicy());
    // 31 s × 8 + 169 s × 3 = 248 + 507 = 755.
    expect(r.replicaSeconds).toBe(755);
    expect(r.sloViolationSeconds).toBe(0);
  });

  it('two spikes closer than the startup share instances (kept, not restarted)', () => {
    const trace = stepTrace([
      [100, 450],
      [1, 1500],
      [20, 450],
      [1, 1500],
      [78, 450],
    ]);
    const s = oracleSchedule(trace.rps, table, m);
    // The second spike at t = 121 needs its instances from t = 91, while the first still runs them.
    for (let t = 70; t <= 121; t++) expect(s[t]).toBe(8);
    expect(s[122]).toBe(3);
  });

  it('with an SLO, the constant count equals the core sizing (minInstancesForSlo)', () => {
    const b = benchService();
    const trace = stepTrace([[120, 1500]]);
    const r = simulate(trace, b, oraclePolicy());
    const want = minInstancesForSlo(
      { demandRps: 1500, serviceTimeMs: 20, concurrency: 4, loadBalancing: 'leastRequests' },
      { latencyMs: 100, percentile: 99 },
    );
    expect(want.ok).toBe(true);
    expect(r.peakReplicas).toBe(want.ok ? want.instances : -1);
    expect(r.sloViolationSeconds).toBe(0);
  });

  it('respects replicas.min', () => {
    const r = simulate(stepTrace([[50, 0]]), service({ replicas: { min: 2, max: 10 } }), oraclePolicy());
    expect(r.replicaSeconds).toBe(100);
  });
});

describe('slidingMax (the oracle looks ahead, the reactive bench holds behind)', () => {
  it('the worked examples', () => {
    const v = Int32Array.from([1, 3, 2, 0]);
    expect([...slidingMax(v, 0, 1)]).toEqual([3, 3, 2, 0]);
    expect([...slidingMax(v, 1, 0)]).toEqual([1, 3, 3, 2]);
    expect([...slidingMax(v, 0, 0)]).toEqual([1, 3, 2, 0]);
  });

  it('equals the max over [t − behind, t + ahead] computed directly', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 }),
        fc.nat(8),
        fc.nat(8),
        (xs, behind, ahead) => {
          const got = [...slidingMax(Int32Array.from(xs), behind, ahead)];
          const want = xs.map((_, t) => Math.max(...xs.slice(Math.max(0, t - behind), t + ahead + 1)));
          expect(got).toEqual(want);
        },
      ),
    );
  });
});
