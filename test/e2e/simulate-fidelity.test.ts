// Simulator fidelity (issue 7): the same 2-minute trace slice (the NASA launch-day crowd, a row
// every 4 s, peak 700 rps) through `headroom simulate`'s headroom policy and through the real local
// cluster (`headroom run --traffic`, real processes). The simulator's instance-seconds must be
// within ±15 % of the measured ones, both must scale up on the trace's peak, and the CLI must print
// the same prediction as the library (harness: ./support/fidelity.ts). Bounds come from bench/fidelity.ts runs (docs/benchmarks.md,
// "simulate fidelity": errors of 1–2 %), widened for a loaded 2-core machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, jsonLine, runFidelity, type FidelityRun } from './support/fidelity.ts';

/** Instance-seconds: simulated ÷ measured must be in [1 − TOLERANCE, 1 + TOLERANCE]. */
const TOLERANCE = 0.15;

const meanOver = (xs: ReadonlyArray<{ instances: number }>, from: number, to: number): number => {
  const w = xs.slice(Math.max(0, from), to);
  return w.reduce((a, s) => a + s.instances, 0) / w.length;
};

describe('simulate fidelity: simulator vs the real local cluster', () => {
  it(
    `instance-seconds within ±${TOLERANCE * 100} % of the measured, and both scale up on the peak`,
    { timeout: 175_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'headroom-fidelity-test-'));
      let r: FidelityRun;
      try {
        r = await runFidelity({ ...DEFAULT_CONFIG, fromRow: 3 * 1440 + 14 * 24, rows: 30 }, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const c = r.comparison;
      const m = r.measured;
      // The numbers behind a failure (and for tuning the bounds).
      console.log(jsonLine(r));
      expect(m.exitCode, m.stderr).toBe(0);
      expect(c.seconds).toBe(120);

      // The real run sent the trace (open loop; a few may be dropped while the pool is overloaded).
      let asked = 0;
      for (const v of r.trace.rps) asked += v;
      expect(m.requests).toBeGreaterThan(0.9 * asked);
      expect(m.requests).toBeLessThanOrEqual(Math.ceil(asked));
      expect(m.errors).toBeLessThan(0.01 * m.requests);

      // The CLI a user runs predicts exactly what the bench's library call does.
      expect(r.simulateCliInstanceSeconds).toBe(c.instanceSecondsPredicted);

      expect(c.ratio).toBeGreaterThan(1 - TOLERANCE);
      expect(c.ratio).toBeLessThan(1 + TOLERANCE);
      expect(c.meanAbsError).toBeLessThan(0.5);

      // Both scale up on the trace's peak: at least two instances more than at the start, and more
      // instances around the peak second than in the first 10 s.
      const demand = r.predicted.seconds.map((s) => s.demand);
      const peakAt = demand.indexOf(Math.max(...demand));
      for (const [name, secs, peak] of [
        ['predicted', r.predicted.seconds, c.peakPredicted],
        ['measured', m.seconds, c.peakMeasured],
      ] as const) {
        expect(peak, name).toBeGreaterThanOrEqual(c.initial + 2);
        expect(meanOver(secs, peakAt - 5, peakAt + 15), name).toBeGreaterThan(meanOver(secs, 0, 10) + 1);
      }
    },
  );
});
