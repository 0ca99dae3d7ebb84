import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  initialDecideState,
  type Decision,
  type DecideState,
  type Observation,
} from '../../src/core/decide.ts';
import { scaleDownLimit, scaleUpLimit } from '../../src/core/hpa-behavior.ts';
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';
import { model, run } from './decide-model.ts';

describe('decide: HPA-style behaviour, time-stepped', () => {
  it('scale-up follows the default policies: max(+4 pods, +100 %) per 15 s', () => {
    // demand 1,000 rps → 20 recommended; from 3: 7 (3+4 > 6), then 14 (7×2), then 20.
    const d = run(
      model(),
      [
        [0, { demandRps: 1000 }],
        [5, { demandRps: 1000 }],
        [15, { demandRps: 1000 }],
        [30, { demandRps: 1000 }],
      ],
      3,
    );
    expect(d.map((x) => x.desired)).toEqual([7, 7, 14, 20]);
    expect(d[0]?.reasons.map((r) => r.code)).toContain('ScaleUpLimit');
    expect(d[0]?.recommended).toBe(20);
  });

  it('scale-down waits for the 300 s stabilization window, then drops at once (100 % per 15 s)', () => {
    const ticks: Array<[number, Partial<Observation>]> = [[0, { demandRps: 1000 }]];
    for (let t = 15; t <= 330; t += 15) ticks.push([t, { demandRps: 100 }]);
    const d = run(
      model({ scaleUp: { ...defaultBehavior().scaleUp, policies: [{ type: 'pods', value: 100, periodSeconds: 15 }] } }),
      ticks,
      20,
    );
    expect(d[0]?.desired).toBe(20);
    // Recommendation of 20 at t=0 is in the window until t=300.
    const at = (t: number): number | undefined => d[ticks.findIndex(([x]) => x === t)]?.desired;
    expect(at(285)).toBe(20);
    expect(d[ticks.findIndex(([x]) => x === 285)]?.reasons.map((r) => r.code)).toContain('ScaleDownStabilized');
    expect(at(300)).toBe(2);
  });

  it('tolerance keeps small scale-downs from flapping, but never blocks a scale-up', () => {
    const m = model({ scaleDown: { ...defaultBehavior().scaleDown, stabilizationSeconds: 0 } });
    const down = run(m, [[0, { demandRps: 960 }]], 20); // recommends 20 → steady
    expect(down[0]?.desired).toBe(20);
    const small = run(m, [[0, { demandRps: 920 }]], 20); // 19 is within 10 % of 20
    expect(small[0]?.desired).toBe(20);
    expect(small[0]?.reasons.map((r) => r.code)).toContain('WithinTolerance');
    const up = run(m, [[0, { demandRps: 1010 }]], 20); // 21: 5 % more, still taken
    expect(up[0]?.desired).toBe(21);
  });

  it('missing metrics: holds, never scales down, then rises to the fallback', () => {
    const m = model({ fallback: { afterFailures: 3, replicas: 8 } });
    const d = run(
      m,
      [
        [0, { demandRps: 100 }],
        [15, {}],
        [30, { demandRps: NaN }],
        [45, {}],
        [60, {}],
      ],
      5,
    );
    expect(d.map((x) => x.desired)).toEqual([5, 5, 5, 8, 8]);
    expect(d.map((x) => x.mode)).toEqual(['normal', 'hold', 'hold', 'fallback', 'fallback']);
    expect(d[1]?.valid).toBe(false);
    expect(d[1]?.reasons[0]?.code).toBe('NoMetrics');
    // Fallback is a floor while blind: above it, the count holds.
    const high = run(
      m,
      [
        [0, {}],
        [15, {}],
        [30, {}],
      ],
      12,
    );
    expect(high.map((x) => x.desired)).toEqual([12, 12, 12]);
    expect(d[3]?.reasons[0]?.message).toMatch(
      /^no metrics for 3 consecutive decisions \(≥ 3\): holding at least fallback 8/,
    );
    // One failure is enough with afterFailures 1: "1 consecutive decision", not "decisions".
    const once = run(model({ fallback: { afterFailures: 1, replicas: 8 } }), [[0, {}]], 5);
    expect(once[0]?.reasons[0]?.message).toMatch(/^no metrics for 1 consecutive decision \(≥ 1\)/);
    // A fallback above replicas.max is held at the max, and the reason says so (not "at least 50").
    const capped = run(
      model({ fallback: { afterFailures: 1, replicas: 50 } }, { replicas: { min: 1, max: 20 } }),
      [[0, {}]],
      5,
    );
    expect(capped[0]?.desired).toBe(20);
    expect(capped[0]?.reasons[0]?.message).toMatch(/holding at least fallback 50 \(replicas 1–20: 20\)$/);
  });

  it('a scale-down stops at what the short window needs: no 5 → 4 → 5 while the stable window lags a rise', () => {
    const m = model({
      burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: false },
      scaleDown: { ...defaultBehavior().scaleDown, stabilizationSeconds: 0 },
      tolerance: 0,
    });
    // 50 rps per instance: the 30-s window's 183 rps asks 4, the last 6 s at 238 rps need 5, and
    // 5 ready carry 250, so the burst path does not fire on this tick; on the next, 4 would carry 200.
    const held = run(m, [[0, { demandRps: 183, burstDemandRps: 238 }]], 5);
    expect(held[0]?.desired).toBe(5);
    expect(held[0]?.reasons.find((r) => r.code === 'RecentDemand')?.message).toBe(
      'the last 6 s at 238 rps need 5: not scaling down below 5',
    );
    // When the short window needs no more than the stable one, the scale-down goes on.
    const down = run(m, [[0, { demandRps: 183, burstDemandRps: 190 }]], 5);
    expect(down[0]?.desired).toBe(4);
    expect(down[0]?.reasons.map((r) => r.code)).not.toContain('RecentDemand');
  });

  it('missing demand but a burst reading (the pods, not Prometheus): sized for the burst, upwards only', () => {
    const m = model({
      burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true },
      fallback: { afterFailures: 3, replicas: 8 },
    });
    // 1,000 rps over the last 6 s on 3 instances that carry 3 × 50: what 1,000 rps needs (20, as
    // with the demand known), though the stable demand is missing; the decision stays invalid.
    const d = run(m, [[0, { burstDemandRps: 1000 }]], 3);
    expect(d[0]).toMatchObject({ desired: 20, valid: false, mode: 'burst', sizedForRps: 1000 });
    expect(d[0]?.reasons.map((r) => r.code)).toEqual(['NoMetrics', 'Burst']);
    expect(d[0]?.reasons[0]?.message).toBe(
      'no demand metrics (1 in a row): asking 20 for the burst below, never scaling down without data',
    );
    // A burst the instances carry, or none: held, never down (12 is above what 140 rps needs).
    for (const burstDemandRps of [140, undefined, NaN, -5]) {
      const held = run(m, [[0, burstDemandRps === undefined ? {} : { burstDemandRps }]], 12);
      expect(held[0]).toMatchObject({ desired: 12, valid: false, mode: 'hold' });
      expect(held[0]?.reasons.map((r) => r.code)).toEqual(['NoMetrics']);
    }
    // Past the fallback's failures: the higher of the fallback floor and the burst.
    const blind = run(
      m,
      [
        [0, {}],
        [15, {}],
        [30, { burstDemandRps: 200 }],
        [45, { burstDemandRps: 1000 }],
      ],
      2,
    );
    expect(blind.map((x) => [x.desired, x.mode])).toEqual([
      [2, 'hold'],
      [2, 'hold'],
      [8, 'fallback'],
      [20, 'burst'],
    ]);
  });

  it('burst path skips the scale-up rate limit when the short window exceeds what ready instances carry', () => {
    const m = model({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true } });
    const d = run(m, [[0, { demandRps: 200, burstDemandRps: 1000 }]], 3);
    expect(d[0]?.mode).toBe('burst');
    expect(d[0]?.desired).toBe(20);
    const calm = run(m, [[0, { demandRps: 120, burstDemandRps: 140 }]], 3); // 3 × 50 carries 140
    expect(calm[0]?.mode).toBe('normal');
    expect(calm[0]?.desired).toBe(3);
  });

  it('forecast starts instances ahead of a daily peak seen yesterday', () => {
    const m = model({
      forecast: { enabled: true, quietPhase: true },
      scaleUp: { ...defaultBehavior().scaleUp, policies: [{ type: 'pods', value: 1000, periodSeconds: 15 }] },
    });
    let state = initialDecideState();
    let current = 2;
    const day = 86400;
    const demandAt = (t: number): number => (t % day >= 9 * 3600 && t % day < 10 * 3600 ? 1000 : 100);
    let before: Decision | undefined;
    for (let t = 0; t < day + 9 * 3600; t += 60) {
      const r = decide(m, state, { demandRps: demandAt(t), readyReplicas: current, currentReplicas: current }, t);
      state = r.state;
      current = r.decision.desired;
      before = r.decision;
    }
    // One minute before 09:00 on day 2 demand is still 100 rps (2 instances), but yesterday's peak is near.
    expect(before?.mode).toBe('forecast');
    expect(before?.desired).toBeGreaterThanOrEqual(20);
  });

  it('once the forecast is calibrated, scale-down follows it instead of the count tolerance', () => {
    // 490 rps (10 instances, also × the steady margin 1.02) for 40 min, then 440 rps: 9 (× 1.02 = 449 rps).
    const ticks: Array<[number, Partial<Observation>]> = [];
    for (let t = 0; t < 50 * 60; t += 15) ticks.push([t, { demandRps: t < 40 * 60 ? 490 : 440 }]);
    const down = { ...defaultBehavior().scaleDown, stabilizationSeconds: 0 };
    const blind = run(model({ scaleDown: down }), ticks, 10);
    expect(blind[blind.length - 1]?.desired).toBe(10); // (10 − 9) / 10 is within the 10 % tolerance
    expect(blind[blind.length - 1]?.reasons.map((r) => r.code)).toContain('WithinTolerance');
    const calibrated = run(model({ scaleDown: down, forecast: { enabled: true, quietPhase: true } }), ticks, 10);
    expect(calibrated[ticks.findIndex(([t]) => t === 40 * 60 - 15)]?.desired).toBe(10);
    expect(calibrated[calibrated.length - 1]?.desired).toBe(9);
  });

  it('bounds: never below min, never above max or the host fit, whole numbers only', () => {
    const m = model({}, { replicas: { min: 2, max: 10 } });
    expect(run(m, [[0, { demandRps: 0 }]], 0)[0]?.desired).toBe(2);
    const capped = run(
      model(
        { scaleUp: { ...defaultBehavior().scaleUp, policies: [{ type: 'pods', value: 1000, periodSeconds: 15 }] } },
        { replicas: { min: 1, max: 10 } },
      ),
      [[0, { demandRps: 5000 }]],
      4,
    );
    expect(capped[0]?.desired).toBe(10);
    const fit = run(
      model({
        scaleUp: { ...defaultBehavior().scaleUp, policies: [{ type: 'pods', value: 1000, periodSeconds: 15 }] },
      }),
      [[0, { demandRps: 5000, fitLimit: 7 }]],
      4,
    );
    expect(fit[0]?.desired).toBe(7);
    const junk = run(model(), [[0, { demandRps: 100, readyReplicas: NaN, currentReplicas: -3 }]], 0);
    expect(Number.isInteger(junk[0]?.desired)).toBe(true);
    expect(junk[0]?.desired).toBeGreaterThanOrEqual(1);
  });

  it('state is plain JSON: a restored controller continues the stabilization window', () => {
    const m = model();
    const first = decide(m, initialDecideState(), { demandRps: 1000, readyReplicas: 20, currentReplicas: 20 }, 0);
    const restored = JSON.parse(JSON.stringify(first.state)) as DecideState;
    const later = decide(m, restored, { demandRps: 100, readyReplicas: 20, currentReplicas: 20 }, 60);
    expect(later.decision.desired).toBe(20); // would be 2 without the remembered recommendation
  });
});

