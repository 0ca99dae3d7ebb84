// The burst path learns how far this service's bursts went on (src/core/burst.ts): a burst episode
// is scored peak ÷ first sight one horizon (startup + 60 s) after it was first seen, and the next
// first sight is sized for that much at once.
import { describe, expect, it } from 'vitest';
import {
  BURST_GROWTH_CAP,
  BURST_KEEP,
  burstDemand,
  burstGrowth,
  burstPath,
  followBursts,
  type BurstHistory,
} from '../../src/core/burst.ts';
import { decide, initialDecideState, type Decision, type DecideState } from '../../src/core/decide.ts';
import { emptyHistory, recordDemand, type DemandHistory } from '../../src/core/forecast.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { model as deciderModel } from './decide-model.ts';

// 50 rps per instance at target 1.0, no SLO; startup 60 s → horizon 120 s.
const model = deciderModel({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true } });

/** Ticks every 15 s over [from, to) with (stable, burst) demand; the count asked for is ready at once unless `ready` says otherwise. */
function feed(
  s: { state: DecideState; current: number; out: Decision[] },
  from: number,
  to: number,
  stable: number,
  burst: number,
  ready?: number,
): void {
  for (let t = from; t < to; t += 15) {
    const o = {
      readyReplicas: ready ?? s.current,
      currentReplicas: s.current,
      demandRps: stable,
      burstDemandRps: burst,
    };
    const r = decide(model, s.state, o, t);
    s.state = r.state;
    s.current = r.decision.desired;
    s.out.push(r.decision);
  }
}

/** 20 minutes of demand at `rps`, a minute apart: a history whose level is known. */
function knownLevel(rps: number): DemandHistory {
  let h = emptyHistory();
  for (let t = 0; t < 1200; t += 60) h = recordDemand(h, t, rps, 120);
  return h;
}

/** A quiet 100 rps, then a burst seen at 300 rps that goes on to 600 rps. */
function afterOneEpisode(): { state: DecideState; current: number; out: Decision[] } {
  const s = { state: initialDecideState(), current: 2, out: [] as Decision[] };
  feed(s, 0, 600, 100, 100);
  feed(s, 600, 615, 150, 300); // first sight: 300 rps
  feed(s, 615, 630, 300, 450);
  feed(s, 630, 735, 600, 600); // the peak, within 120 s of the first sight
  feed(s, 735, 2400, 100, 100); // quiet again: the episode is scored and ends
  return s;
}

