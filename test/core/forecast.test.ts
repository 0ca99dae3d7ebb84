// forecastPeak(): seasonal growth from past days only, and the rule that a daily rise must have
// been seen on both of the last two days once two days are known (a one-off flash crowd is not
// replayed), while a service with one day of history trusts yesterday.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FORECAST_CEILING,
  detectPeriod,
  emptyHistory,
  forecastMargin,
  forecastPeak,
  highestSeen,
  recordDemand,
  type DemandHistory,
} from '../../src/core/forecast.ts';
import { mulberry32, syntheticTrace } from '../../src/simulator/synthetic.ts';

const DAY = 86400;
const NINE = 9 * 3600;

/** Minute observations from 0 to `until` (exclusive); `peakOn(day)` says whether 09:00–10:00 is busy. */
function history(until: number, peakOn: (day: number) => boolean): DemandHistory {
  let h = emptyHistory();
  for (let t = 0; t < until; t += 60) {
    const day = Math.floor(t / DAY);
    const s = t % DAY;
    const busy = peakOn(day) && s >= NINE && s < NINE + 3600;
    h = recordDemand(h, t, busy ? 1000 : 100 + (t % 180 === 0 ? 5 : 0));
  }
  return h;
}

describe('forecastPeak', () => {
  it('one day of history: a peak seen yesterday is expected today, two minutes before it', () => {
    const now = DAY + NINE - 120;
    const f = forecastPeak(
      history(now + 60, () => true),
      now,
      120,
    );
    expect(f).toBeDefined();
    expect(f?.rps).toBeGreaterThanOrEqual(1000);
    expect(f?.reason).toMatch(/a day ago/);
  });

  it('two days known: a rise seen only yesterday (a flash crowd) is not replayed', () => {
    const now = 2 * DAY + NINE - 120;
    const f = forecastPeak(
      history(now + 60, (d) => d === 1),
      now,
      120,
    );
    expect(f).toBeDefined();
    expect(f?.rps).toBeLessThan(300); // the quiet level times its small margin
  });

  it('two days known: a rise seen on both days is expected', () => {
    const now = 2 * DAY + NINE - 120;
    const f = forecastPeak(
      history(now + 60, () => true),
      now,
      120,
    );
    expect(f?.rps).toBeGreaterThanOrEqual(1000);
    expect(f?.reason).toMatch(/two days/);
  });

  it("the base is this minute's highest or the last 3 minutes' mean of theirs: one noisy minute does not set it", () => {
    // An hour at 100 rps, then minutes peaking at 100, 100, 160, and now one reading of 110.
    let h = emptyHistory();
    const peakOf = (m: number): number => (m === 62 ? 160 : 100);
    for (let t = 0; t < 63 * 60; t += 15) h = recordDemand(h, t, peakOf(Math.floor(t / 60)), 120);
    h = recordDemand(h, 63 * 60, 110, 120);
    const f = forecastPeak(h, 63 * 60, 120);
    // max(110, (100 + 100 + 160) / 3 = 120) = 120; the previous minute's highest alone said 160.
    expect(f?.reason).toContain('the last 3 minutes peaked at 120 rps on average');
    const margin = forecastMargin(h, 120, 120) ?? NaN;
    expect(f?.rps).toBeCloseTo(120 * margin, 6);
    // A minute whose own highest is above that mean is the base itself.
    const h2 = recordDemand(h, 63 * 60 + 15, 150, 120);
    expect(forecastPeak(h2, 63 * 60 + 15, 120)?.reason).toContain('this minute peaked at 150 rps');
  });

  it("a one-off crowd in today's last half hour does not make the daily term claim a rise", () => {
    // Two days and a morning at ~100 rps; today 09:40–09:50 a crowd of 600 rps. At 10:05 the crowd
    // is over. The half hour's mean level (2 crowd buckets of 6: ~270 rps) made yesterday's quiet
    // 10:05 look like a 2.6× rise "at today's level"; its median (~100 rps) does not.
    let h = emptyHistory();
    const rnd = mulberry32(11);
    const now = 2 * DAY + 10 * 3600 + 300;
    for (let t = 0; t <= now; t += 60) {
      const crowd = t >= 2 * DAY + NINE + 2400 && t < 2 * DAY + NINE + 3000;
      h = recordDemand(h, t, (crowd ? 600 : 100) * (0.95 + 0.1 * rnd()), 120);
    }
    const f = forecastPeak(h, now, 120);
    expect(f?.reason).not.toMatch(/peaked [2-9][.\d]*× this/);
    expect(f!.rps).toBeLessThan(130);
  });

  it('a fresh service: no forecast before 10 scored minutes, then the worst miss so far, calibrated from 30', () => {
    // One reading a minute of 100 rps, 105 every third minute: the base (≥ the 3 minutes' mean, ~102)
    // is missed by ~1.03×.
    expect(
      forecastPeak(
        history(9 * 60, () => false),
        9 * 60,
        120,
      ),
    ).toBeUndefined();
    const early = forecastPeak(
      history(20 * 60, () => false),
      20 * 60,
      120,
    );
    expect(early?.calibrated).toBe(false);
    expect(early?.reason).toMatch(/came within 1\.0[1-9]× of the forecast in all 1\d minutes scored so far/);
    expect(early!.rps).toBeGreaterThanOrEqual(105);
    const later = forecastPeak(
      history(40 * 60, () => false),
      40 * 60,
      120,
    );
    expect(later?.calibrated).toBe(true);
    // Calibrated from 30, but a 99th percentile of under 100 is the worst miss, and says so.
    expect(later?.reason).toMatch(/in all 3\d minutes scored so far/);
    const hundreds = forecastPeak(
      history(150 * 60, () => false),
      150 * 60,
      120,
    );
    expect(hundreds?.reason).toMatch(/99 % of the time at this level/);
  });

  it("after a 3× step the top demand band's margin is not the step's own miss", () => {
    // 12 h at ~100 rps, then 300 rps (±5 % a minute), read as decide() reads it: the 60-s rate every
    // 15 s, so one minute's base is mid-ramp (~200 rps, the top band) and the next one is 300. From
    // 30 scored minutes that band's 99th percentile was that 1.5× miss: on the bench's step, 17–18
    // instances for 72 minutes where 11 were needed. With the band's own histogram from 100 minutes
    // the margin comes from all minutes until then.
    const at = 43200;
    const tr = syntheticTrace(`synthetic:step,at=${at},height=3,days=${(at + 3 * 3600) / DAY}`);
    let h = emptyHistory();
    let worst = 0;
    for (let t = 0; t < tr.rps.length; t += 15) {
      let sum = 0;
      for (let u = Math.max(0, t - 59); u <= t; u++) sum += tr.rps[u] ?? 0;
      h = recordDemand(h, t, sum / Math.min(60, t + 1), 120);
      if (t < at + 600 || t % 60 !== 0) continue;
      let seen = 0; // the highest demand of the last 10 minutes
      for (let u = t - 600; u <= t; u++) seen = Math.max(seen, tr.rps[u] ?? 0);
      worst = Math.max(worst, (forecastPeak(h, t, 120)?.rps ?? 0) / seen);
    }
    expect(worst).toBeGreaterThan(1); // the forecast ran, and sizes above what was seen
    expect(worst).toBeLessThan(1.15); // it was 1.27 with a band's own margin from 30 minutes
  });
});

