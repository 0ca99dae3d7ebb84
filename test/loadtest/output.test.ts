// Output formatting: the --json result, the capacity profile, step lines, the table, the HTML report.
import { describe, expect, it } from 'vitest';
import { capacityProfileSchema } from '../../src/input/profile.ts';
import {
  buildProfile,
  buildResult,
  generatorCpuWarning,
  isLocalHost,
  probeDistributionWarning,
} from '../../src/loadtest/output.ts';
import { renderTable, stepLine, summaryLines } from '../../src/loadtest/output-text.ts';
import { serviceTimeStats } from '../../src/loadtest/service-time.ts';
import { loadReportAssets, renderReport } from '../../src/loadtest/report.ts';
import type { SearchResult, StepResult } from '../../src/loadtest/search.ts';

function stepResult(targetRps: number, achievedRps: number, p99: number, sloMet: boolean): StepResult {
  return {
    phase: 'step',
    targetRps,
    achievedRps,
    sent: Math.round(targetRps * 2),
    completed: Math.round(targetRps * 2),
    errors: 0,
    dropped: 0,
    late: 1,
    warmupS: 0.5,
    holdS: 2,
    latencyMs: { p50: 20.123456, p90: 21, p99, p999: p99 + 1, max: p99 + 2 },
    meanMs: 20.5,
    sloLatencyMs: p99,
    sloMet,
    errorRate: 0,
    errorKinds: {},
    statusCounts: { '200': Math.round(targetRps * 2) },
    ...(sloMet ? {} : { breach: 'latency' as const }),
  };
}

const search: SearchResult = {
  steps: [stepResult(100, 99.5, 30, true), stepResult(156.25, 155, 40, true), stepResult(244.140625, 190, 900, false)],
  kneeRps: 156.25,
  firstBadRps: 244.140625,
  stopReason: 'slo',
  partial: false,
  kneeIsLowerBound: false,
  refineCut: false,
  requestsSent: 1200,
  elapsedS: 9.87654,
};

const base = {
  target: 'http://127.0.0.1:8080/work',
  method: 'GET',
  measuredAt: new Date('2026-11-25T12:00:00Z'),
  slo: { latencyMs: 100, percentile: 99 },
  errorRateLimit: 0.01,
  search,
  fit: {
    serviceTimeMs: 20.0123456,
    concurrency: 4,
    capacityRps: 199.876,
    method: 'saturation' as const,
    predictedKneeRps: 167.9,
    model: 'M/M/c' as const,
    serviceTimeCv: 1,
  },
  probe: { meanMs: 21.2345, samples: 20, statuses: { '200': 21 }, firstMs: 3, latenciesMs: [] },
};

describe('buildResult (--json)', () => {
  it('carries the knee, the fit and the steps, rounded', () => {
    const r = buildResult(base);
    expect(r.kneeRps).toBe(156.25);
    expect(r.firstBadRps).toBe(244.14);
    expect(r.serviceTimeMs).toBe(20.012);
    expect(r.concurrency).toBe(4);
    expect(r.steps).toHaveLength(3);
    expect(r.steps[0]!.latencyMs.p50).toBe(20.123);
    expect(r.measuredAt).toBe('2026-11-25T12:00:00.000Z');
    expect(r.elapsedS).toBe(9.88);
  });
  it('null fit fields when there is no fit', () => {
    const r = buildResult({ ...base, fit: undefined });
    expect(r.serviceTimeMs).toBeNull();
    expect(buildProfile(r)).toBeUndefined();
  });
});

