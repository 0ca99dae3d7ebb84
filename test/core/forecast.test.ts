// forecastPeak(): seasonal growth from past days only, and the rule that a daily rise must have
// been seen on both of the last two days once two days are known (a one-off flash crowd is not
// replayed), while a service with one day of history trusts yesterday.
import { describe, expect, it } from 'vitest';
import { emptyHistory, forecastPeak, recordDemand, type DemandHistory } from '../../src/core/forecast.ts';

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

  it('without enough scored minutes there is no forecast', () => {
    expect(
      forecastPeak(
        history(20 * 60, () => false),
        20 * 60,
        120,
      ),
    ).toBeUndefined();
  });
});