describe('forecastPeak after a level shift (issue 15, item 1: never over-react)', () => {
  /** 100 rps (±5 %) for an hour, then `after(s)` rps at s seconds past the rise: read every 15 s. */
  function shifted(until: number, after: (s: number) => number): DemandHistory {
    let h = emptyHistory();
    for (let t = 0; t < until; t += 15) {
      const rps = t < 3600 ? 100 : after(t - 3600);
      h = recordDemand(h, t, rps * (1 + 0.05 * Math.sin(t / 97)), 120);
    }
    return h;
  }

  it('a 100 → 2,000 rps step that holds is taken back out of the margin 16 minutes on, and the reason says so', () => {
    // Left in, the step's 20× miss was the worst of under 100 scored minutes, so the forecast sat at
    // its 2× cap (4,200 rps: 23 instances where 12 carry 2,000 rps) for 1.7 h.
    const during = forecastPeak(
      shifted(3600 + 10 * 60, () => 2000),
      3600 + 10 * 60,
      120,
    );
    expect(during!.rps).toBeGreaterThan(4000); // not yet known to be a level: still sized for a repeat
    const t = 3600 + 25 * 60;
    const h = shifted(t, () => 2000);
    const after = forecastPeak(h, t, 120);
    expect(after!.rps).toBeLessThan(2100 * 1.15);
    expect(after!.reason).toMatch(
      /in all \d+ minutes scored so far \(2 more, in which demand rose to a level it then held, are left out\)$/,
    );
    expect(forecastMargin(h, 120)).toBeLessThan(1.15);
    // The history persists through JSON (the controller's status) and forecasts the same from it.
    expect(forecastPeak(JSON.parse(JSON.stringify(h)) as DemandHistory, t, 120)).toEqual(after);
  });

  it('recording a minute leaves the history it was given as it was, waiting large misses included', () => {
    // Two minutes into the step large misses wait; the next rise (4,000 rps) adds more.
    const h = shifted(3600 + 3 * 60, () => 2000);
    expect(h.shifts?.length).toBeGreaterThan(0);
    const before = JSON.stringify(h);
    recordDemand(recordDemand(h, 3600 + 3 * 60, 4000, 120), 3600 + 4 * 60, 4000, 120);
    expect(JSON.stringify(h)).toBe(before);
  });

  it('a crowd that is gone within 16 minutes stays in the margin: it may come again', () => {
    // The same rise for 8 minutes, then back to 100 rps.
    const t = 3600 + 35 * 60;
    const h = shifted(t, (s) => (s < 480 ? 2000 : 100));
    const f = forecastPeak(h, t, 120);
    expect(f!.rps).toBeGreaterThan(105 * 3);
    expect(f!.reason).not.toMatch(/left out/);
    // Nothing waits past 32 minutes (16-minute windows, then 16 minutes to see whether it held).
    expect(h.shifts).toBeUndefined();
  });

  it('a step held only 12 minutes (80 % of its peak) is not a level shift', () => {
    const t = 3600 + 40 * 60;
    const h = shifted(t, (s) => (s < 12 * 60 ? 2000 : 1400));
    expect(forecastMargin(h, 120)).toBeGreaterThan(3);
  });
});