describe('buildProfile', () => {
  it('is a valid capacity profile with only the profile fields per step', () => {
    const p = buildProfile(buildResult(base))!;
    expect(capacityProfileSchema.parse(p)).toEqual(p);
    expect(p.kind).toBe('headroom.dev/capacity-profile/v1');
    expect(p.kneeRps).toBe(156.25);
    expect(p.concurrency).toBe(4);
    expect(p.steps[0]).not.toHaveProperty('errorKinds');
    expect(p.steps[0]!.meanMs).toBe(20.5);
    expect(p.partial).toBeUndefined();
  });
  it('none when no rate met the SLO or no step ran, though the probe fitted a service time', () => {
    // The probe's mean alone gave serviceTimeMs and an assumed concurrency 1: plan sized 1000 rps
    // at 24 instances from such a profile, where the measured 4 slots need 6.
    const single = { ...base.fit, concurrency: 1, method: 'single-step' as const };
    const noKnee = { ...search, kneeRps: 0, steps: [stepResult(50, 49, 900, false)], firstBadRps: 50 };
    expect(buildProfile(buildResult({ ...base, fit: single, search: noKnee }))).toBeUndefined();
    const noStep = { ...search, kneeRps: 0, steps: [], partial: true, stopReason: 'max-duration' as const };
    expect(buildProfile(buildResult({ ...base, fit: single, search: noStep }))).toBeUndefined();
  });
  it('marks a partial run', () => {
    const p = buildProfile(buildResult({ ...base, search: { ...search, partial: true, stopReason: 'aborted' } }))!;
    expect(p.partial).toBe(true);
  });
});

describe('the probe distribution in the result and the profile', () => {
  // 400 sequential latencies around 20 ms (20.0 … 21.995 ms, µs steps of 5).
  const latencies = Array.from({ length: 400 }, (_, i) => 20 + (i * 5) / 1000);
  const probe = { meanMs: 20.9975, samples: 400, statuses: { '200': 401 }, firstMs: 3, latenciesMs: latencies };
  const mgFit = { ...base.fit, model: 'M/G/c' as const, serviceTimeCv: 0.0275 };

  it('writes serviceTime (source probe) when the probe has ≥ 200 samples', () => {
    const st = serviceTimeStats(latencies)!;
    const r = buildResult({ ...base, fit: mgFit, probe, probeStats: st });
    expect(r.probe?.distribution).toMatchObject({ samples: 400, stable: true, cv: st.cv });
    expect(r.predictedKneeModel).toBe('M/G/c');
    const p = buildProfile(r)!;
    expect(capacityProfileSchema.parse(p)).toEqual(p);
    expect(p.serviceTime).toEqual({
      source: 'probe',
      samples: 400,
      meanMs: st.meanMs,
      cv: st.cv,
      quantilesMs: st.quantilesMs,
    });
    expect(p.serviceTime!.quantilesMs.p50).toBeCloseTo(21, 2);
    expect(probeDistributionWarning(r)).toBeUndefined();
    const text = summaryLines(r).join('\n');
    expect(text).toContain(
      `M/G/4 (service CV ${st.cv.toFixed(2)}, measured by the probe) predicts a knee of 167.9 rps`,
    );
    expect(text).toContain(
      'probe: 400 sequential requests, mean 21.0 ms (fitted serviceTimeMs 20.012: the probe is +4.9 %)',
    );
  });

  it('writes no distribution below 200 samples, and says why', () => {
    const few = latencies.slice(0, 199);
    const r = buildResult({
      ...base,
      probe: { ...probe, samples: 199, latenciesMs: few },
      probeStats: serviceTimeStats(few),
    });
    expect(r.probe?.distribution?.stable).toBe(false);
    const p = buildProfile(r)!;
    expect(p).not.toHaveProperty('serviceTime');
    expect(probeDistributionWarning(r)).toContain('199 successful sequential requests, fewer than the 200');
    const text = summaryLines(r).join('\n');
    expect(text).toContain('M/M/4 (exponential service times assumed) predicts a knee of 167.9 rps');
    expect(text).toContain('note: the probe timed 199');
  });

  it('the schema: serviceTime is optional, needs ≥ 200 samples and strictly increasing quantiles', () => {
    const p = buildProfile(buildResult({ ...base, probe, probeStats: serviceTimeStats(latencies) }))!;
    const { serviceTime, ...old } = p;
    expect(capacityProfileSchema.safeParse(old).success).toBe(true);
    const q = serviceTime!.quantilesMs;
    const bad = (st: object) =>
      capacityProfileSchema.safeParse({ ...old, serviceTime: { ...serviceTime, ...st } }).success;
    expect(bad({})).toBe(true);
    expect(bad({ samples: 199 })).toBe(false);
    expect(bad({ quantilesMs: { ...q, p90: q.p50 } })).toBe(false);
    expect(bad({ quantilesMs: { ...q, p999: q.p99 - 1 } })).toBe(false);
    expect(bad({ source: 'spec' })).toBe(false);
    expect(bad({ cv: -0.1 })).toBe(false);
  });
});

