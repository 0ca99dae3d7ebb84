// Numeric flags are parsed in one place (src/cli/flags.ts): plain decimals in a stated range.
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { parseConfig } from '../../src/cli/loadtest.ts';
import { checkNumberFlag, parseNumberFlag } from '../../src/cli/flags.ts';

const demand = { min: 0, max: 1e9, unit: 'rps' };

describe('parseNumberFlag', () => {
  it.each(['', ' ', '0x10', '0b11', '0o7', '1e308', 'Infinity', 'NaN', '1_000', '--1', '1e', ' 5', '5 ', '-1'])(
    'refuses %j for --demand (Number() reads some of them as 0, 16, 3, 7 or 1e308)',
    (raw) => {
      const r = checkNumberFlag('--demand', raw, demand);
      expect(r.problem).toMatchObject({ code: 'HR_USAGE', path: '--demand', value: raw, allowed: '0..1000000000 rps' });
    },
  );

  it.each([
    ['0', 0],
    ['900', 900],
    ['1e9', 1e9],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['+7', 7],
  ])('reads %j as %d', (raw, x) => expect(parseNumberFlag('--demand', raw, demand)).toBe(x));

  it('applies whole-number and exclusive bounds, and says so', () => {
    expect(() => parseNumberFlag('--port', '1.5', { min: 0, max: 65535, int: true })).toThrow(
      /--port: not a whole number \(value: "1.5"; allowed: a whole number 0..65535\)/,
    );
    expect(() => parseNumberFlag('--peak', '0', { min: 0, minExclusive: true, max: 10 })).toThrow(/> 0 and <= 10/);
    expect(parseNumberFlag('--peak', undefined, { min: 0, max: 1 })).toBeUndefined();
  });

  it('loadtest reports every bad flag together through the same parser', () => {
    const raw = {
      sloLatencyMs: '1e308',
      sloPercentile: '99',
      startRps: '0x10',
      factor: '1.5',
      maxRps: '10000',
      warmup: '',
      hold: '5',
      refine: '3',
      cooldown: '0.5',
      maxErrorRate: '1',
      maxDuration: '300',
      maxRequests: '1000000',
      maxInFlight: '512',
      timeout: '5000',
      lateMs: '10',
      probeRequests: '20',
      method: 'GET',
      header: [],
      progress: false,
    };
    try {
      parseConfig('http://127.0.0.1:1/', raw as unknown as Parameters<typeof parseConfig>[1]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(HeadroomError);
      const paths = (err as HeadroomError).problems.map((p) => p.path);
      expect(paths).toEqual(expect.arrayContaining(['--slo-latency-ms', '--start-rps', '--warmup']));
    }
  });
});