describe('rate-limit helpers (HPA calculateScale*Limit)', () => {
  const up = defaultBehavior().scaleUp;
  const down = defaultBehavior().scaleDown;
  it('scale-up counts changes within the period from the period start', () => {
    expect(scaleUpLimit(10, [], 100, up)).toBe(20);
    expect(scaleUpLimit(10, [[95, 5]], 100, up)).toBe(10); // period started at 5: max(5+4, 10) = 10
    expect(scaleUpLimit(0, [], 0, up)).toBe(4);
  });
  it('scale-down truncates the percentage and never goes below zero', () => {
    expect(scaleDownLimit(10, [], 0, down)).toBe(0);
    expect(scaleDownLimit(10, [], 0, { ...down, policies: [{ type: 'percent', value: 15, periodSeconds: 60 }] })).toBe(
      8,
    );
    expect(scaleDownLimit(10, [], 0, { ...down, select: 'disabled' })).toBe(10);
  });
});

describe('never over-react (issue 15)', () => {
  it('property: with forecast and burst on, a decision never sizes for more than twice the highest demand observed', () => {
    const m = model(
      {
        burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true },
        forecast: { enabled: true, quietPhase: true },
      },
      { replicas: { min: 1, max: 100_000 } },
    );
    const obs = fc.record({
      dt: fc.integer({ min: 1, max: 900 }),
      demand: fc.option(fc.oneof(fc.double({ min: 0, max: 5000, noNaN: true }), fc.constantFrom(0, 1e5)), {
        nil: undefined,
      }),
      burstFactor: fc.double({ min: 0, max: 6, noNaN: true }),
      // Now and then a burst reading that is not a rate: it must never reach a count.
      odd: fc.constantFrom(undefined, undefined, undefined, undefined, NaN, Infinity, -1),
    });
    fc.assert(
      fc.property(fc.array(obs, { minLength: 50, maxLength: 300 }), (ticks) => {
        let state: DecideState = initialDecideState();
        let current = 1;
        let top = 0;
        let t = 500_000;
        for (const k of ticks) {
          t += k.dt;
          const burst = k.demand === undefined ? undefined : (k.odd ?? k.demand * k.burstFactor);
          const o: Observation = {
            readyReplicas: current,
            currentReplicas: current,
            ...(k.demand !== undefined ? { demandRps: k.demand } : {}),
            ...(burst !== undefined ? { burstDemandRps: burst } : {}),
          };
          top = Math.max(top, k.demand ?? 0, burst !== undefined && Number.isFinite(burst) ? burst : 0);
          const r = decide(m, state, o, t);
          state = r.state;
          const d = r.decision;
          if (!Number.isInteger(d.desired) || d.desired < 0 || d.desired > 100_000) return false;
          if (d.sizedForRps !== undefined && d.sizedForRps > 2 * top * (1 + 1e-3) + 1e-9) return false;
          current = d.desired;
        }
        return true;
      }),
      { numRuns: 100, seed: 15 },
    );
  });
});

