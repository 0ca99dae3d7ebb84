// Each baseline on a step trace reproduces its documented behaviour (../shared/anchors.md): the HPA's
// 300-s scale-down window and rate limits, the KPA's panic mode and halving limit, KEDA's 30-s poll.
// Service: 20 ms, concurrency 4 → 200 rps per instance; at target 70 % one instance carries 140 rps.
import { describe, expect, it } from 'vitest';
import { simulate } from '../../src/simulator/engine.ts';
import { scaleUpLimit, stabilize } from '../../src/core/hpa-behavior.ts';
import { HpaController, hpaDefaultBehavior, hpaPolicy } from '../../src/simulator/policies/hpa.ts';
import { KEDA_POLLING_SECONDS, kedaPolicy } from '../../src/simulator/policies/keda.ts';
import { KPA, kpaPolicy } from '../../src/simulator/policies/kpa.ts';
import type { OnlinePolicy } from '../../src/simulator/policies/types.ts';
import { stepTrace, type Trace } from '../../src/input/trace.ts';
import { service } from './helpers.ts';

const m = service({ startupSeconds: 30 });

/** The count asked for at every policy tick, with the ready count the tick saw. */
function ticks(trace: Trace, policy: OnlinePolicy): Array<{ t: number; desired: number; ready: number }> {
  const out: Array<{ t: number; desired: number; ready: number }> = [];
  simulate(trace, m, policy, { onTick: (t, view, desired) => out.push({ t, desired, ready: view.readyReplicas }) });
  return out;
}

const at = (xs: Array<{ t: number; desired: number }>, t: number): number | undefined =>
  [...xs].reverse().find((x) => x.t <= t)?.desired;

describe('hpa (autoscaling/v2 defaults)', () => {
  // 1,000 rps for 10 min, then 200 rps: 1,000 / 140 → 8 pods, 200 / 140 → 2 pods.
  const drop = 600;
  const trace = stepTrace([
    [drop, 1000],
    [900, 200],
  ]);
  const d = ticks(trace, hpaPolicy({ model: m, scrapeSeconds: 15, target: 0.7 }));

  it('settles at ceil(1,000 / 140) = 8 before the drop', () => {
    expect(at(d, drop - 1)).toBe(8);
  });

  it('holds 8 for the 300-s scale-down window after the drop, then goes to 2 in one step', () => {
    // The metric shows the drop 15–30 s late; the last high recommendation then stays 300 s in the window.
    for (const x of d) if (x.t >= drop && x.t <= drop + 300) expect(x.desired).toBe(8);
    const firstDown = d.find((x) => x.t > drop && x.desired < 8);
    expect(firstDown).toBeDefined();
    expect(firstDown?.t).toBeGreaterThan(drop + 300);
    expect(firstDown?.t).toBeLessThanOrEqual(drop + 300 + 45);
    expect(firstDown?.desired).toBe(2); // 100 % per 15 s allows the whole step
  });

  it('scale-up never exceeds max(+4 pods, +100 %) per 15 s', () => {
    const up = ticks(
      stepTrace([
        [120, 100],
        [600, 2600],
      ]),
      hpaPolicy({ model: m, scrapeSeconds: 15, target: 0.7 }),
    );
    let prev = up[0]?.desired ?? 1;
    for (const x of up) {
      expect(x.desired).toBeLessThanOrEqual(Math.max(prev + 4, prev * 2));
      prev = x.desired;
    }
    expect(at(up, 719)).toBe(19); // ceil(2,600 / 140)
  });
});

describe('hpa and decide(): one window and rate-limit math, two intended differences', () => {
  const b = hpaDefaultBehavior();
  const percentOnly = { ...b.scaleUp, policies: [{ type: 'percent' as const, value: 100, periodSeconds: 15 }] };

  it('the same recommendations and events give the same count through HpaController and decide()s functions', () => {
    const ctl = new HpaController(b, 1, 100);
    // Up 2 → 4 (one +100 % step, not the 16 asked), then the 300-s down window holds 4.
    expect(ctl.reconcile(16, 2, 0)).toBe(Math.min(16, scaleUpLimit(2, [], 0, b.scaleUp)));
    expect(ctl.reconcile(16, 6, 0)).toBe(6); // +4 pods already used in this period: 2 + max(4, 100 %) = 6
    // At 120 s the proposal is 1, but the 300-s down window holds the current 6 (its highest
    // recommendation, 16, is above it, and the 0-s up window never raises to a stale one).
    expect(ctl.reconcile(1, 6, 120)).toBe(6);
    expect(stabilize([[0, 16]], 120, 1, 6, b).desired).toBe(6);
    expect(ctl.reconcile(1, 6, 301)).toBe(1); // the window has emptied: −100 % allows 6 → 1
  });

  it('intended: at 0 replicas the HPA does not scale (minReplicas ≥ 1: scaling disabled); decide() may leave 0 under a percent-only policy', () => {
    const ctl = new HpaController({ ...b, scaleUp: percentOnly }, 1, 100);
    expect(ctl.reconcile(5, 0, 0)).toBe(0);
    expect(scaleUpLimit(0, [], 0, percentOnly)).toBe(2); // counted from 1: ceil(1 × 200 %)
  });

  it('intended: the HPA has no burst path, so its scale-up stays within the rate limit', () => {
    const ctl = new HpaController(b, 1, 1000);
    expect(ctl.reconcile(500, 10, 0)).toBe(20); // max(+4, +100 %) of 10
  });
});

