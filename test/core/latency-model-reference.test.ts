// The latency model and the project's own discrete-event simulation, both against a truth neither
// wrote: test/reference/mgc-truth-table.md, p99 response times of FIFO M/G/c queues simulated
// independently (numpy, 200,000 arrivals per row, one seed per row; a copy of the team's shared
// reference). Same grid as docs/benchmarks.md "Latency model (M/G/c) against simulation": c 1/4/16,
// ρ 0.5/0.7/0.85, mean 20 ms.
//
// One seed of 200,000 arrivals pins a light-tailed p99 to a few per cent but not a heavy-tailed one:
// the reference's lognormal CV 2 row at c = 1, ρ 0.5 drew a squared CV of 5.83 where the
// distribution's is 4, and its p99 (853 ms) is 1.32 × the 646 ms that 5 M requests give. So the
// lognormal rows are compared only at c = 16, where a request's wait no longer hangs on one long
// service; the rest of them are in docs/benchmarks.md with why.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { latencyPercentileMs, type PoolShape } from '../../src/core/pool.ts';
import { parseServiceTime, percentile, serviceTimeQuantiles, simulateFifo } from '../support/mgc-sim.ts';

const MEAN_MS = 20;
const SPEC = {
  det: 'fixed',
  erlang4: 'erlang:4',
  exp: 'exponential',
  lognorm2: 'lognormal:cv=2',
  bimodal: 'bimodal:0.95,10,210',
  lognorm4: 'lognormal:cv=4',
} as const;
type Dist = keyof typeof SPEC;

interface Row {
  c: number;
  rho: number;
  dist: Dist;
  /** The squared CV of the service times the reference drew. */
  scv: number;
  /** The reference's simulated p99, ms. */
  p99: number;
  /** The exact M/M/c p99 the reference computed for the same c, λ, μ, ms. */
  mmc: number;
}

function referenceRows(): Row[] {
  const text = readFileSync(new URL('../reference/mgc-truth-table.md', import.meta.url), 'utf8');
  const line = /^\s*(\d+)\s+([\d.]+)\s+(\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$/gm;
  return [...text.matchAll(line)].map((m) => {
    if (!(m[3]! in SPEC)) throw new Error(`unknown distribution ${m[3]} in the reference table`);
    return { c: +m[1]!, rho: +m[2]!, dist: m[3] as Dist, scv: +m[4]!, p99: +m[5]!, mmc: +m[6]! };
  });
}

const ROWS = referenceRows();
const label = (r: Row): string => `${r.dist}, c = ${r.c}, ρ = ${r.rho}`;
const arrivalRps = (r: Row): number => (r.rho * r.c * 1000) / MEAN_MS;

function predicted(r: Row, opts: { cv?: number; quantiles?: boolean } = {}): number {
  const d = parseServiceTime(SPEC[r.dist], MEAN_MS);
  const shape: PoolShape = {
    demandRps: arrivalRps(r),
    serviceTimeMs: MEAN_MS,
    concurrency: r.c,
    loadBalancing: 'leastRequests',
    serviceTime: {
      cv: opts.cv ?? d.cv,
      source: 'spec',
      ...(opts.quantiles ? { quantilesMs: serviceTimeQuantiles(d) } : {}),
    },
  };
  return latencyPercentileMs(shape, 1, 99);
}

/** The project's simulation at the reference's size: the median p99 of three seeds. */
function simulated(r: Row): number {
  const sampler = parseServiceTime(SPEC[r.dist], MEAN_MS);
  const p99s = [1, 2, 3].map((seed) =>
    percentile(
      simulateFifo({ servers: r.c, arrivalRps: arrivalRps(r), sampler, requests: 200_000, seed }).responseMs,
      99,
    ),
  );
  return p99s.sort((a, b) => a - b)[1]!;
}

describe('the reference table', () => {
  it('holds the whole grid: 6 distributions × c 1/4/16 × ρ 0.5/0.7/0.85', () => {
    expect(ROWS).toHaveLength(54);
    expect(new Set(ROWS.map((r) => `${r.dist} ${r.c} ${r.rho}`)).size).toBe(54);
  });
});

describe('Erlang C against an independent implementation', () => {
  // The model with CV 1 is M/M/c; the reference printed the exact M/M/c p99 beside every row.
  it.each(ROWS.filter((r) => r.dist === 'exp'))('$c servers at ρ $rho: $mmc ms', (r) => {
    expect(predicted(r, { cv: 1 }) / r.mmc).toBeCloseTo(1, 2);
  });
});

describe("the project's simulation against an independent one", () => {
  // The light-tailed and bimodal rows, where one seed of 200,000 is a few per cent: the median of
  // three of ours is within 10 % of theirs on every row (most within 3 %).
  it.each(ROWS.filter((r) => !r.dist.startsWith('lognorm')).map((r) => [label(r), r] as const))('%s', (_, r) => {
    const ratio = simulated(r) / r.p99;
    expect(ratio).toBeGreaterThanOrEqual(0.9);
    expect(ratio).toBeLessThanOrEqual(1.1);
  });
});

describe('the model against the independent truth', () => {
  // [distributions, what the model is given, lowest and highest ratio allowed]: the ranges
  // docs/benchmarks.md states against the project's own simulation, widened by the reference's
  // single-seed noise. Above 1 over-provisions; below 1 would break the SLO.
  const cases: Array<[string, (r: Row) => boolean, boolean, number, number]> = [
    [
      'fixed, erlang:4, exponential from their CV',
      (r) => ['det', 'erlang4', 'exp'].includes(r.dist),
      false,
      0.95,
      1.15,
    ],
    ['bimodal with its quantiles', (r) => r.dist === 'bimodal', true, 0.9, 1.45],
    ['lognormal CV 2 and 4 at c = 16', (r) => r.dist.startsWith('lognorm') && r.c === 16, false, 0.95, 1.5],
  ];
  it.each(cases)('%s', (_, where, quantiles, lo, hi) => {
    const rows = ROWS.filter(where);
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const r of rows) {
      const ratio = predicted(r, { quantiles }) / r.p99;
      expect(ratio, label(r)).toBeGreaterThanOrEqual(lo);
      expect(ratio, label(r)).toBeLessThanOrEqual(hi);
    }
  });

  it('a CV alone cannot tell bimodal from lognormal: its quantiles move the model onto the truth', () => {
    // c = 16: cv only 0.85–0.88 (too low: a lognormal of CV 2.18 has a p99 of 180 ms, not 210 ms);
    // with the quantiles 0.93–1.00.
    for (const r of ROWS.filter((x) => x.dist === 'bimodal' && x.c === 16)) {
      const cvOnly = predicted(r) / r.p99;
      const withQ = predicted(r, { quantiles: true }) / r.p99;
      expect(cvOnly, label(r)).toBeLessThan(0.9);
      expect(Math.abs(withQ - 1), label(r)).toBeLessThan(Math.abs(cvOnly - 1));
    }
  });
});