describe('the Burst reason names the window the burst was measured over', () => {
  it('the observation window when given (a controller burst template of 10 s), else behavior.burst.windowSeconds', () => {
    const m = model({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true } });
    const at = (o: Partial<Observation>) =>
      decide(
        m,
        initialDecideState(),
        { readyReplicas: 1, currentReplicas: 1, demandRps: 40, burstDemandRps: 400, ...o },
        100,
      ).decision.reasons.find((r) => r.code === 'Burst')?.message;
    expect(at({ burstWindowSeconds: 10 })).toMatch(/^last 10 s at 400 rps/);
    expect(at({})).toMatch(/^last 6 s at 400 rps/);
  });
});

describe('decide: a share of an end-to-end SLO (observation.budget)', () => {
  it('sizes for the budget the graph plan gives, names endToEnd, and a looser budget needs fewer', () => {
    // 150 rps of fixed 20-ms work: utilization alone needs ⌈150/50⌉ = 3. Own p99 ≤ 30 ms (a 10-ms
    // wait; leastRequests pools the servers) needs more than 3, and ≤ 60 ms fewer than that.
    const obs = (latencyMs: number): Partial<Observation> => ({
      demandRps: 150,
      budget: { latencyMs, percentile: 99, entry: 'gateway', endToEnd: { latencyMs: 200, percentile: 99 } },
    });
    const m = model({}, { instance: { serviceTimeMs: 20, concurrency: 1, serviceTime: { cv: 0, source: 'spec' } } });
    const none = run(m, [[0, { demandRps: 150 }]], 20)[0]!;
    const tight = run(m, [[0, obs(30)]], 20)[0]!;
    const loose = run(m, [[0, obs(60)]], 20)[0]!;
    expect(none.recommended).toBe(3);
    expect(tight.recommended).toBeGreaterThan(loose.recommended);
    expect(loose.recommended).toBeGreaterThanOrEqual(none.recommended);
    expect(tight.binding).toBe('endToEnd');
    expect(tight.reasons.map((r) => r.code)).toContain('SizedByEndToEnd');
  });
});