describe('burst path: how far past bursts went on (issue 15, flash crowds)', () => {
  it("a fresh service's first burst over what the ready carry is sized for 2×, held, then learned", () => {
    const s = { state: initialDecideState(), current: 2, out: [] as Decision[] };
    feed(s, 0, 1200, 100, 100); // 20 minutes: the level is known (the forecast's first 10 scored)
    feed(s, 1200, 1215, 150, 300); // over what 2 × 50 carry: 600 rps, 12 at once (6 for the burst alone)
    const d = s.out.at(-1)!;
    expect(d).toMatchObject({ mode: 'burst', sizedForRps: 600, desired: 12 });
    expect(d.reasons.find((r) => r.code === 'Burst')?.message).toContain(
      '600 rps (300 rps at first sight × 2): no burst of this service scored yet, and this one was first seen past any demand its history holds: sized for 2× until its own rise is scored',
    );
    expect(s.state.bursts?.open?.[5]).toBe(1);
    // The 12 carry it: the 2× holds until 120 s after the first sight, though the burst went no further.
    feed(s, 1215, 1320, 150, 150);
    expect(s.out.slice(-7).map((x) => x.desired)).toEqual([12, 12, 12, 12, 12, 12, 12]);
    expect(s.out.at(-1)!.reasons.find((r) => r.code === 'Burst')?.message).toBe(
      'a burst first seen 105 s ago at 300 rps may still rise to 600 rps (2×, a first burst past the demand the history held) until 120 s after its first sight',
    );
    // Scored 1× (it peaked at its first sight): the next burst is sized for what it showed.
    feed(s, 1320, 3000, 100, 100);
    expect(s.state.bursts?.scores).toEqual([[1200, 1]]);
    const before = s.out.length;
    feed(s, 3000, 3015, 150, 300);
    expect(s.out[before]).toMatchObject({ mode: 'burst', sizedForRps: 300 });
    expect(s.state.bursts?.open?.[5]).toBe(0);
  });

  it("before its level is known (the forecast's first 10 minutes scored) a first burst is sized for itself", () => {
    // At start a reading over the pool is as likely the level as a rise (a cold start's first seconds).
    const s = { state: initialDecideState(), current: 2, out: [] as Decision[] };
    feed(s, 0, 600, 100, 100);
    feed(s, 600, 615, 150, 300);
    expect(s.out.at(-1)).toMatchObject({ mode: 'burst', sizedForRps: 300, desired: 6 });
    expect(s.state.bursts?.open?.[5]).toBe(0);
    // Scored 1×, it says nothing of a rise past the demand the history holds: the first such is
    // still sized for 2× (the bench's flash at 20,000 rps, seed 2: a cold start's readings and noise
    // scored 1× four times, then the week's first crowd was sized for its 8,137-rps first sight, 46
    // instances, and went on to 19,420 rps).
    feed(s, 615, 2400, 100, 100);
    expect(s.state.bursts).toEqual({ scores: [[600, 1]], firstRise: 0 });
    const before = s.out.length;
    feed(s, 2400, 2415, 150, 500); // past 1.25 × the 300 the history holds
    expect(s.out[before]).toMatchObject({ mode: 'burst', sizedForRps: 1000 });
    expect(s.out[before]!.reasons.find((r) => r.code === 'Burst')?.message).toContain(
      '1000 rps (500 rps at first sight × 2): no burst first seen past the demand its history held scored yet (1 other rose 1×), and this one was first seen past any demand its history holds: sized for 2× until its own rise is scored',
    );
    // Once it is scored the prior is spent, whatever it rose: the next is sized for what bursts showed.
    feed(s, 2415, 4000, 100, 100);
    expect(s.state.bursts?.firstRise).toBe(1);
    expect(s.state.bursts?.scores.at(-1)).toEqual([2400, 1]);
    const next = s.out.length;
    feed(s, 4000, 4015, 150, 800);
    expect(s.out[next]).toMatchObject({ mode: 'burst', sizedForRps: 800 });
  });

  it('a burst within 1.25× of the highest the history holds is no rise past it: sized for itself, the prior kept', () => {
    // An hour at 100 rps: a reading of 120 over what 2 carry (100) is the level's noise, not a
    // crowd; scored, it leaves the prior to the next burst past 125.
    const s = { state: initialDecideState(), current: 2, out: [] as Decision[] };
    feed(s, 0, 1200, 100, 100);
    feed(s, 1200, 1215, 100, 120);
    expect(s.out.at(-1)).toMatchObject({ mode: 'burst', sizedForRps: 120 });
    expect(s.state.bursts?.open?.[5]).toBe(0);
    feed(s, 1215, 3000, 100, 100);
    expect(s.state.bursts?.firstRise).toBe(0);
    const before = s.out.length;
    feed(s, 3000, 3015, 150, 300);
    expect(s.out[before]).toMatchObject({ mode: 'burst', sizedForRps: 600 });
  });

  it('while the prior holds, past bursts that rose further than 2× size the first past the history for that', () => {
    // An excursion before the level was known rose 3×: no evidence against a rise, and more than 2×.
    const s: { state: DecideState; current: number; out: Decision[] } = {
      state: { ...initialDecideState(), bursts: { scores: [[0, 3]], firstRise: 0 } },
      current: 2,
      out: [] as Decision[],
    };
    feed(s, 60, 1260, 100, 100);
    feed(s, 1260, 1275, 150, 300);
    const d = s.out.at(-1)!;
    expect(d).toMatchObject({ mode: 'burst', sizedForRps: 600 }); // 3× capped at 2× the burst
    expect(d.reasons.find((r) => r.code === 'Burst')?.message).toContain(
      '(300 rps at first sight × 3 = 900, capped at 2× 300 rps, the burst itself): no burst first seen past the demand its history held scored yet (1 other rose 3×), and this one was first seen past any demand its history holds: sized for 3× (as past bursts went) until its own rise is scored',
    );
    expect(s.state.bursts?.open?.[5]).toBe(1);
  });

  it('state saved before the flag, with bursts scored, reads the prior as spent (as it was then)', () => {
    const s: { state: DecideState; current: number; out: Decision[] } = {
      state: { ...initialDecideState(), bursts: { scores: [[600, 1]] } },
      current: 2,
      out: [] as Decision[],
    };
    feed(s, 700, 1900, 100, 100);
    feed(s, 1900, 1915, 150, 300);
    expect(s.out.at(-1)).toMatchObject({ mode: 'burst', sizedForRps: 300 });
    feed(s, 1915, 3000, 100, 100);
    expect(s.state.bursts?.firstRise).toBe(1);
  });

  it('a burst within a reading the history holds past its last 20 minutes (a 5-minute bucket peak) is sized for itself', () => {
    // An hour at 100 rps with one 400-rps minute at 5 min: its 5-minute mean is 160 and its minute
    // left the last 20 long ago, but the bucket's peak holds 400. A burst of 300 is within it.
    let demand = emptyHistory();
    for (let t = 0; t < 3600; t += 60) demand = recordDemand(demand, t, t === 300 ? 400 : 100, 120);
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 300 };
    const r = decide(model, { ...initialDecideState(), demand }, obs, 3600);
    expect(r.decision).toMatchObject({ mode: 'burst', sizedForRps: 300, desired: 6 });
    expect(r.state.bursts?.open?.[5]).toBe(0);
    // Without that peak (the same hour at 100 throughout) it is past the history: 2×.
    let flat = emptyHistory();
    for (let t = 0; t < 3600; t += 60) flat = recordDemand(flat, t, 100, 120);
    expect(decide(model, { ...initialDecideState(), demand: flat }, obs, 3600).decision.sizedForRps).toBe(600);
  });

  // 25 rps per instance at target 0.5 (2 carry 50), p99 ≤ 100 ms: 45 rps breaks the SLO on 2.
  const slo = deciderModel(
    { burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: true } },
    { targetUtilization: 0.5, slo: { latencyMs: 100, percentile: 99 } },
  );
  it("a fresh service's burst that only breaks the SLO under the target is sized for itself", () => {
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 20, burstDemandRps: 45 };
    const r = decide(slo, { ...initialDecideState(), demand: knownLevel(20) }, obs, 1200);
    expect(r.decision.mode).toBe('burst');
    expect(r.decision.sizedForRps).toBe(45);
    expect(r.decision.reasons.find((x) => x.code === 'Burst')?.message).toMatch(/would break the p99/);
    expect(r.state.bursts?.open?.[5]).toBe(0);
  });

  it('the prior is decided over the first burst window, as 1-s ticks climb through it', () => {
    const climb = (second: number): number | undefined => {
      let state = { ...initialDecideState(), demand: knownLevel(20) };
      let sized: number | undefined;
      for (const [now, rps] of [
        [1200, 45], // under what 2 carry at 0.5, over the SLO: no prior
        [1200 + second, 120], // over what they carry
      ] as const) {
        const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 20, burstDemandRps: rps };
        const r = decide(slo, state, obs, now);
        state = r.state;
        sized = r.decision.sizedForRps;
      }
      return sized;
    };
    // 3 s later (within the 6-s window): the first sight is 120 rps and over: 240 rps.
    expect(climb(3)).toBe(240);
    // 10 s later: the episode's first sight was 45 rps with no prior; 120 is sized for itself.
    expect(climb(10)).toBe(120);
  });

  it('with learning off, none ready, within the highest demand the history holds, the level not known or a period found, a first burst is sized for itself', () => {
    const off = deciderModel({ burst: { enabled: true, windowSeconds: 6, threshold: 1, learn: false } });
    const at = { bursts: undefined, now: 0, horizon: 120, highest: 100, held: 100, known: true, periodic: false };
    const obs = (ready: number) => ({ readyReplicas: ready, currentReplicas: 2, demandRps: 100, burstDemandRps: 300 });
    expect(burstPath(off, obs(2), 100, { ready: 2, carry: 100 }, at).burst?.rps).toBe(300);
    expect(burstPath(model, obs(0), 100, { ready: 0, carry: 0 }, at).burst?.rps).toBe(300);
    expect(burstPath(model, obs(2), 100, { ready: 2, carry: 100 }, at).burst?.rps).toBe(600);
    // The history held 500 rps (a day read from Prometheus with a crowd in it): 300 is no unknown rise.
    expect(burstPath(model, obs(2), 100, { ready: 2, carry: 100 }, { ...at, highest: 500, held: 500 }).burst?.rps).toBe(
      300,
    );
    // The level not yet known: as likely the level as a rise.
    expect(burstPath(model, obs(2), 100, { ready: 2, carry: 100 }, { ...at, known: false }).burst?.rps).toBe(300);
    // A period found (a day of 2-h spikes read): the periodic term starts those rises, this is what is left.
    expect(burstPath(model, obs(2), 100, { ready: 2, carry: 100 }, { ...at, periodic: true }).burst?.rps).toBe(300);
  });

  it('scores an episode peak ÷ first sight one horizon after it was first seen', () => {
    const s = afterOneEpisode();
    expect(s.state.bursts?.scores).toEqual([[600, 2]]);
    expect(s.state.bursts?.open).toBeUndefined();
  });

  it('the next burst is sized at first sight for as far as the last ones went', () => {
    const s = afterOneEpisode();
    const before = s.out.length;
    feed(s, 2400, 2415, 150, 300);
    const d = s.out[before]!;
    expect(d.mode).toBe('burst');
    // 300 rps × 2 = 600 rps → 12 instances at once (6 without what the first burst taught).
    expect(d.sizedForRps).toBe(600);
    expect(d.desired).toBe(12);
    expect(d.reasons.find((r) => r.code === 'Burst')?.message).toMatch(
      /as it may go on, 600 rps \(300 rps at first sight × 2\): the last burst rose to 2× its first sight within 120 s/,
    );
  });

  it('the steps of one rise are one episode: a later step is not multiplied again', () => {
    const s = afterOneEpisode();
    const before = s.out.length;
    feed(s, 2400, 2415, 150, 300);
    // The 12 asked for are still starting: 2 ready.
    feed(s, 2415, 2430, 300, 450, 2); // 450 × 2 would be 900
    expect(s.out[before + 1]?.mode).toBe('burst');
    expect(s.out[before + 1]?.sizedForRps).toBe(600);
    feed(s, 2430, 2445, 450, 700, 2); // past what was foreseen: sized for what it shows
    expect(s.out[before + 2]?.sizedForRps).toBe(700);
  });

  it('what a burst was sized for at first sight holds until a horizon after it, though the ready instances carry the burst', () => {
    const s = afterOneEpisode();
    const before = s.out.length;
    feed(s, 2400, 2415, 150, 300); // first sight: 600 rps, 12 instances (ready at once here)
    feed(s, 2415, 2520, 200, 450); // 12 ready carry 450: the burst path does not fire
    const held = s.out[before + 1]!;
    expect(held.mode).toBe('normal');
    expect(held.sizedForRps).toBe(600);
    expect(held.reasons.find((r) => r.code === 'Burst')?.message).toMatch(
      /^a burst first seen 15 s ago at 300 rps may still rise to 600 rps \(2× as past bursts did\) until 120 s after its first sight$/,
    );
    feed(s, 2520, 2550, 200, 190); // past 120 s after the first sight: the stable window again
    expect(s.out.at(-1)?.sizedForRps).toBe(200);
  });

  it('a burst reading that is not a rate (NaN, Infinity, negative) never enters an episode: counts and scores stay finite', () => {
    const s = afterOneEpisode();
    const before = s.out.length;
    feed(s, 2400, 2415, 150, 300, 2); // an episode opens
    for (const [t, bad] of [
      [2415, NaN],
      [2430, Infinity],
      [2445, -5],
    ] as const)
      feed(s, t, t + 15, 150, bad, 2);
    feed(s, 2460, 2700, 100, 100); // scored and ended
    for (const d of s.out.slice(before)) {
      expect(Number.isInteger(d.desired), String(d.desired)).toBe(true);
      expect(Number.isFinite(d.sizedForRps ?? 0)).toBe(true);
    }
    expect(s.state.bursts?.scores.at(-1)).toEqual([2400, 1]); // peak 300 ÷ first sight 300
  });

  it('never sizes past twice the highest demand seen, however far a past burst went', () => {
    const history: BurstHistory = { scores: [[0, 8]] };
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 150 };
    const r = burstDemand(
      model,
      obs,
      100,
      { ready: 2, carry: 100 },
      { history, horizon: 120, highest: 200, held: 200, now: 0, known: true, periodic: false },
    );
    expect(r?.rps).toBe(400); // not 150 × 8 = 1,200
  });

  it('bursts whose growth varied are sized for the highest times their spread: the next may go further than any before', () => {
    // The bench's flash crowds before the fifth (which rose 3.25×): e^stdev(ln s) = 1.4455 by hand,
    // 2.73 × 1.4455 = 3.946.
    const scores: Array<[number, number]> = [1.02, 2.03, 2.04, 2.73, 1.58].map((s, i) => [i * 1000, s]);
    const history: BurstHistory = { scores };
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 150 };
    const learned = { history, horizon: 120, highest: 2000, held: 2000, now: 9000, known: true, periodic: false };
    const r = burstDemand(model, obs, 100, { ready: 2, carry: 100 }, learned);
    expect(r?.rps).toBeCloseTo(150 * 3.946, 0);
    expect(r?.reasons[0]?.message).toMatch(
      /as it may go on, 591\.\d rps \(150 rps at first sight × 3\.94\d\): the last 5 bursts rose 1\.02–2\.73× their first sight within 120 s, sized for 2\.73 × 1\.44\d \(their spread\) = 3\.94\d×/,
    );
  });

  it('bursts that grew alike pay almost nothing for the spread, steps nothing, one score nothing', () => {
    const g = (...s: number[]) => burstGrowth({ scores: s.map((x, i): [number, number] => [i, x]) });
    expect(g(2.9, 3.0, 3.1).growth).toBeCloseTo(3.205, 3); // 3.1 × 1.034: periodic spikes
    expect(g(1, 1, 1, 1).growth).toBe(1); // steps: sized for the burst alone
    expect(g(2).growth).toBe(2); // one score has no spread
    expect(g(2, 2).spread).toBe(1);
    expect(g(1, 10, 10).growth).toBe(BURST_GROWTH_CAP); // widened, still capped
    // A burst of steps sizes for the burst alone: no "as it may go on".
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 150 };
    const steps: BurstHistory = {
      scores: [
        [0, 1],
        [1000, 1],
        [2000, 1],
      ],
    };
    const r = burstDemand(
      model,
      obs,
      100,
      { ready: 2, carry: 100 },
      { history: steps, horizon: 120, highest: 600, held: 600, now: 9000, known: true, periodic: false },
    );
    expect(r?.rps).toBe(150);
    expect(r?.reasons[0]?.message).not.toMatch(/go on/);
  });

  it('behavior.burst.learn: false sizes every burst for what it shows', () => {
    const history: BurstHistory = { scores: [[0, 2]] };
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: 150 };
    const pool = { ready: 2, carry: 100 };
    const learned = { history, horizon: 120, highest: 600, held: 600, now: 0, known: true, periodic: false };
    expect(burstDemand(model, obs, 100, pool, learned)?.rps).toBe(300);
    const off = { ...model, behavior: { ...model.behavior, burst: { ...model.behavior.burst, learn: false } } };
    expect(burstDemand(off, obs, 100, pool, learned)?.rps).toBe(150);
  });

  it('keeps the last 8 scores and forgets those older than 8 days', () => {
    let h: BurstHistory = { scores: [] };
    for (let i = 0; i < 12; i++) {
      const t = i * 1000;
      h = { ...h, open: [t, 100, 100 + i * 10, t, 0] };
      h = followBursts(h, t + 500, 0, 120); // scored and, 500 s after the last firing, ended
      expect(h.open).toBeUndefined();
    }
    expect(h.scores).toHaveLength(BURST_KEEP);
    expect(h.scores[0]).toEqual([4000, 1.4]);
    expect(followBursts(h, 11_000 + 8 * 86400 + 1, 0, 120).scores).toHaveLength(0);
  });

  it('fires when the burst would break the latency SLO on the ready instances, though under the target utilization', () => {
    // 20 ms, concurrency 4, p99 ≤ 100 ms, target 0.9: 2 instances carry 360 rps at the target,
    // but at 318 rps their p99 is over 100 ms (3 are needed).
    const slo: ServiceModel = {
      ...model,
      instance: { serviceTimeMs: 20, concurrency: 4 },
      slo: { latencyMs: 100, percentile: 99 },
      targetUtilization: 0.9,
    };
    const obs = { readyReplicas: 2, currentReplicas: 2, demandRps: 298, burstDemandRps: 318 };
    const d = decide(slo, initialDecideState(), obs, 0).decision;
    expect(d.mode).toBe('burst');
    expect(d.desired).toBe(3);
    expect(d.reasons.find((r) => r.code === 'Burst')?.message).toMatch(
      /^last 6 s at 318 rps would break the p99 ≤ 100 ms SLO on 2 ready instances: sizing for the burst, no scale-up rate limit$/,
    );
    // The same burst on 3 ready instances keeps within the SLO: no burst.
    const calm = decide(slo, initialDecideState(), { ...obs, readyReplicas: 3, currentReplicas: 3 }, 0).decision;
    expect(calm.mode).toBe('normal');
  });

  it('scores from the whole first burst window: 1-s ticks reading a window that straddles the step score like one whole-window tick', () => {
    // A step from 60 to 700 rps read by a 6-s window every second: 167, 273, 380, 487, 593, 700.
    const s = { state: initialDecideState(), current: 2, out: [] as Decision[] };
    for (let t = 0; t < 600; t++) feedOne(s, t, 60, 60);
    const seen = [167, 273, 380, 487, 593, 700];
    seen.forEach((rps, i) => feedOne(s, 600 + i, 60 + (rps - 60) / 10, rps, 2));
    for (let t = 606; t < 900; t++) feedOne(s, t, t < 730 ? 700 : 60, t < 730 ? 700 : 60);
    // Peak 700 ÷ first sight 700 (not ÷ 167 = 4.2): the step did not go on.
    expect(s.state.bursts?.scores).toEqual([[600, 1]]);
  });
});

