// backtest --end without an offset is UTC, as every time backtest prints; it was read in the local
// zone (and a bare date in UTC): TZ=America/New_York shifted "2025-11-30T12:00" by 5 h.
import { afterEach, describe, expect, it } from 'vitest';
import { parseEnd } from '../../src/cli/backtest.ts';

const tz = process.env.TZ;
afterEach(() => {
  if (tz === undefined) delete process.env.TZ;
  else process.env.TZ = tz;
});

describe('backtest --end', () => {
  it.each(['America/New_York', 'Asia/Kolkata', 'UTC'])('with no offset is UTC in TZ=%s', (zone) => {
    process.env.TZ = zone;
    const noon = Date.UTC(2025, 10, 30, 12) / 1000;
    expect(parseEnd('2025-11-30T12:00')).toBe(noon);
    expect(parseEnd('2025-11-30 12:00:00')).toBe(noon);
    expect(parseEnd('2025-11-30')).toBe(Date.UTC(2025, 10, 30) / 1000);
    expect(parseEnd('2025-11-30T12:00:00Z')).toBe(noon);
    expect(parseEnd('2025-11-30T07:00:00-05:00')).toBe(noon);
    expect(parseEnd(String(noon))).toBe(noon);
  });
});