describe('a knee that is only a lower bound (--max-rps reached with the SLO still met)', () => {
  // The nginx case: every step up to the default --max-rps 10000 met the SLO.
  const ceiling: SearchResult = {
    ...search,
    steps: [stepResult(6666.67, 6660, 2, true), stepResult(10_000, 9990, 3, true)],
    kneeRps: 10_000,
    stopReason: 'max-rps',
    kneeIsLowerBound: true,
  };
  delete (ceiling as { firstBadRps?: number }).firstBadRps;

  it('is marked in the result, the profile, the summary line and the report', () => {
    const r = buildResult({ ...base, search: ceiling });
    expect(r.kneeIsLowerBound).toBe(true);
    expect(r.firstBadRps).toBeNull();
    const p = buildProfile(r)!;
    expect(capacityProfileSchema.parse(p)).toEqual(p);
    expect(p.kneeIsLowerBound).toBe(true);
    expect(p.partial).toBeUndefined();
    expect(summaryLines(r)[1]).toBe(
      'knee: 10000 rps; stopped by max-rps — LOWER BOUND: --max-rps was reached with the SLO still met; the knee is at least 10000 rps (rerun with a higher --max-rps)',
    );
    expect(renderReport(r, loadReportAssets())).toContain('id="lower-bound">LOWER BOUND');
  });

  it('a knee with a failing step above it is not a lower bound', () => {
    const r = buildResult(base);
    expect(r.kneeIsLowerBound).toBe(false);
    expect(buildProfile(r)!.kneeIsLowerBound).toBe(false);
    expect(summaryLines(r).join('\n')).not.toContain('LOWER BOUND');
    expect(renderReport(r, loadReportAssets())).not.toContain('LOWER BOUND');
  });

  it('the schema keeps it, and profiles written before it still load', () => {
    const p = buildProfile(buildResult({ ...base, search: ceiling }))!;
    const { kneeIsLowerBound, ...old } = p;
    expect(kneeIsLowerBound).toBe(true);
    expect(capacityProfileSchema.parse(old)).not.toHaveProperty('kneeIsLowerBound');
    expect(capacityProfileSchema.safeParse({ ...old, kneeIsLowerBound: 'yes' }).success).toBe(false);
  });
});

describe('the generator competing with the target for cores', () => {
  const withCpu = (cores: number | undefined, host: { cores: number; targetIsLocal: boolean } | undefined) =>
    buildResult({
      ...base,
      search: cores === undefined ? search : { ...search, generatorCpuCores: cores },
      host,
    });

  it("records the busiest step's CPU and the host in the result", () => {
    const r = withCpu(0.83, { cores: 2, targetIsLocal: true });
    expect(r.generatorCpuCores).toBe(0.83);
    expect(r.host).toEqual({ cores: 2, targetIsLocal: true });
    const unmeasured = withCpu(undefined, undefined);
    expect(unmeasured.generatorCpuCores).toBeNull();
    expect(unmeasured.host).toBeNull();
    expect(generatorCpuWarning(unmeasured)).toBeUndefined();
  });

  it('warns with the numbers when a local target shares ≤ 2 cores with a generator above half a core', () => {
    const r = withCpu(0.83, { cores: 2, targetIsLocal: true });
    const w = generatorCpuWarning(r)!;
    expect(w).toContain('used 0.83 of a core in its busiest step, on a machine with 2 cores that also runs the target');
    expect(summaryLines(r)).toContain(`warning: ${w}.`);
    expect(renderReport(r, loadReportAssets())).toContain('id="generator-cpu"');
    expect(generatorCpuWarning(withCpu(0.9, { cores: 1, targetIsLocal: true }))).toContain('with 1 core that');
  });

  it.each([
    ['half a core or less', 0.5, { cores: 2, targetIsLocal: true }],
    ['more than 2 cores', 0.95, { cores: 4, targetIsLocal: true }],
    ['a remote target', 0.95, { cores: 2, targetIsLocal: false }],
  ])('does not warn for %s', (_what, cores, host) => {
    const r = withCpu(cores, host);
    expect(generatorCpuWarning(r)).toBeUndefined();
    expect(summaryLines(r).join('\n')).not.toContain('warning:');
    expect(renderReport(r, loadReportAssets())).not.toContain('id="generator-cpu"');
  });
});

