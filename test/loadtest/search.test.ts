// The schedule math of the capacity search: step rates, budgets, judging a step, and the search
// itself against a fake target (a fake clock and a modelled step runner, no network).
import { describe, expect, it } from 'vitest';
import { newHistogram, type StepMeasurement } from '../../src/loadtest/generator.ts';
import {
  fitStepToBudget,
  judgeStep,
  noStepReason,
  searchCapacity,
  stepRates,
  type SearchPlan,
  type StepRunner,
} from '../../src/loadtest/search.ts';

function measurement(rate: number, latMs: number[], extra: Partial<StepMeasurement> = {}): StepMeasurement {
  const h = newHistogram();
  for (const l of latMs) h.recordValue(Math.round(l * 1000));
  return {
    targetRps: rate,
    warmupS: 0,
    holdS: 1,
    scheduled: latMs.length,
    sent: latMs.length,
    completed: latMs.length,
    errors: 0,
    dropped: 0,
    late: 0,
    totalSent: latMs.length,
    achievedRps: rate,
    sentRps: rate,
    histogram: h,
    errorKinds: {},
    statusCounts: { '200': latMs.length },
    ...extra,
  };
}

describe('stepRates', () => {
  it('geometric: 100 · 1.25^k up to and including the max', () => {
    const r = stepRates({ startRps: 100, factor: 1.25, maxRps: 250 });
    expect(r.map((x) => Math.round(x * 100) / 100)).toEqual([100, 125, 156.25, 195.31, 244.14, 250]);
  });
  it('linear with --increment-rps', () => {
    expect(stepRates({ startRps: 50, factor: 2, incrementRps: 50, maxRps: 200 })).toEqual([50, 100, 150, 200]);
  });
  it('start = max is one step', () => {
    expect(stepRates({ startRps: 10, factor: 2, maxRps: 10 })).toEqual([10]);
  });
});

describe('fitStepToBudget', () => {
  it('runs the full step when the budgets cover it', () => {
    expect(fitStepToBudget(100, 1, 4, 100, 10_000)).toEqual({ warmupS: 1, holdS: 4 });
  });
  it('shortens the hold to what is left (0.5 s margin), down to half', () => {
    expect(fitStepToBudget(100, 1, 4, 3.5, 10_000)).toEqual({ warmupS: 1, holdS: 2 });
    expect(fitStepToBudget(100, 1, 4, 3.4, 10_000)).toEqual({ stop: 'max-duration' });
  });
  it('stops when the request budget cannot cover half the hold', () => {
    // 100 rps × (1 + 2) s = 300 requests at least.
    expect(fitStepToBudget(100, 1, 4, 100, 350)).toEqual({ warmupS: 1, holdS: 2.5 });
    expect(fitStepToBudget(100, 1, 4, 100, 299)).toEqual({ stop: 'max-requests' });
  });
});

describe('judgeStep', () => {
  const slo = { latencyMs: 100, percentile: 99 };
  it('meets the SLO when the percentile and the error rate are within limits', () => {
    const lat = Array.from({ length: 1000 }, (_, i) => 10 + (i % 50));
    const r = judgeStep(measurement(100, lat), slo, 0.01, 'step');
    expect(r.sloMet).toBe(true);
    expect(r.latencyMs.p50).toBeCloseTo(34, 1); // 10..59 ms uniform: the 500th of 1000 is 34
    expect(r.latencyMs.max).toBeCloseTo(59, 1);
    expect(r.latencyMs.p999).toBeLessThanOrEqual(r.latencyMs.max);
    expect(r.meanMs).toBeCloseTo(34.5, 0);
  });
  it('latency breach: 2 % of requests above the SLO at p99', () => {
    const lat = [...Array.from({ length: 980 }, () => 20), ...Array.from({ length: 20 }, () => 500)];
    const r = judgeStep(measurement(100, lat), slo, 0.01, 'step');
    expect(r.sloMet).toBe(false);
    expect(r.breach).toBe('latency');
    expect(r.sloLatencyMs).toBeCloseTo(500, -1);
  });
  it('errors and drops both count against the error-rate limit', () => {
    const lat = Array.from({ length: 990 }, () => 20);
    const ok = judgeStep(measurement(100, lat, { errors: 5, dropped: 4 }), slo, 0.01, 'step');
    expect(ok.errorRate).toBeCloseTo(9 / 994, 9);
    expect(ok.sloMet).toBe(true);
    const bad = judgeStep(measurement(100, lat, { errors: 5, dropped: 6 }), slo, 0.01, 'step');
    expect(bad.breach).toBe('errors');
  });
  it('a step with no response fails', () => {
    const r = judgeStep(measurement(100, [], { sent: 10, errors: 10 }), slo, 0.01, 'step');
    expect(r.breach).toBe('latency+errors');
  });
});