describe('kpa (Knative defaults)', () => {
  // 200 rps (2 pods at 2.8 in flight each), then 1,000 rps from t = 300: the 6-s panic window sees
  // the jump long before the 60-s stable window does.
  const step = 300;
  const trace = stepTrace([
    [step, 200],
    [300, 1000],
    [400, 150],
  ]);
  const d = ticks(trace, kpaPolicy({ model: m, scrapeSeconds: 15, target: 0.7 }));

  it('panics: at least doubles within one panic window of the step', () => {
    const before = at(d, step - 1) ?? 0;
    expect(before).toBeGreaterThan(0);
    const soon = d.filter((x) => x.t > step && x.t <= step + KPA.panicWindowSeconds + 2 * KPA.tickSeconds);
    expect(Math.max(...soon.map((x) => x.desired))).toBeGreaterThanOrEqual(2 * before);
    // The stable window alone would still average mostly the old rate here.
  });

  it('never scales down during the panic, then at most halves the ready pods per tick', () => {
    const fall = 2 * step; // demand drops to 150 rps
    // Panic lasts at least one stable window after its first trigger.
    let peak = 0;
    for (const x of d.filter((y) => y.t > step && y.t <= step + KPA.stableWindowSeconds)) {
      expect(x.desired).toBeGreaterThanOrEqual(peak);
      peak = Math.max(peak, x.desired);
    }
    for (const x of d.filter((y) => y.t > fall)) {
      expect(x.desired).toBeGreaterThanOrEqual(Math.floor(Math.max(1, x.ready) / KPA.maxScaleDownRate));
    }
    expect(at(d, fall + 399)).toBeLessThan(at(d, fall - 1) ?? 0);
  });
});

describe('keda (HPA fed by a polled request rate)', () => {
  const step = 310; // not on a polling boundary
  const trace = stepTrace([
    [step, 200],
    [600, 1000],
  ]);
  const d = ticks(trace, kedaPolicy({ model: m, scrapeSeconds: 15, target: 0.7 }));

  it('scales up only on polls every 30 s, to ceil(1,000 / 140) = 8', () => {
    let prev = d[0]?.desired ?? 0;
    const ups: number[] = [];
    for (const x of d) {
      if (x.desired > prev) ups.push(x.t);
      prev = x.desired;
    }
    expect(ups.length).toBeGreaterThan(0);
    for (const t of ups) expect(t % KEDA_POLLING_SECONDS).toBe(0);
    expect(at(d, step + 599)).toBe(8);
  });

  it('sees the step only at the first poll after it is scraped (no sooner than 15 s late)', () => {
    const first = d.find((x) => x.t > step && x.desired > (at(d, step) ?? 0));
    expect(first?.t).toBeGreaterThanOrEqual(step + 15);
    expect((first?.t ?? 0) % KEDA_POLLING_SECONDS).toBe(0);
  });
});

describe('replicas.min 0: KEDA scales to and from zero, the HPA keeps its minimum of 1', () => {
  // 0 rps for 10 minutes, 500 rps for 10, 0 for 20. Startup 30 s. 200 rps an instance: 500 needs 3.
  const zero = service({ replicas: { min: 0, max: 100 } });
  const trace = stepTrace([
    [600, 0],
    [600, 500],
    [1200, 0],
  ]);

  it('KEDA activates on the first poll that sees demand, serves the spike, and goes back to 0 after its cooldown', () => {
    const r = simulate(trace, zero, kedaPolicy({ model: zero, scrapeSeconds: 15, target: 0.7 }));
    // It read 0 replicas all along ("free", 600 violating seconds) before.
    expect(r.peakReplicas).toBeGreaterThanOrEqual(3);
    expect(r.sloViolationSeconds).toBeLessThan(200); // seen ~15–45 s late, then 30 s of startup
    const d = ticks(trace, kedaPolicy({ model: zero, scrapeSeconds: 15, target: 0.7 }));
    expect(at(d, 590)).toBe(0);
    // The last demand is polled by ~1,245 s; 300 s of cooldown later it is at 0 again.
    expect(at(d, 1800)).toBe(0);
    expect(at(d, 1500)).toBeGreaterThan(0);
  });

  it('the HPA never runs fewer than 1 (its minReplicas), so it can follow the spike', () => {
    const h = hpaPolicy({ model: zero, scrapeSeconds: 15, target: 0.7 });
    expect(h.minReplicas).toBe(1);
    const r = simulate(trace, zero, h);
    expect(r.peakReplicas).toBeGreaterThanOrEqual(3);
    expect(r.replicaSeconds).toBeGreaterThanOrEqual(trace.rps.length); // at least 1 all along
  });
});