describe('isLocalHost', () => {
  const mine = ['10.1.2.3', 'fe80::1', '127.0.0.1', '::1'];
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    'localhost',
    'LOCALHOST',
    'api.localhost',
    '[::1]',
    '0.0.0.0',
    '[::]',
    '[::ffff:7f00:1]',
    '10.1.2.3',
    '[fe80::1]',
    'box',
  ])('%s is this machine', (h) => expect(isLocalHost(h, mine, 'box')).toBe(true));
  it.each(['10.1.2.4', 'example.com', '[2001:db8::1]', '128.0.0.1', 'localhost.example.com'])('%s is not', (h) =>
    expect(isLocalHost(h, mine, 'box')).toBe(false),
  );
  it('URL host names as the CLI gets them', () => {
    expect(isLocalHost(new URL('http://[::1]:8080/').hostname, [])).toBe(true);
    expect(isLocalHost(new URL('http://[::ffff:127.0.0.1]/').hostname, [])).toBe(true);
    expect(isLocalHost(new URL('http://127.0.0.1:8080/').hostname, [])).toBe(true);
  });
});

describe('stepLine', () => {
  it('is one JSON object per line', () => {
    const line = stepLine(search.steps[2]!, 2);
    expect(line).not.toContain('\n');
    const o = JSON.parse(line) as Record<string, unknown>;
    expect(o).toMatchObject({ event: 'step', index: 2, targetRps: 244.14, sloMet: false, breach: 'latency' });
  });
});

describe('renderTable', () => {
  it('has one row per step, marks the failing step, and prints the knee and the fit', () => {
    const text = renderTable(buildResult(base));
    expect(text).toContain('244.1');
    expect(text).toContain('FAIL latency');
    expect(text.match(/│ ok/g)).toHaveLength(2);
    expect(text).toContain('knee: 156.3 rps (first failing rate 244.1 rps); stopped by slo');
    expect(text).toContain('serviceTimeMs 20.012, concurrency 4');
  });
  it('says when the knee is only a lower bound', () => {
    const r = buildResult({ ...base, search: { ...search, partial: true, stopReason: 'max-duration' } });
    expect(summaryLines(r).join('\n')).toContain('PARTIAL');
  });
});

describe('renderReport', () => {
  const assets = loadReportAssets();
  it('inlines uPlot and the data; no external resources', () => {
    const html = renderReport(buildResult(base), assets);
    expect(html).toContain(assets.uplotJs.slice(0, 200));
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).toContain('"p999":[31,41,901]');
    expect(html).toContain('id="knee">156.25<');
    expect(html).not.toContain('PARTIAL');
  });
  it('escapes the target and cannot be broken out of by data', () => {
    const html = renderReport(buildResult({ ...base, target: 'http://x/</script><b>"&' }), assets);
    expect(html).toContain('http://x/&lt;/script&gt;&lt;b&gt;&quot;&amp;');
    expect(html).not.toContain('</script><b>');
  });
  it('shows the partial banner', () => {
    const r = buildResult({ ...base, search: { ...search, partial: true, stopReason: 'aborted' } });
    expect(renderReport(r, assets)).toContain('PARTIAL RESULT');
  });
});