/** A fake target: 10 ms latency up to `capacity`, 1 s above (its queue explodes); a fake clock. */
function fakeTarget(capacity: number) {
  let clock = 0;
  const calls: Array<{ rate: number; holdS: number; maxSends: number; deadline: number }> = [];
  const runStep: StepRunner = (rate, warmupS, holdS, limits) => {
    calls.push({ rate, holdS, maxSends: limits.maxSends, deadline: limits.deadline });
    clock += (warmupS + holdS) * 1000;
    const n = Math.round(rate * holdS);
    const lat = rate <= capacity ? 10 : 1000;
    return Promise.resolve(
      measurement(
        rate,
        Array.from({ length: n }, () => lat),
        { totalSent: Math.round(rate * (warmupS + holdS)), achievedRps: Math.min(rate, capacity), holdS, warmupS },
      ),
    );
  };
  return { runStep, now: () => clock, sleep: () => Promise.resolve(), calls };
}

const plan: SearchPlan = {
  slo: { latencyMs: 100, percentile: 99 },
  startRps: 100,
  factor: 1.25,
  maxRps: 10_000,
  warmupS: 1,
  holdS: 2,
  refine: 3,
  cooldownS: 0,
  errorRateLimit: 0.01,
  maxDurationS: 600,
  maxRequests: 10_000_000,
};

