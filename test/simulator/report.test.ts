// The comparison sentence of `simulate --report`: the sign lives in the word, in both directions
// (the report once said "Headroom is -3.4 % dearer" where the terminal said "3.4 % dearer").
import { describe, expect, it } from 'vitest';
import { simulateText } from '../../src/cli/simulate.ts';
import { renderReport, savingsText } from '../../src/simulator/report.ts';
import type { SimulationResult } from '../../src/simulator/run.ts';

function result(savings: number): SimulationResult {
  const best = { label: 'hpa 80 %', replicaSeconds: 36_000, sloViolationSeconds: 12 };
  return {
    service: 'api',
    trace: { source: 't.csv', seconds: 3600, rowSeconds: 60, peakRps: 100, meanRps: 50 },
    startupSeconds: 30,
    scrapeSeconds: 15,
    reads: 'arrivals',
    policies: [],
    comparisons: [{ baseline: 'hpa', bestAtEqualViolations: best, savings, noSettingAsGood: false }],
  };
}

describe('savings sentence', () => {
  it('is the same words in the terminal and the report, in both directions', () => {
    for (const [savings, words] of [
      [-0.034, '3.4 % dearer'],
      [0.25, '25.0 % cheaper'],
    ] as const) {
      expect(savingsText(savings)).toBe(words);
      const html = renderReport(result(savings), { charts: '' });
      expect(html).toContain(`Headroom is ${words}.`);
      expect(simulateText(result(savings))).toContain(`headroom vs hpa: ${words} than hpa 80 %`);
    }
    expect(renderReport(result(-0.034), { charts: '' })).not.toContain('-3.4');
  });
});