describe('what the measured and the predicted knee are', () => {
  const assets = loadReportAssets();
  // Run A (fixed 20 ms × 4, SLO p99 ≤ 100 ms, 2 s holds): the 197.1 rps step passed, the fit says
  // 4 × 1000 / 20.443 = 195.7 rps; M/G/4 predicts 168.8.
  const a = buildResult({
    ...base,
    search: {
      ...search,
      steps: [
        stepResult(171.4, 170, 23.4, true),
        stepResult(197.1, 195.3, 25.7, true),
        stepResult(203.5, 195.7, 116, false),
      ],
      kneeRps: 197.1,
      firstBadRps: 203.5,
    },
    fit: { ...base.fit, serviceTimeMs: 20.443, capacityRps: 195.67, predictedKneeRps: 168.8, model: 'M/G/c' as const },
  });
  // Run C (10.5 ms × 1, SLO p99 ≤ 50 ms): measured 95.3 rps, predicted 45.5.
  const c = buildResult({
    ...base,
    search: { ...search, steps: [stepResult(95.3, 95, 42.5, true), stepResult(98.5, 93, 180, false)], kneeRps: 95.3 },
    fit: { ...base.fit, serviceTimeMs: 10.526, concurrency: 1, capacityRps: 95.0, predictedKneeRps: 45.5 },
  });

  it('one line says which is which: measured under evenly spaced arrivals for the hold, predicted the Poisson model plan uses', () => {
    for (const r of [buildResult(base), a, c]) {
      const line = summaryLines(r).find((l) => l.startsWith('knees: '));
      expect(line).toMatch(/measured = the SLO held with evenly spaced arrivals for a 2 s --hold \(an upper bound/);
      expect(line).toMatch(/predicted = M\/[MG]\/\d under Poisson arrivals, the model plan sizes with$/);
      expect(renderReport(r, assets)).toContain('id="knee-meaning">knees: measured = the SLO held');
    }
  });

  it('a measured knee above the fitted capacity says why (a hold too short for the queue)', () => {
    const note = summaryLines(a).find((l) => l.includes('above the fitted capacity'));
    expect(note).toBe(
      'note: the measured knee 197.1 rps is above the fitted capacity 195.7 rps (4 × 1000 / 20.443 ms): a step above capacity can pass when its hold (2 s) is too short for the queue to reach the SLO; a longer --hold tightens it (docs/loadtest.md, "How it measures").',
    );
    expect(renderReport(a, assets)).toContain('above the fitted capacity 195.7 rps');
    expect(summaryLines(buildResult(base)).join('\n')).not.toContain('above the fitted capacity');
  });

  it('knees more than 1.5× apart: says plan sizes with the model, not with the measured knee', () => {
    const text = summaryLines(c).join('\n');
    expect(text).toContain(
      "note: the measured (95.3 rps) and predicted (45.5 rps) knees differ by 2.1×: plan sizes with the predicted knee's model (serviceTimeMs 10.526, concurrency 1), not with the measured knee.",
    );
    expect(renderReport(c, assets)).toContain('knees differ by 2.1×');
    // 197.1 vs 168.8 is 1.17×: no such note.
    expect(summaryLines(a).join('\n')).not.toContain('knees differ');
  });
});

describe('no load step ran', () => {
  const none: SearchResult = {
    steps: [],
    kneeRps: 0,
    stopReason: 'max-duration',
    partial: true,
    kneeIsLowerBound: false,
    refineCut: false,
    requestsSent: 1,
    elapsedS: 0.03,
  };
  // --probe-requests 0: only the untimed connection check ran (the probe has no mean).
  const r = buildResult({
    ...base,
    search: none,
    fit: undefined,
    probe: { meanMs: undefined, samples: 0, statuses: { '200': 1 }, firstMs: 29.859, latenciesMs: [] },
  });

  it('claims no knee and no fit, and prints no empty table', () => {
    const text = renderTable(r);
    expect(text).toBe('SLO: p99 <= 100 ms, errors <= 1.0%\nknee: none: no load step ran (stopped by max-duration)\n');
    expect(r.probe).toBeNull();
    expect(r.serviceTimeMs).toBeNull();
    expect(buildProfile(r)).toBeUndefined();
    const html = renderReport(r, loadReportAssets());
    expect(html).toContain('Knee: <b id="knee">none</b>: no load step ran');
    expect(html).not.toContain('knee-meaning');
  });
});