describe("a detected period's quiet phase lets a spike's counts go (issue 15, item 2)", () => {
  // 3 days of a 2-h grid: 5× spikes on 60 rps (rise 150 s, decay ~12 min), ±5 % noise; decide()
  // every 15 s on the 60-s mean, as the simulator and the loops call it.
  const SPIKE_EVERY = 7200;
  const rps = (t: number): number => {
    const s = (t % SPIKE_EVERY) - 3600; // spikes start at hours 1, 3, 5, ...
    const spike = s >= 0 && s < 150 ? s / 150 : s >= 150 ? Math.exp((-3 * (s - 150)) / 750) : 0;
    return 60 * (1 + 4 * spike) * (1 + 0.05 * Math.sin(t / 7.3));
  };
  const drive = (m: ServiceModel): Array<{ t: number; d: Decision }> => {
    let state: DecideState = initialDecideState();
    let current = 2;
    const out: Array<{ t: number; d: Decision }> = [];
    for (let t = 60; t < 3 * 86400; t += 15) {
      let sum = 0;
      for (let u = t - 59; u <= t; u++) sum += rps(u);
      const r = decide(m, state, { demandRps: sum / 60, readyReplicas: current, currentReplicas: current }, t);
      state = r.state;
      current = r.decision.desired;
      out.push({ t, d: r.decision });
    }
    return out;
  };
  const ticks = drive(model({ forecast: { enabled: true, quietPhase: true } }));
  const day3 = ticks.filter((x) => x.t >= 2 * 86400);
  const quiet = (x: { d: Decision }): boolean => x.d.reasons.some((r) => r.code === 'QuietPhase');
  const spikeStarts = Array.from({ length: 12 }, (_, i) => 2 * 86400 + 3600 + i * SPIKE_EVERY);
  /**
   * Seconds from the last recommendation above the day's quiet count in the hour after a spike to
   * the count being back at it (undefined if it never is), and that hour's ticks.
   */
  const backAfter = (day: typeof ticks, s0: number): { seconds?: number; after: typeof ticks } => {
    const quietCount = Math.min(...day.map((x) => x.d.desired));
    const after = day.filter((x) => x.t >= s0 && x.t < s0 + 3600);
    const lastHigh = Math.max(...after.filter((x) => x.d.recommended > quietCount).map((x) => x.t));
    const back = after.find((x) => x.t > lastHigh && x.d.desired === quietCount);
    return { ...(back ? { seconds: back.t - lastHigh } : {}), after };
  };

  it('after each spike of day 3 the count is back at the quiet count sooner than the 300-s window allows', () => {
    for (const s0 of spikeStarts) {
      const { seconds, after } = backAfter(day3, s0);
      expect(seconds, `spike at ${s0}`).toBeDefined();
      // The last recommendation above the quiet count is let go within the 120-s horizon (+ a tick),
      // where the full window would hold it 300 s.
      expect(seconds!, `spike at ${s0}`).toBeLessThanOrEqual(135);
      expect(after.some(quiet), `spike at ${s0}`).toBe(true);
    }
    const q = day3.find(quiet)!;
    expect(q.d.reasons.find((r) => r.code === 'QuietPhase')!.message).toMatch(
      /^the last two cycles of the 2 h period stayed under 1\.5× today's level \([\d.]+ rps\) over the next 540 s, at most [\d.]+ rps: the scale-down window holds the last \d+ s \(this quiet phase\), not the 300 s that would hold \d+$/,
    );
  });

  it('quietPhase: false holds the full 300-s window after every spike, as the HPA does', () => {
    const held = drive(model({ forecast: { enabled: true, quietPhase: false } })).filter((x) => x.t >= 2 * 86400);
    expect(held.filter(quiet)).toEqual([]);
    for (const s0 of spikeStarts) {
      const { seconds } = backAfter(held, s0);
      expect(seconds, `spike at ${s0}`).toBeDefined();
      expect(seconds!, `spike at ${s0}`).toBeGreaterThanOrEqual(300);
    }
  });

  it('never in the 540 s before a spike or during its rise', () => {
    for (const s0 of spikeStarts) {
      const near = day3.filter((x) => x.t >= s0 - 540 && x.t < s0 + 150);
      expect(near.length).toBeGreaterThan(40);
      expect(near.filter(quiet).map((x) => x.t)).toEqual([]);
    }
  });
});

