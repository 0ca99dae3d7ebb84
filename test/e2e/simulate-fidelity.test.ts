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
import { DEFAULT_CONFIG, jsonLine, runFidelity, type FidelityConfig, type FidelityRun } from './support/fidelity.ts';
import { traceCap } from '../../src/local/traffic.ts';

/** Instance-seconds: simulated ÷ measured must be in [1 − TOLERANCE, 1 + TOLERANCE]. */
const TOLERANCE = 0.15;

const meanOver = (xs: ReadonlyArray<{ instances: number }>, from: number, to: number): number => {
  const w = xs.slice(Math.max(0, from), to);
  return w.reduce((a, s) => a + s.instances, 0) / w.length;
};

/** One fidelity run in a temporary directory, removed afterwards. */
async function fidelityInTemp(cfg: FidelityConfig): Promise<FidelityRun> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-fidelity-test-'));
  try {
    return await runFidelity(cfg, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('simulate fidelity: simulator vs the real local cluster', () => {
  it(
    `instance-seconds within ±${TOLERANCE * 100} % of the measured, and both scale up on the peak`,
    { timeout: 175_000 },
    async () => {
      const r = await fidelityInTemp({ ...DEFAULT_CONFIG, fromRow: 3 * 1440 + 14 * 24, rows: 30 });
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
      // Poisson arrivals: the count varies around Σ rps (σ = √Σ); the run's cap is Σ + 6σ (traceCap).
      expect(m.requests).toBeLessThanOrEqual(traceCap(r.trace, undefined, 'poisson'));
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

  // Issue 15: the burst path learns from a first flash crowd how far a burst goes on and sizes the
  // second at its first sight for that (src/core/burst.ts). The real cluster must do what the
  // simulator predicts: close instance-seconds, and more instances over the second crowd's rise
  // than over the first's, in both. Rows of 4 s, rescaled to a 700-rps peak: quiet 60, a crowd rising
  // 250 → 450 → 700 over 16 s and holding 16 s, 80 s quiet (the episode is scored 60 s after its
  // first sight and ends 60 s after the last burst), the same crowd again.
  it(
    'two flash crowds: the second is sized at first sight for how far the first went, in both',
    { timeout: 300_000 },
    async () => {
      const quiet = (n: number): number[] => Array.from({ length: n }, () => 60);
      const crowd = [250, 250, 450, 450, 700, 700, 700, 700];
      const rowsRps = [...quiet(6), ...crowd, ...quiet(20), ...crowd, ...quiet(3)];
      const starts = [6 * 4, (6 + crowd.length + 20) * 4];
      const r = await fidelityInTemp({ ...DEFAULT_CONFIG, rowsRps, rows: rowsRps.length, peak: 700 });
      const c = r.comparison;
      const m = r.measured;
      console.log(jsonLine(r));
      expect(m.exitCode, m.stderr).toBe(0);
      expect(c.seconds).toBe(rowsRps.length * 4);

      // The simulator, second by second: the most instances in each crowd's first 10 s, before its
      // 450-rps step shows. The first crowd is chased step by step (2 for its 250-rps step), the
      // second is asked for at its first sight, ~5 s in (4, what 700 rps needs).
      const secs = r.predicted.seconds;
      const peakWithin = (from: number): number => Math.max(...secs.slice(from, from + 10).map((x) => x.instances));
      const predicted = { first: peakWithin(starts[0]!), second: peakWithin(starts[1]!) };
      // The real run, by its own ticks (one a second, each with the rate the traffic sends and the
      // count asked for): what the first scale-up in each crowd asks for. Timing-free on purpose:
      // on a loaded machine the second crowd's 4 was asked for 9.3 s in, not 5 (CI, stop 30).
      // `headroom run --json`: one object per line (tick, event, …), parsed once for both checks.
      const lines = m.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { type: string; targetRps?: number; desired?: number; message?: string });
      const ticks = lines.filter((o) => o.type === 'tick' && o.targetRps !== undefined && o.desired !== undefined);
      const firstUps: number[] = [];
      for (let i = 1, base = -1; i < ticks.length; i++) {
        const [prev, t] = [ticks[i - 1]!, ticks[i]!];
        if (t.targetRps! >= 200 && prev.targetRps! < 200) base = prev.desired!; // a crowd begins
        if (base >= 0 && t.desired! > base) {
          firstUps.push(t.desired!);
          base = -1;
        }
      }
      const measured = { first: firstUps[0] ?? NaN, second: firstUps[1] ?? NaN };
      console.log(JSON.stringify({ predicted, measured, firstUps }));
      expect(firstUps).toHaveLength(2);
      for (const [name, x] of Object.entries({ predicted, measured })) {
        expect(x.second, name).toBeGreaterThanOrEqual(x.first + 2);
      }
      // The real run says why: a Burst decision naming what the first crowd taught.
      const messages = lines.filter((o) => o.type === 'event').map((o) => o.message ?? '');
      expect(
        messages.filter((x) => /as it may go on, [\d.]+ rps \(.*\): the last burst rose to/.test(x)).length,
      ).toBeGreaterThan(0);

      // Measured 0.86–0.95 here, once 0.77 on a loaded machine: on steps this large the real service
      // runs slower than its spec, and calibration (rightly) sizes with longer service times than the
      // simulator is told. Since calibration reads the time a slot is held at the balancer (hop
      // included) apart from the wait: 0.83–0.84, scale 1.15 (was 1.09); since the balancer's reads
      // stall its event loop 2.9 ms a tick, not 25.6 (docs/benchmarks.md): 0.81–0.86, scale
      // 1.08–1.16. The floor is on the ratio corrected by the largest scale the real run sized with,
      // as its own Calibrated reasons say.
      const scales = messages.flatMap((x) => {
        const s = /sizing with a service time of [\d.]+ ms \(([\d.]+)× the spec's\)/.exec(x);
        return s ? [Number(s[1])] : [];
      });
      const scale = Math.max(1, ...scales);
      console.log(JSON.stringify({ ratio: c.ratio, calibratedScale: scale }));
      expect(c.ratio * scale).toBeGreaterThan(0.8);
      expect(c.ratio).toBeLessThan(1 + TOLERANCE);
    },
  );
});