/** One tick at `t` (1-s ticks), the count asked for ready at once unless `ready` says otherwise. */
function feedOne(
  s: { state: DecideState; current: number; out: Decision[] },
  t: number,
  stable: number,
  burst: number,
  ready?: number,
): void {
  const o = { readyReplicas: ready ?? s.current, currentReplicas: s.current, demandRps: stable, burstDemandRps: burst };
  const r = decide(model, s.state, o, t);
  s.state = r.state;
  s.current = r.decision.desired;
  s.out.push(r.decision);
}

// "Every decision is explained": a Burst reason's first sight × growth is the rps it states, or it
// names the cap that cut it; the episode under way is not called a past burst.
describe('burst reasons multiply out', () => {
  const obs = (burst: number) => ({ readyReplicas: 2, currentReplicas: 2, demandRps: 100, burstDemandRps: burst });
  const pool = { ready: 2, carry: 100 };
  /** `(F rps at first sight × G = W, capped at 2× T rps, …)` or `(F rps at first sight × G)` → numbers. */
  const parse = (message: string) => {
    const m =
      /go on, ([\d.]+) rps \(([\d.]+) rps at first sight × ([\d.]+)(?: = ([\d.]+), capped at 2× ([\d.]+) rps)?/.exec(
        message,
      );
    expect(m, message).not.toBeNull();
    return { rps: Number(m![1]), first: Number(m![2]), growth: Number(m![3]), wanted: m![4], top: m![5] };
  };

  it('sized for a first sight times the growth: the stated numbers multiply out', () => {
    const history: BurstHistory = { scores: [[0, 2]] };
    const r = burstDemand(model, obs(300), 100, pool, {
      history,
      horizon: 120,
      highest: 2000,
      held: 2000,
      now: 1000,
      known: true,
      periodic: false,
    })!;
    const p = parse(r.reasons[0]!.message);
    expect(p.rps).toBe(600);
    expect(p.first * p.growth).toBeCloseTo(p.rps, 6);
    expect(p.top).toBeUndefined();
  });

  it('the cap at twice the highest demand seen is stated with its number when it cuts', () => {
    const history: BurstHistory = { scores: [[0, 8]] };
    const r = burstDemand(model, obs(150), 100, pool, {
      history,
      horizon: 120,
      highest: 200,
      held: 200,
      now: 0,
      known: true,
      periodic: false,
    })!;
    expect(r.rps).toBe(400); // unchanged: 150 × 8 = 1,200 capped at 2 × 200
    const p = parse(r.reasons[0]!.message);
    expect(Number(p.wanted)).toBeCloseTo(p.first * p.growth, 6);
    expect(2 * Number(p.top)).toBe(p.rps);
  });

  it('the held burst states the cap too: first sight × growth is not the rps it may still rise to', () => {
    // First seen 15 s ago at 300 rps; past bursts rose 8×; the highest demand seen is 400 rps.
    const bursts: BurstHistory = { open: [1000, 300, 300, 1000, 0], scores: [[0, 8]] };
    const r = burstPath(model, obs(90), 100, pool, {
      bursts,
      now: 1015,
      horizon: 120,
      highest: 400,
      held: 400,
      known: true,
      periodic: false,
    });
    expect(r.burst?.held).toBe(true);
    expect(r.burst?.rps).toBe(800);
    const message = r.burst!.reasons[0]!.message;
    const m =
      /at ([\d.]+) rps may still rise to ([\d.]+) rps \(([\d.]+)× .*; ([\d.]+) rps capped at 2× ([\d.]+) rps/.exec(
        message,
      );
    expect(m, message).not.toBeNull();
    const [first, rps, growth, wanted, top] = m!.slice(1).map(Number) as [number, number, number, number, number];
    expect(first * growth).toBeCloseTo(wanted, 6);
    expect(2 * top).toBe(rps);
  });

  it('the episode under way is not called a past burst, and a score rounded to 4 digits does not make it "go on"', () => {
    // An episode first seen at 684.9 rps rose to 1,829.32 within 120 s: scored 2.671 (684.9 × 2.671 =
    // 1,829.42). Still firing at 1,829.32 rps after that: its own score says nothing more.
    const own: BurstHistory = { open: [0, 684.9, 1829.32, 100, 1], scores: [[0, 2.671]] };
    const learned = { history: own, horizon: 120, highest: 2000, held: 2000, now: 200, known: true, periodic: false };
    const r = burstDemand(model, obs(1829.32), 100, pool, learned)!;
    expect(r.rps).toBeCloseTo(684.9 * 2.671, 6); // what is sized is unchanged
    expect(r.reasons[0]!.message).not.toMatch(/go on|the last burst/);
    // Below its peak it is sized for that peak again: said as this burst's rise, not a past one's.
    const lower = burstDemand(model, obs(1200), 100, pool, learned)!;
    expect(lower.reasons[0]!.message).toMatch(/: this burst rose to 2\.671× its first sight within 120 s/);
    expect(lower.reasons[0]!.message).not.toMatch(/the last burst/);
    const two: BurstHistory = {
      ...own,
      scores: [
        [-5000, 3],
        [0, 2.671],
      ],
    };
    const both = burstDemand(model, obs(1200), 100, pool, { ...learned, history: two })!;
    expect(both.reasons[0]!.message).toMatch(/the last 2 bursts, this one included, rose 2\.671–3× their first sight/);
  });
});