/** Two-hour grid of spikes (5× for ~10 min, as in issue 15's bursty trace) on a 60-rps base. */
function spiky(until: number): DemandHistory {
  let h = emptyHistory();
  for (let t = 0; t < until; t += 15) {
    const s = (t % 7200) - 3600; // a spike starts at each hour 1, 3, 5, ...
    const spike = s >= 0 && s < 150 ? s / 150 : s >= 150 && s < 900 ? Math.exp((-3 * (s - 150)) / 750) : 0;
    h = recordDemand(h, t, 60 * (1 + 4 * spike) * (1 + 0.05 * Math.sin(t / 97)));
  }
  return h;
}

describe('forecastPeak on recurring spikes: never over-reacts', () => {
  it('inside a spike that also came yesterday: no seasonal rise on top of it, and never above the ceiling', () => {
    // 2 days of history, then today's 13:00 spike minute by minute (it peaks at ~300 rps at +2.5 min).
    const start = 2 * DAY + 13 * 3600;
    let h = spiky(start);
    let worst = 0;
    for (let t = start; t < start + 900; t += 15) {
      const s = t - start;
      const spike = s < 150 ? s / 150 : Math.exp((-3 * (s - 150)) / 750);
      h = recordDemand(h, t, 60 * (1 + 4 * spike) * (1 + 0.05 * Math.sin(t / 97)));
      const f = forecastPeak(h, t, 120);
      if (!f) continue;
      worst = Math.max(worst, f.rps / highestSeen(h));
      // From a minute after the peak on, the spike is in the base: yesterday's phase adds nothing.
      // (The old base × rise form multiplied the spike by yesterday's 3× rise: ~3× the peak.)
      if (s >= 240) expect(f.reason, `t = +${s} s`).not.toMatch(/ ago /);
    }
    expect(worst).toBeLessThanOrEqual(FORECAST_CEILING);
  });

  it('before a recurring spike: starts instances for it (the forecast reaches the spike level)', () => {
    const now = 2 * DAY + 13 * 3600 - 120; // 2 minutes before the 13:00 spike
    const f = forecastPeak(spiky(now + 15), now, 180);
    expect(f!.rps).toBeGreaterThan(200); // the quiet level is 60
    // The 2-h grid is now also recognised as a 2-h period (issue 15, item 2); either term may size it.
    expect(f!.reason).toMatch(/a day \(and two days\) ago|period 2 h/);
  });

  it('property: whatever the history, the forecast never exceeds twice the highest demand seen, and is never NaN or negative', () => {
    const step = fc.record({
      dt: fc.integer({ min: 1, max: 3600 }),
      rps: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), fc.constantFrom(0, 1e-9, 1e9, NaN, -5, Infinity)),
    });
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 60, max: 7200 }),
        (steps, horizon) => {
          let h = emptyHistory();
          let t = 1_000_000;
          let top = 0;
          for (const s of steps) {
            t += s.dt;
            h = recordDemand(h, t, s.rps);
            if (Number.isFinite(s.rps) && s.rps > top) top = s.rps;
          }
          const f = forecastPeak(h, t, horizon);
          if (f === undefined) return true;
          return Number.isFinite(f.rps) && f.rps >= 0 && f.rps <= FORECAST_CEILING * top * (1 + 1e-3) + 1e-9;
        },
      ),
      { numRuns: 300, seed: 15 },
    );
  });

  it('property: spiky and adversarial minute histories (long enough to forecast) stay under the ceiling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(1e6)), {
          minLength: 60,
          maxLength: 240,
        }),
        (perMinute) => {
          let h = emptyHistory();
          let top = 0;
          perMinute.forEach((rps, i) => {
            for (let k = 0; k < 4; k++) h = recordDemand(h, i * 60 + k * 15, rps);
            top = Math.max(top, rps);
          });
          const f = forecastPeak(h, perMinute.length * 60 - 15, 120);
          return f === undefined || (f.rps >= 0 && f.rps <= FORECAST_CEILING * top * (1 + 1e-3) + 1e-9);
        },
      ),
      { numRuns: 200, seed: 16 },
    );
  });
});