describe("a reason's numbers are the decision's (explanations audit)", () => {
  const reason = (d: Decision | undefined, code: string): string =>
    d?.reasons.find((r) => r.code === code)?.message ?? '';
  const burstOff = {
    scaleUp: { ...defaultBehavior().scaleUp, policies: [{ type: 'pods' as const, value: 1000, periodSeconds: 15 }] },
  };

  it('a count capped by the host or replicas.max says what the demand needs, then the cap (was "needs 6: the host fits 6")', () => {
    // 50 rps an instance: 750 rps needs 15.
    const fit = run(model(burstOff), [[0, { demandRps: 750, fitLimit: 6 }]], 4)[0];
    expect(fit?.desired).toBe(6);
    expect(fit?.plan?.needed).toBe(15);
    expect(reason(fit, 'SizedByCapacity')).toBe('750 rps needs 15; the host fits 6');
    const max = run(model(burstOff, { replicas: { min: 1, max: 12 } }), [[0, { demandRps: 1800 }]], 4)[0];
    expect(reason(max, 'SizedByMaxReplicas')).toBe('1800 rps needs 36; replicas.max = 12');
    // Not capped: the count it needs, as before.
    expect(reason(run(model(burstOff), [[0, { demandRps: 300 }]], 4)[0], 'SizedByUtilization')).toMatch(
      /^300 rps needs 6: /,
    );
  });

  it('WithinTolerance prints the tolerance as written, not float noise (7.000000000000001 %)', () => {
    const m = model({ tolerance: 0.07 });
    const d = run(m, [[0, { demandRps: 700 }]], 15)[0]; // 14 of 15
    expect(reason(d, 'WithinTolerance')).toBe('14 is within 7 % of 15: keeping 15');
  });

  it('a fresh state names the count it found running, not a recommendation nobody made', () => {
    // 20 running, 2 needed: the first decision holds 20 because the current count counts as recommended.
    const first = run(model(), [[0, { demandRps: 100 }]], 20)[0];
    expect(reason(first, 'ScaleDownStabilized')).toBe(
      'highest recommendation in the last 300 s is 20 (the 20 found running with no recommendation in the window counts as one): holding 20',
    );
    // 60 s later still in the window, and said with its age; after the window, plain again.
    const d = run(
      model(),
      [
        [0, { demandRps: 100 }],
        [60, { demandRps: 100 }],
      ],
      20,
    );
    expect(reason(d[1], 'ScaleDownStabilized')).toContain(
      '(the 20 found running 60 s ago with no recommendation in the window counts as one)',
    );
    // A real recommendation of 20 later is not attributed to the seed once the seed left the window.
    const later = run(
      model(),
      [
        [0, { demandRps: 1000 }],
        [150, { demandRps: 1000 }],
        [301, { demandRps: 1000 }],
        [400, { demandRps: 100 }],
      ],
      20,
    );
    expect(reason(later[3], 'ScaleDownStabilized')).toBe('highest recommendation in the last 300 s is 20: holding 20');
  });

  it("Calibrated names the percentile measured, not the SLO's (a p99 sample under a p99.9 SLO)", () => {
    const m = model({}, { slo: { latencyMs: 300, percentile: 99.9 } });
    const cal = {
      scale: 1.5,
      predictedMs: 92.19,
      calibratedMs: 138,
      measuredMs: 250,
      percentile: 99,
      error: 2.7,
      samples: 20,
    };
    const d = decide(
      m,
      initialDecideState(),
      { demandRps: 100, readyReplicas: 3, currentReplicas: 3, calibration: cal },
      0,
    );
    expect(reason(d.decision, 'Calibrated')).toMatch(
      /^measured p99 250 ms where the model predicts 92\.19 ms in the last window: sizing with a service time of 30 ms \(1\.5× the spec's\)/,
    );
    // Read from a histogram: the prediction is the model read through its buckets, and says so.
    const h = decide(
      m,
      initialDecideState(),
      { demandRps: 100, readyReplicas: 3, currentReplicas: 3, calibration: { ...cal, histogram: true } },
      0,
    );
    expect(reason(h.decision, 'Calibrated')).toMatch(
      /^measured p99 250 ms where the model predicts 92\.19 ms as the histogram's buckets read it in the last window/,
    );
  });
});

describe('no scale-down before a full window of evidence, whatever emptied the window (field defect)', () => {
  // 6 running, 100 rps needs 2 (50 an instance). The down window is 300 s.
  const m = model();
  const obs = { demandRps: 100, readyReplicas: 6, currentReplicas: 6 };
  const at = (t: number, rec: number): DecideState => ({ ...initialDecideState(), recommendations: [[t, rec]] });

  it('a restart after longer than the window (saved recommendations all older) holds the count found running', () => {
    const d = decide(m, at(0, 6), obs, 400).decision;
    expect(d.desired).toBe(6); // was 2 on the first reading
    expect(d.reasons.map((r) => r.code)).toContain('ScaleDownStabilized');
  });

  it('the first reading after an outage longer than the window holds, then follows demand a window later', () => {
    let state = decide(m, initialDecideState(), obs, 0).state;
    for (let t = 15; t <= 400; t += 15) state = decide(m, state, { readyReplicas: 6, currentReplicas: 6 }, t).state;
    let back = decide(m, state, obs, 415);
    expect(back.decision.desired).toBe(6);
    // Then every 15 s: 2 once the seed at 415 has left the 300-s window.
    let t = 415;
    while (back.decision.desired === 6 && t < 1000) back = decide(m, back.state, obs, (t += 15));
    expect(t).toBe(715); // 300 s after the seed
    expect(back.decision.desired).toBe(2);
  });

  it('saved times from a clock ahead of this one are no evidence: the count found running holds', () => {
    expect(decide(m, at(700, 8), obs, 400).decision.desired).toBe(6);
  });
});

describe('no metrics with the count outside replicas.min–max', () => {
  it('says it raises the count to the minimum (it read "holding 1" while scaling 0 → 1)', () => {
    const m = model({}, { replicas: { min: 3, max: 10 } });
    const d = decide(m, initialDecideState(), { readyReplicas: 1, currentReplicas: 1 }, 0).decision;
    expect(d.desired).toBe(3);
    expect(d.binding).toBe('minReplicas');
    expect(d.reasons.map((r) => r.message)).toEqual([
      'no demand metrics (1 in a row): 1 running is outside replicas 3–10: 3, never scaling down without data',
      'raised to replicas.min 3',
    ]);
    const held = decide(m, initialDecideState(), { readyReplicas: 5, currentReplicas: 5 }, 0).decision;
    expect(held.reasons[0]?.message).toContain('holding 5');
    expect(held.binding).toBe('none');
  });
});
