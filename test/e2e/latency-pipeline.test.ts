// Issue 13 item 4, time-compressed: the whole pipeline a user runs, on real processes, for a
// service whose times are not exponential. `headroom loadtest` against one instance of the example
// service (fixed 20 ms, sleep mode, CONCURRENCY 1) → a profile with the probe's distribution →
// `headroom plan --json` from that profile (M/G, the profile named as the distribution's source) →
// `headroom run --traffic` at the demand with the planned count held (min = max = initialReplicas):
// the p99 the balancer measures after a 6-s warm-up must meet the SLO, be at most 25 % above the
// plan's predicted p99 (the model must not be optimistic) and at least 70 % of it (not pessimistic).
// `headroom run` sends Poisson arrivals, as the model assumes: bench/pipeline.ts measured 1.04 for
// this case (2026-12-04). With evenly spread arrivals (`--arrivals even`, the old default) the
// same case measured 0.59–0.74, which is why this bound was 0.5 before. Without the distribution,
// M/M/c predicts about 3.5× the measured p99 (a ratio of ~0.29, which this bound fails;
// docs/benchmarks.md, "Poisson arrivals").
// bench/pipeline.ts runs the same for four distributions and for the count below (docs/benchmarks.md,
// "Latency model: real processes").
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CASES, DEFAULT_CONFIG, runCase, type PipelineConfig } from '../../bench/pipeline.ts';

const OVER = 0.25;
const UNDER = 0.3;

// A short loadtest: a probe of up to 1,000 requests or 20 s (~950; with --max-duration 60 it got 6 s,
// ~290 requests, and its p99.9 was one sample's luck),
// 2-s steps from 25 rps (one instance serves ~48), one bisection (~20 s); then 6 s of warm-up
// and 25 s measured at 110 rps.
const CONFIG: PipelineConfig = {
  ...DEFAULT_CONFIG,
  seconds: 25,
  loadtestArgs: [
    '--probe-requests',
    '1000',
    '--start-rps',
    '25',
    '--factor',
    '1.25',
    '--warmup',
    '0.5',
    '--hold',
    '2',
    '--refine',
    '1',
    '--cooldown',
    '0.3',
    '--max-duration',
    '200',
    '--max-requests',
    '10000',
  ],
};

describe('latency model through the pipeline: loadtest → profile → plan → run', () => {
  it(
    `fixed service time: at the planned count the balancer's p99 meets the SLO and is within −${UNDER * 100} % / +${OVER * 100} % of the plan's`,
    { timeout: 200_000 },
    async () => {
      const fixed = CASES.find((c) => c.name === 'fixed')!;
      const dir = mkdtempSync(join(tmpdir(), 'headroom-latency-pipeline-'));
      const r = await runCase(fixed, CONFIG, dir, { below: false });

      // The probe measured the distribution and the profile carries it.
      expect(r.loadtest.partial).toBe(false);
      expect(r.loadtest.probe.distribution?.stable).toBe(true);
      expect(r.loadtest.predictedKneeModel).toBe('M/G/c');
      expect(r.loadtest.concurrency).toBe(1);
      // c from the throughput ceiling (the steps go past one instance's ~48 rps), so `headroom run`
      // holds requests at its balancer for that one slot: the M/G/(N·1) the plan sizes.
      expect(r.loadtest.fitMethod).toBe('saturation');

      // plan from the profile: M/G, the probe's distribution named as the source, latency binding.
      const latency = r.plan.reasons.find((x) => x.constraint === 'latency')?.detail ?? '';
      expect(latency).toMatch(/M\/G\/\(N·1\)/);
      expect(latency).toMatch(/service p50\/p99\/p99\.9 .*, measured by the loadtest probe/);
      expect(r.plan.binding).toBe('latency');
      expect(r.plan.replicas).toBeGreaterThanOrEqual(2);
      // The true distribution needs 3–4 at this demand and SLO (docs/benchmarks.md); M/M/c would plan 3
      // with a predicted p99 of ~150 ms, i.e. call the SLO unreachable at 3.
      expect(r.plan.replicas).toBeLessThanOrEqual(4);
      // Without the distribution (M/M/c) the same spec predicts a far longer p99 at that count.
      const predicted = r.plan.predicted.latencyMs!;
      expect(predicted).toBeGreaterThan(0);
      expect(predicted).toBeLessThanOrEqual(fixed.sloMs);

      // The run held the planned count, served every request, and measured enough of them.
      expect(r.at.exitCode).toBe(0);
      expect(r.at.queue).toBe('balancer');
      expect(r.at.errors).toBe(0);
      expect(r.at.dropped).toBe(0);
      expect(r.at.requests).toBeGreaterThanOrEqual(0.95 * CONFIG.demandRps * (CONFIG.warmupSeconds + CONFIG.seconds));
      // The model is a steady state: the p99 over the measured part, after the warm-up.
      const steady = r.at.steady!;
      expect(steady.requests).toBeGreaterThanOrEqual(0.9 * CONFIG.demandRps * (CONFIG.seconds - 1));
      const measured = steady.p99Ms;
      const detail = `predicted ${predicted} ms, measured ${measured} ms (p50 ${steady.p50Ms}, mean ${steady.meanMs}, max ${steady.maxMs}; whole run p99 ${r.at.p99Ms})`;
      // Printed on a pass too: CI's log then shows how near the bound a run came.
      console.log(`measured ÷ predicted ${(measured / predicted).toFixed(3)}: ${detail}`);
      expect(measured / predicted, detail).toBeGreaterThanOrEqual(1 - UNDER);
      expect(measured / predicted, detail).toBeLessThanOrEqual(1 + OVER);
      expect(measured, detail).toBeLessThanOrEqual(fixed.sloMs);
    },
  );
});