/** Seeded uniform [0, 1), so the noisy histories below are the same every run. */
const rng = mulberry32;

/** synthetic.ts's pulse: rises to 1 over width/4, decays to e^-3 by width. */
function pulse(dt: number, width = 600): number {
  if (dt < 0 || dt > 2 * width) return 0;
  return dt < width / 4 ? dt / (width / 4) : Math.exp((-3 * (dt - width / 4)) / (width - width / 4));
}

/**
 * One observation a minute from 0 to `until`: a 100-rps base with ±10 % noise, plus `extra(t)`
 * (× the base). `spikeStarts` lists when a 5× spike of `period` s starts (±2 min jitter).
 */
function noisy(until: number, seed: number, extra: (t: number) => number, horizon?: number): DemandHistory {
  const rand = rng(seed);
  let h = emptyHistory();
  for (let t = 0; t < until; t += 60)
    h = recordDemand(h, t, 100 * (1 + extra(t)) * (1 + (rand() * 2 - 1) * 0.1), horizon);
  return h;
}

/** Spikes of 5× every `period` s at period/2 + k·period, each moved by up to ±jitter s. */
function spikeGrid(period: number, jitter: number, seed: number): (t: number) => number {
  const rand = rng(seed + 1000);
  const starts = Array.from({ length: 200 }, (_, k) => period / 2 + k * period + (rand() * 2 - 1) * jitter);
  return (t) => {
    const k = Math.floor((t + period / 2) / period);
    let x = 0;
    for (const j of [k - 1, k]) if (j >= 0) x += 4 * pulse(t - starts[j]!);
    return x;
  };
}

describe('detectPeriod (issue 15, item 2)', () => {
  it('finds 2 h on a 2-h spike grid with ±10 % noise and ±2 min jitter, and names it in the forecast', () => {
    for (const seed of [1, 2, 3]) {
      const h = noisy(2 * DAY, seed, spikeGrid(7200, 120, seed));
      expect(h.period?.lag, `seed ${seed}`).toBe(24); // 24 five-minute buckets
      expect(h.period!.r).toBeGreaterThan(0.7);
    }
  });

  it('finds 1 h on a 1-h grid (a second period, not tuned on)', () => {
    const h = noisy(DAY, 4, spikeGrid(3600, 60, 4));
    expect(h.period?.lag).toBe(12);
  });

  it('finds no period in pure noise', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), (seed) => {
        const rand = rng(seed);
        const values = Array.from({ length: 2 * 288 }, () => 100 * (1 + (rand() * 2 - 1) * 0.3));
        return detectPeriod(values).lag === 0;
      }),
      { numRuns: 25, seed: 17 },
    );
  });

  it('on a day/night cycle reports the day (left to the daily term) or nothing new', () => {
    const day = (t: number): number => 0.6 * Math.sin((2 * Math.PI * t) / DAY);
    const h = noisy(4 * DAY, 5, day);
    const lag = h.period?.lag ?? 0;
    expect(lag === 0 || Math.abs(lag - 288) <= 28.8, `lag ${lag}`).toBe(true);
    // …and the forecast never calls it periodic.
    const f = forecastPeak(h, 4 * DAY - 60, 120);
    expect(f?.period).toBeUndefined();
  });

  it('a one-off flash crowd (and two crowds exactly 2 h apart) is not a period', () => {
    const one = noisy(2 * DAY, 6, (t) => 5 * pulse(t - 30 * 3600));
    expect(one.period?.lag).toBe(0);
    const two = noisy(2 * DAY, 7, (t) => 5 * pulse(t - 30 * 3600) + 5 * pulse(t - 32 * 3600));
    expect(two.period?.lag).toBe(0); // r(2 h) is high, r(4 h) is not: no third repetition
  });
});

