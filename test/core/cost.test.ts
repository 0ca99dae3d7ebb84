import { describe, expect, it } from 'vitest';
import {
  HOURS_PER_MONTH,
  formatMoney,
  formatMoneyDelta,
  instanceHourCost,
  instanceSecondsCost,
  monthlyCost,
  perMonth,
} from '../../src/core/cost.ts';

const GiB = 2 ** 30;
const perResource = { currency: 'USD', cpuHour: 0.0316, memoryGiBHour: 0.0042 };
const half = { cpuMillis: 500, memoryBytes: GiB };

describe('cost of instances', () => {
  it('the worked example: 4 × (0.5 CPU × 0.0316 + 1 GiB × 0.0042) × 730 h = 58.4 USD/month', () => {
    expect(HOURS_PER_MONTH).toBe(730);
    expect(instanceHourCost(perResource, half)).toBeCloseTo(0.02, 12);
    expect(monthlyCost(perResource, half, 4)).toBeCloseTo(58.4, 9);
  });

  it('per resource: CPU in cores of the request, memory in GiB (2^30 bytes), each alone', () => {
    // 2 cores, 4 GiB: 2 × 0.0316 + 4 × 0.0042 = 0.0632 + 0.0168 = 0.08
    expect(instanceHourCost(perResource, { cpuMillis: 2000, memoryBytes: 4 * GiB })).toBeCloseTo(0.08, 12);
    // 256Mi at 0.0042/GiB-hour only: 0.25 × 0.0042 = 0.00105
    expect(instanceHourCost({ currency: 'USD', memoryGiBHour: 0.0042 }, { memoryBytes: 256 * 2 ** 20 })).toBeCloseTo(
      0.00105,
      12,
    );
    expect(instanceHourCost({ currency: 'USD', cpuHour: 0.0316 }, half)).toBeCloseTo(0.0158, 12);
  });

  it('per instance: the size does not matter; 4 × 0.05 × 730 = 146', () => {
    const p = { currency: 'EUR', instanceHour: 0.05 };
    expect(instanceHourCost(p, {})).toBe(0.05);
    expect(instanceHourCost(p, { cpuMillis: 64_000, memoryBytes: 256 * GiB })).toBe(0.05);
    expect(monthlyCost(p, {}, 4)).toBeCloseTo(146, 9);
    expect(monthlyCost(p, {}, 0)).toBe(0);
  });

  it('instance-seconds (a simulation) and scaling a span to a month', () => {
    // one day of 4 instances = 345,600 instance-seconds = 96 instance-hours × 0.02 = 1.92 USD
    const day = instanceSecondsCost(perResource, half, 4 * 86_400);
    expect(day).toBeCloseTo(1.92, 12);
    // a day's cost × 730 h / 24 h = the monthly cost of 4 instances
    expect(perMonth(day, 86_400)).toBeCloseTo(58.4, 9);
    expect(perMonth(5, 0)).toBe(0);
  });

  it('money has two decimals and its currency; a difference carries its sign', () => {
    expect(formatMoney(58.4, 'USD')).toBe('58.40 USD');
    expect(formatMoney(1234.567, 'EUR')).toBe('1,234.57 EUR');
    expect(formatMoneyDelta(12.3, 'USD')).toBe('+12.30 USD');
    expect(formatMoneyDelta(-4, 'USD')).toBe('−4.00 USD');
    expect(formatMoneyDelta(0.001, 'USD')).toBe('0.00 USD');
  });
});