describe('searchCapacity', () => {
  it('steps up to the first breach, then bisects: 100, 125, 156.3, 195.3, 244.1 ✗, 219.7 ✗, 207.5 ✓, 213.6 ✗', async () => {
    const t = fakeTarget(210);
    const res = await searchCapacity(plan, t);
    expect(t.calls.map((c) => Math.round(c.rate * 10) / 10)).toEqual([
      100, 125, 156.3, 195.3, 244.1, 219.7, 207.5, 213.6,
    ]);
    expect(res.kneeRps).toBeCloseTo(207.52, 1);
    expect(res.firstBadRps).toBeCloseTo(213.62, 1);
    expect(res.stopReason).toBe('slo');
    expect(res.partial).toBe(false);
    expect(res.steps.filter((s) => s.phase === 'refine')).toHaveLength(3);
  });

  it('stops refining once the gap is within 2 %', async () => {
    const res = await searchCapacity({ ...plan, refine: 20 }, fakeTarget(210));
    const gap = (res.firstBadRps! - res.kneeRps) / res.kneeRps;
    expect(gap).toBeLessThanOrEqual(0.02);
    expect(res.steps.length).toBeLessThan(15);
  });

  it('reports max-rps (not partial) when the SLO holds up to --max-rps: the knee is a lower bound', async () => {
    const res = await searchCapacity({ ...plan, maxRps: 180 }, fakeTarget(1000));
    expect(res.stopReason).toBe('max-rps');
    expect(res.kneeRps).toBe(180);
    expect(res.partial).toBe(false);
    expect(res.kneeIsLowerBound).toBe(true);
    expect(res.firstBadRps).toBeUndefined();
  });

  it('a knee below a failing step is not a lower bound; one cut short before any failure is', async () => {
    expect((await searchCapacity(plan, fakeTarget(210))).kneeIsLowerBound).toBe(false);
    const cut = await searchCapacity({ ...plan, maxDurationS: 10 }, fakeTarget(1e9));
    expect(cut.partial).toBe(true);
    expect(cut.kneeIsLowerBound).toBe(true);
    // No rate met the SLO: no knee at all, so nothing to bound.
    expect((await searchCapacity({ ...plan, startRps: 500 }, fakeTarget(100))).kneeIsLowerBound).toBe(false);
  });

  it("measures the generator's own CPU per step (CPU time ÷ wall time) and keeps the busiest", async () => {
    const t = fakeTarget(210);
    // The fake generator burns 2 ms (2000 µs) of CPU per request: 0.2 cores at 100 rps, 0.49 at 244 rps.
    let cpuUs = 0;
    const runStep: StepRunner = (rate, warmupS, holdS, limits) => {
      cpuUs += rate * (warmupS + holdS) * 2000;
      return t.runStep(rate, warmupS, holdS, limits);
    };
    const res = await searchCapacity(plan, { ...t, runStep, cpuTimeUs: () => cpuUs });
    const cores = res.steps.map((s) => s.generatorCpuCores);
    expect(cores[0]).toBeCloseTo(0.2, 3);
    expect(cores[4]).toBeCloseTo(0.488, 3); // 244.1 rps, the busiest
    expect(res.generatorCpuCores).toBe(Math.max(...cores.map((c) => c ?? 0)));
    expect(res.generatorCpuCores).toBeCloseTo(0.488, 3);
    // Without a CPU clock nothing is recorded.
    const plain = await searchCapacity(plan, fakeTarget(210));
    expect(plain.generatorCpuCores).toBeUndefined();
    expect(plain.steps[0]).not.toHaveProperty('generatorCpuCores');
  });

  it('--max-duration: stops before a step that does not fit, partial, never past the deadline', async () => {
    const t = fakeTarget(1e9);
    const res = await searchCapacity({ ...plan, maxDurationS: 10 }, t);
    // 3 s per step, 0.5 s margin: 3 steps (9 s), the 4th would need 1 + 1 s of the 1 s left.
    expect(t.calls).toHaveLength(3);
    expect(res.stopReason).toBe('max-duration');
    expect(res.partial).toBe(true);
    expect(res.elapsedS).toBeLessThanOrEqual(10);
    expect(t.calls.every((c) => c.deadline === 10_000)).toBe(true);
  });

  it('--max-requests: the generator gets the remaining budget, the search stops when it runs out', async () => {
    const t = fakeTarget(1e9);
    const res = await searchCapacity(
      { ...plan, maxRequests: 1000, startRps: 100, factor: 2 },
      { ...t, requestsUsed: 21 },
    );
    // 300 + 600 requests fit in 979; the next step (400 rps × ≥ 2 s) does not.
    expect(t.calls.map((c) => c.maxSends)).toEqual([979, 679]);
    expect(res.stopReason).toBe('max-requests');
    expect(res.requestsSent).toBeLessThanOrEqual(1000);
  });

  it('an abort before a step stops the search and marks it partial', async () => {
    const ac = new AbortController();
    const t = fakeTarget(1e9);
    const res = await searchCapacity(plan, {
      ...t,
      signal: ac.signal,
      onStep: (_r, i) => {
        if (i === 1) ac.abort();
      },
    });
    expect(res.steps).toHaveLength(2);
    expect(res.stopReason).toBe('aborted');
    expect(res.partial).toBe(true);
    expect(res.kneeRps).toBe(125);
  });

  it('a breach at the first step gives knee 0', async () => {
    const res = await searchCapacity({ ...plan, startRps: 500 }, fakeTarget(100));
    expect(res.kneeRps).toBe(0);
    expect(res.firstBadRps).toBe(500);
    expect(res.steps).toHaveLength(1);
  });
});

describe('noStepReason: a budget that stops the search before its first step', () => {
  const plan = { warmupS: 2, holdS: 5, startRps: 10, maxDurationS: 5, maxRequests: 30 };
  it('names the flag and the numbers: what a step needs, what was left', () => {
    // fitStepToBudget's rule: the warm-up + at least half the hold (≥ 1 s) + 0.5 s to drain.
    expect(fitStepToBudget(10, 2, 5, 4.97, 1e9)).toEqual({ stop: 'max-duration' });
    expect(noStepReason(plan, 'max-duration', 4.97, 29)).toBe(
      'no step fit in --max-duration 5 s: a step takes its --warmup 2 s + at least 2.5 s of its 5 s --hold + 0.5 s to drain = 5 s, and 4.97 s were left after the probe; raise --max-duration or shorten --warmup/--hold',
    );
    expect(noStepReason(plan, 'max-requests', 4.5, 29)).toBe(
      'no step fit in --max-requests 30: the first step (10 rps for its --warmup 2 s + at least 2.5 s of its 5 s --hold) sends 45 requests, and 29 were left after the probe; raise --max-requests or lower --start-rps',
    );
    expect(noStepReason(plan, 'aborted', 4, 29)).toBe('interrupted before the first step');
  });
});