describe('forecastPeak with a detected period', () => {
  // Spike k starts at 3600 + 7200k ± 120 s; after 2 days, spike 24 is due at 48 h + 1 h.
  const grid = spikeGrid(7200, 120, 8);
  const due = 2 * DAY + 3600 + 0; // nominal start of the next spike
  const h = noisy(due - 180, 8, grid);

  it('before a due spike the forecast is raised to it, with the period and phase in the reason', () => {
    const now = due - 180; // 3 minutes before the spike's nominal start; quiet now (~100 rps)
    const f = forecastPeak(h, now, 120);
    expect(f).toBeDefined();
    expect(f!.rps).toBeGreaterThan(350); // the spikes peak at ~450 rps; the quiet level is ~100
    expect(f!.period?.periodSeconds).toBe(7200);
    expect(f!.reason).toMatch(
      /^period 2 h \(autocorrelation 0\.\d+\), phase 1:5\d of 2:00: spike of \d+ rps expected in \d+ s/,
    );
  });

  it('an hour after the spike (quiet phase) it is not raised', () => {
    const quiet = noisy(2 * DAY + 2 * 3600, 8, grid);
    const f = forecastPeak(quiet, 2 * DAY + 2 * 3600 - 60, 120);
    expect(f!.rps).toBeLessThan(150);
  });

  it('quiet phases carry a lower margin than predicted rises', () => {
    const quietMargin = forecastMargin(h, 120, 100, false);
    const riseMargin = forecastMargin(h, 120, 100, true);
    expect(quietMargin).toBeDefined();
    expect(riseMargin).toBeDefined();
    expect(quietMargin!).toBeLessThan(1.25);
    expect(quietMargin!).toBeLessThan(riseMargin!);
  });

  it('a minute into a due spike, its full height is expected (closed half hours as the level)', () => {
    // Spikes start on a bucket boundary (no jitter). A minute in, now's bucket is partial and low;
    // against the then bucket's whole spike as the level, the old level ratio (~0.8) cut the
    // expected peak to 355 rps where the minute samples of a spike reach ~430 (±10 % noise).
    const aligned = spikeGrid(7200, 0, 9);
    const start = 2 * DAY + 3600;
    let sampled = 0; // the highest noiseless minute sample of a spike
    for (let t = start - 7200; t < start - 6000; t += 60) sampled = Math.max(sampled, 100 * (1 + aligned(t)));
    const f = forecastPeak(noisy(start + 61, 9, aligned), start + 60, 120);
    expect(f?.period).toBeDefined();
    expect(f!.period!.expectedRps).toBeGreaterThan(0.9 * sampled);
    expect(f!.rps).toBeGreaterThan(0.9 * sampled);
  });

  it('the margin of predicted rises is scored over the window the rise was foreseen for (not 1.8× from timing alone)', () => {
    // Three days of 2-h spikes with ±2 min jitter, recorded as decide() does (its 120-s horizon).
    // A 1-minute growth scored over the 4 minutes a 120-s rise covers counted each spike that came in
    // minute 4 as a 1.8–2.2× miss: the rises' margin was ~1.8, sizing every spike for 1.8× its peak.
    const hist = noisy(3 * DAY, 10, spikeGrid(7200, 120, 10), 120);
    const rise = forecastMargin(hist, 120, 100, true);
    expect(rise).toBeDefined();
    expect(rise!).toBeLessThan(1.35);
  });

  it('property: with a period detected the forecast still never exceeds twice the highest demand seen', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7199 }), fc.integer({ min: 60, max: 3600 }), (offset, horizon) => {
        const f = forecastPeak(h, due - 180 - 7200 + offset, horizon);
        return f === undefined || f.rps <= FORECAST_CEILING * highestSeen(h) * (1 + 1e-3);
      }),
      { numRuns: 100, seed: 18 },
    );
  });
});

