// After a fall (src/core/falls.ts): falls are followed and learned, and decide() lets a crowd's
// counts go within the horizon only once this service's last two falls stayed down.
import { describe, expect, it } from 'vitest';
import { decide, initialDecideState, type DecideState, type Decision } from '../../src/core/decide.ts';
import { FALL_WATCH_S, fallRelease, followFalls, type FallHistory } from '../../src/core/falls.ts';
import type { ServiceModel } from '../../src/core/model.ts';
import { model } from './decide-model.ts';

/** Feeds `readings` (stable demand per tick, `highest` of the window) from `t0`, 15 s apart. */
function follow(h: FallHistory | undefined, t0: number, readings: Array<[number, number]>): FallHistory {
  let out = h;
  readings.forEach(([demand, highest], i) => (out = followFalls(out, t0 + 15 * i, demand, highest)));
  return out!;
}

describe('followFalls / fallRelease', () => {
  it('opens a fall below 1/1.5 of the highest reading, not at 1/1.4', () => {
    expect(followFalls(undefined, 0, 72, 100).open).toBeUndefined(); // 100 / 72 = 1.39
    expect(followFalls(undefined, 0, 66, 100).open).toEqual([0, 100, 66, 0]);
  });

  it('a fall that stays down closes after the watch as "did not come back"; one that rises 1.5× its low came back', () => {
    const down = Array.from({ length: 70 }, (_, i): [number, number] => [60 - (i % 3), 100]);
    const stayed = follow(undefined, 0, down);
    expect(stayed.outcomes).toEqual([[0, 0]]);
    // The same fall, but 5 minutes on demand jumps from its low (58) to 90 (1.55×) and falls again.
    const back = follow(
      undefined,
      0,
      down.map(([d, h], i): [number, number] => [i === 20 ? 90 : d, h]),
    );
    expect(back.outcomes).toEqual([[0, 1]]);
    // Still open at the end of the watch, closed just after it.
    expect(followFalls(undefined, 0, 60, 100)).toMatchObject({ open: [0, 100, 60, 0] });
    expect(followFalls({ open: [0, 100, 60, 0], outcomes: [] }, FALL_WATCH_S, 60, 60).open).toBeDefined();
    expect(followFalls({ open: [0, 100, 60, 0], outcomes: [] }, FALL_WATCH_S + 1, 60, 60)).toEqual({
      outcomes: [[0, 0]],
    });
  });

  it('lets go only while a fall is under way and none of the last two came back', () => {
    const open: [number, number, number, number] = [5000, 900, 500, 0];
    expect(fallRelease({ outcomes: [[0, 0]], open })).toBeUndefined(); // one past fall
    expect(
      fallRelease({
        outcomes: [
          [0, 0],
          [2000, 0],
        ],
      }),
    ).toBeUndefined(); // none under way
    expect(
      fallRelease({
        outcomes: [
          [0, 0],
          [2000, 0],
        ],
        open,
      }),
    ).toEqual({ from: 900 });
    expect(
      fallRelease({
        outcomes: [
          [0, 0],
          [2000, 1],
        ],
        open,
      }),
    ).toBeUndefined(); // the last came back
    expect(
      fallRelease({
        outcomes: [
          [0, 1],
          [1000, 0],
          [2000, 0],
        ],
        open,
      }),
    ).toEqual({ from: 900 }); // the oldest came back, the last two did not
  });

  it('keeps the last 8 outcomes and forgets those older than 8 days', () => {
    let h: FallHistory = { outcomes: Array.from({ length: 8 }, (_, i): [number, number] => [i * 1000, 0]) };
    h = followFalls({ ...h, open: [9000, 100, 60, 1] }, 9000 + FALL_WATCH_S + 1, 100, 100);
    expect(h.outcomes).toHaveLength(8);
    expect(h.outcomes[7]).toEqual([9000, 1]);
    expect(h.outcomes[0]).toEqual([1000, 0]);
    expect(followFalls(h, 8 * 86400 + 4999, 100, 100).outcomes.map(([t]) => t)).toEqual([5000, 6000, 7000, 9000]);
  });
});

