// historyFrom (src/core/forecast.ts): readings from the past folded into the history a loop would
// have recorded from them. Checked against the loop itself: decide() fed the same readings one
// round at a time.
import { describe, expect, it } from 'vitest';
import { model as serviceModel } from './decide-model.ts';
import { decide, forecastHorizon, initialDecideState } from '../../src/core/decide.ts';
import { forecastPeak, historyFrom, historyText } from '../../src/core/forecast.ts';

// Recording demand does not depend on the capacity: the shared unit-test service, forecast on.
const model = serviceModel({ forecast: { enabled: true, quietPhase: true } });

/** 15-s readings: 300 rps, 4× for 10 minutes every 2 h, ±10 % (deterministic). */
function readings(hours: number, from = 1_800_000_000): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let t = from; t < from + hours * 3600; t += 15)
    out.push([t, (t % 7200 < 600 ? 1200 : 300) * (1 + 0.1 * Math.sin(t * 0.7))]);
  return out;
}

/** decide() fed the readings one round at a time, as the loop records them live. */
function live(rs: ReadonlyArray<readonly [number, number]>) {
  let state = initialDecideState();
  for (const [t, rps] of rs)
    state = decide(model, state, { readyReplicas: 5, currentReplicas: 5, demandRps: rps }, t).state;
  return state.demand;
}

describe('historyFrom', () => {
  it("is the loop's history from the same readings: an hour exactly, 3 days to its forecast", () => {
    const hour = readings(1);
    expect(historyFrom(hour, forecastHorizon(model))).toEqual(live(hour));
    // Over 3 days the period is looked for hourly before the last hour (live: every 5 minutes), so a
    // few minutes' misses were scored under a period up to 55 minutes older. What is kept and the
    // period found are the same; the forecast the next round makes is the loop's to within 2 %.
    const rs = readings(72);
    const h = historyFrom(rs, forecastHorizon(model));
    const l = live(rs);
    expect([h.values, h.peaks, h.minutes, h.level, h.period]).toEqual([
      l.values,
      l.peaks,
      l.minutes,
      l.level,
      l.period,
    ]);
    expect(h.period?.lag).toBe(24); // 24 five-minute buckets: 2 h
    const next = rs[rs.length - 1]![0] + 15;
    for (const t of [next, next + 1800, next + 3600]) {
      const a = forecastPeak(h, t, forecastHorizon(model))!;
      const b = forecastPeak(l, t, forecastHorizon(model))!;
      expect(a.rps / b.rps).toBeGreaterThan(0.98);
      expect(a.rps / b.rps).toBeLessThan(1.02);
    }
    expect(historyText(h, forecastHorizon(model))).toMatch(
      /^[\d,]+ minutes scored \(the forecast starts calibrated\), a period of 2 h found$/,
    );
  });

  it('a cycle of about a day is named as the daily one (the daily term forecasts it, not the periodic)', () => {
    const daily: Array<[number, number]> = [];
    let seed = 7; // ±5 % noise from a linear congruential generator: no period of its own
    const noise = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.1;
    for (let t = 1_800_000_000; t < 1_800_000_000 + 4 * 86400; t += 15)
      daily.push([t, 300 * (1 + 0.6 * Math.sin((2 * Math.PI * t) / 86400)) * (1 + noise())]);
    const h = historyFrom(daily, 120);
    expect(h.period?.lag).toBeGreaterThan(250);
    expect(historyText(h, 120)).toMatch(/, a daily cycle found$/);
  });

  it('skips what a live round would skip: non-finite, negative, out of order', () => {
    const rs = readings(2);
    const at = rs[199]![0];
    const bad: Array<[number, number]> = [
      ...rs.slice(0, 200),
      [at + 1, Number.NaN],
      [at + 2, -5],
      [0, 10],
      ...rs.slice(200),
    ];
    expect(historyFrom(bad, 120)).toEqual(historyFrom(rs, 120));
    expect(historyText(historyFrom(readings(0.2), 120), 120)).toMatch(/too few to calibrate the forecast/);
  });
});