// "Every decision is explained": the reason names the numbers the forecast used, and they multiply out.
describe('forecast reasons say what the forecast used', () => {
  /** Days 0–1: 100 rps, 1,000 rps 09:00–10:00; day 2: 400 rps from 08:00 (and `spike` rps 10 minutes before `now`). */
  function risingDay(now: number, spike?: number): DemandHistory {
    let h = emptyHistory();
    for (let t = 0; t <= now; t += 60) {
      const busy = t < 2 * DAY && t % DAY >= NINE && t % DAY < NINE + 3600;
      h = recordDemand(h, t, busy ? 1000 : t >= 2 * DAY + NINE - 3600 ? 400 : 100, 120);
      if (spike !== undefined && t === now - 600) h = recordDemand(h, t + 30, spike, 120);
    }
    return h;
  }
  const before9 = 2 * DAY + NINE - 120;

  it('the ceiling names the record it is twice: the highest 5-minute mean of 8 days, or a minute reading of the last 20', () => {
    // 400 × 10 (yesterday's 1,000 at today's 4× level) × margin is cut at twice the record.
    const means = forecastPeak(risingDay(before9), before9, 120)!;
    expect(means.rps).toBe(2000);
    expect(means.reason).toMatch(/capped at 2× the highest 5-minute mean of the last 8 days \(1000 rps\) from \d+/);
    // One reading of 1,800 rps 10 minutes ago: its 5-minute mean is ~630, the record is the reading.
    const reading = forecastPeak(risingDay(before9, 1800), before9, 120)!;
    expect(reading.rps).toBe(3600);
    expect(reading.reason).toMatch(/capped at 2× the highest reading of the last 20 minutes \(1800 rps\) from \d+/);
  });

  it('without a period a predicted daily rise is sized with its demand band’s margin, and says so (not "in predicted rises")', () => {
    const f = forecastPeak(risingDay(before9), before9, 120)!;
    expect(f.reason).toMatch(/a day \(and two days\) ago/);
    expect(f.reason).not.toMatch(/in predicted rises/);
    expect(f.reason).toMatch(/99 % of the time (at this level|over all minutes)/);
  });

  // The 2-h spike grid of the describe above.
  const grid = spikeGrid(7200, 120, 8);
  const due = 2 * DAY + 3600;
  const h = noisy(due - 180, 8, grid, 120);

  it('a predicted rise states the window its margin was scored over (horizon + slack: 240 s), and its pool', () => {
    const f = forecastPeak(h, due - 180, 120)!;
    expect(f.period).toBeDefined();
    expect(f.reason).toMatch(
      /past 240-s peaks came within [\d.]+× of the forecast (99 % of the time|in all \d+ minutes scored so far) in predicted rises/,
    );
  });

  it('the window is the calibrated horizon the margin comes from: 150 s is scored as 4 minutes', () => {
    const f = forecastPeak(
      noisy(DAY, 3, () => 0),
      DAY - 60,
      150,
    )!;
    expect(f.reason).toMatch(/past 240-s peaks/);
  });

  it('with too few scored predicted rises the margin comes from all minutes, and the reason says so', () => {
    // misses[k = 4 min][band 6 = predicted rises]: 20 scored, under the 30 a phase's own histogram needs.
    const scored = h.scored!.map((row) => row.slice());
    scored[2]![6] = 20;
    const f = forecastPeak({ ...h, scored }, due - 180, 120)!;
    expect(f.reason).toMatch(
      /of the forecast 99 % of the time over all minutes \(predicted rises have 20 scored, 30 needed\)/,
    );
    expect(f.reason).not.toMatch(/in predicted rises/);
  });

  it('with a period and no rise ahead the margin is that of the minutes outside predicted rises, not "at this level"', () => {
    const quiet = noisy(2 * DAY + 2 * 3600, 8, grid, 120);
    const f = forecastPeak(quiet, 2 * DAY + 2 * 3600 - 60, 120)!;
    expect(f.reason).toMatch(/outside predicted rises/);
    expect(f.reason).not.toMatch(/at this level/);
  });

  it('a periodic rise expected past the horizon says which window it was looked for in', () => {
    for (let now = due - 420; now <= due; now += 60) {
      const f = forecastPeak(noisy(now + 60, 8, grid, 120), now, 120);
      if (!f?.period) continue;
      const m = /expected (?:in (\d+) s|now) \(looked for over the (\d+)-s horizon \+ (\d+) s for jitter\)/.exec(
        f.reason,
      );
      expect(m, f.reason).not.toBeNull();
      expect(Number(m![2])).toBe(120);
      expect(Number(m![1] ?? 0)).toBeLessThanOrEqual(Number(m![2]) + Number(m![3]));
    }
  });
});