describe('decide(): a crowd that is over lets its counts go once past falls stayed down (issue 15, item 1)', () => {
  // Three one-off crowds (not periodic) on a 100-rps base with ±5 % noise: rise to 6× in 150 s,
  // decay over ~10 minutes; decide() every 15 s on the 60-s mean. `comesBack`: 6 minutes after each
  // crowd's peak a second, smaller wave (3×) rises and falls again, a fall that comes back.
  const CROWDS = [3600, 4 * 3600 + 1234, 8 * 3600 + 2345];
  const rps = (t: number, comesBack: boolean): number => {
    let x = 1;
    for (const c of CROWDS) {
      const s = t - c;
      if (s >= 0 && s < 150) x = Math.max(x, 1 + (5 * s) / 150);
      else if (s >= 150) x = Math.max(x, 1 + 5 * Math.exp((-3 * (s - 150)) / 600));
      const w = s - 510;
      if (comesBack && w >= 0 && w < 240) x = Math.max(x, 1 + 2 * Math.sin((Math.PI * w) / 240));
    }
    return 100 * x * (1 + 0.05 * Math.sin(t / 7.3));
  };
  const drive = (m: ServiceModel, comesBack: boolean): Array<{ t: number; d: Decision; state: DecideState }> => {
    let state: DecideState = initialDecideState();
    let current = 2;
    const out: Array<{ t: number; d: Decision; state: DecideState }> = [];
    for (let t = 60; t < 10 * 3600; t += 15) {
      let sum = 0;
      for (let u = t - 59; u <= t; u++) sum += rps(u, comesBack);
      const r = decide(m, state, { demandRps: sum / 60, readyReplicas: current, currentReplicas: current }, t);
      state = r.state;
      current = r.decision.desired;
      out.push({ t, d: r.decision, state });
    }
    return out;
  };
  const on = model({ forecast: { enabled: true, quietPhase: true } });
  const off = model({ forecast: { enabled: true, quietPhase: false } });
  const fell = (x: { d: Decision }): boolean => x.d.reasons.some((r) => r.code === 'DemandFell');
  /** Instance-seconds over the 30 minutes from a crowd's start. */
  const spent = (ticks: ReturnType<typeof drive>, c: number): number =>
    ticks.filter((x) => x.t >= c && x.t < c + 1800).reduce((a, x) => a + 15 * x.d.desired, 0);
  /** The first time after the crowd's peak the count is back at what it ran 20–30 minutes on. */
  const settled = (ticks: ReturnType<typeof drive>, c: number): number => {
    const after = Math.min(...ticks.filter((x) => x.t >= c + 1200 && x.t < c + 1800).map((x) => x.d.desired));
    return ticks.find((x) => x.t > c + 150 && x.d.desired <= after)!.t - c;
  };

  it("the first two crowds hold the full 300-s window; the third one's counts go within the horizon", () => {
    const ticks = drive(on, false);
    const held = drive(off, false);
    // Until the third crowd's fall, the same decisions as the HPA's window held in full.
    const first = ticks.find(fell)!;
    expect(first.t).toBeGreaterThan(CROWDS[2]!);
    const before = ticks.filter((x) => x.t < first.t);
    expect(before.map((x) => x.d.desired)).toEqual(held.slice(0, before.length).map((x) => x.d.desired));
    expect(first.d.reasons.find((r) => r.code === 'DemandFell')!.message).toMatch(
      /^demand fell to [\d.]+ rps from a high of [\d.]+ rps, and the last 2 falls did not come back within 900 s: the scale-down window holds the last 120 s, not the 300 s that would hold \d+$/,
    );
    // What it learned: two falls, neither came back.
    expect(first.state.falls?.outcomes.map(([, back]) => back)).toEqual([0, 0]);
    // The third crowd: back at its settled count sooner, and fewer instance-seconds.
    const c = CROWDS[2]!;
    expect(settled(ticks, c)).toBeLessThanOrEqual(settled(held, c) - 150);
    expect(spent(ticks, c)).toBeLessThan(0.9 * spent(held, c));
  });

  it('a service whose falls came back holds the full window after every crowd', () => {
    const ticks = drive(on, true);
    expect(ticks.filter(fell)).toEqual([]);
    expect(ticks.at(-1)!.state.falls?.outcomes.map(([, back]) => back)).toEqual([1, 1, 1]);
    const held = drive(off, true);
    expect(ticks.map((x) => x.d.desired)).toEqual(held.map((x) => x.d.desired));
  });

  it("quietPhase: false (the HPA's window, held in full) never lets go after a fall, and keeps no falls", () => {
    const ticks = drive(off, false);
    expect(ticks.filter(fell)).toEqual([]);
    expect(ticks.some((x) => x.state.falls !== undefined)).toBe(false);
  });
});
