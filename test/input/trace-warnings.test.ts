// What a trace file says wrong without being malformed: a long gap the replay would hold the last
// rate across, an rps column that is a cumulative counter, and --peak on a trace of zeros. Named
// (file:line, the size, what is held) or refused (HR_USAGE), never silently replayed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import {
  loadTraceFile,
  looksLikeCounter,
  parseTraceCsv,
  rescaleToPeak,
  spanText,
  warningLines,
} from '../../src/input/trace.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';

/** A CSV from `[t, rps]` rows. */
const csv = (rows: ReadonlyArray<readonly [number, number]>): string =>
  ['t_seconds,rps', ...rows.map(([t, r]) => `${t},${r}`)].join('\n');
/** `n` rows `every` s apart from `from`, each at `rps` (or rps(i)). */
const rows = (n: number, every: number, rps: number | ((i: number) => number), from = 0): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [from + i * every, typeof rps === 'number' ? rps : rps(i)]);

const SHIPPED = ['worldcup98_may25_week', 'nasa_kennedy_jul1995_week', 'azurevm2019_cpu_week'].flatMap((name) =>
  ['../../traces/', '../../../shared/traces/']
    .map((d) => fileURLToPath(new URL(`${d}${name}.csv`, import.meta.url)))
    .filter((p) => existsSync(p)),
);

describe('trace gaps', () => {
  it('names a 3-hour hole in 60-s rows: file:line of the held row, the gap in words, the usual interval, the rate', () => {
    // 0 … 3540 every 60 s (lines 2–61), then 14400 (line 62): 3 h of rows are missing.
    const t = parseTraceCsv(csv([...rows(60, 60, 100), [14400, 500]]), 'x.csv');
    expect(t.warnings).toEqual([
      'x.csv:61: a gap of 3 h 0 min after the row at 3540 s (rows are 60 s apart elsewhere): the replay holds 100 rps across it',
    ]);
    // The replay itself is unchanged: the rate still holds (a warning, not a fix).
    expect(t.rps[10_000]).toBe(100);
  });

  it('the line is the file line, with comments and blank lines counted', () => {
    const t = parseTraceCsv(
      `# exported\nt_seconds,rps\n\n${rows(10, 60, 7)
        .map((r) => r.join(','))
        .join('\n')}\n3600,8\n`,
      'y.csv',
    );
    expect(t.warnings?.[0]).toMatch(/^y\.csv:13: a gap of 50 min after the row at 540 s/);
  });

  it('only well above the usual interval: more than 5 × it and more than 5 min', () => {
    const gap = (every: number, d: number): readonly string[] | undefined => {
      const before = rows(30, every, 10);
      const last = before[before.length - 1]![0];
      return parseTraceCsv(csv([...before, ...rows(30, every, 10, last + d)])).warnings;
    };
    expect(gap(60, 300)).toBeUndefined(); // 5 × 60 s: four rows lost at most
    expect(gap(60, 360)?.[0]).toMatch(/a gap of 5 min after the row at 1740 s \(rows are 60 s apart/);
    expect(gap(1, 300)).toBeUndefined(); // 300 × the interval but 5 min
    expect(gap(1, 301)?.[0]).toMatch(/a gap of 5 min after/);
    expect(gap(300, 1500)).toBeUndefined(); // 5 × 300 s
    expect(gap(300, 1800)?.[0]).toMatch(/a gap of 25 min after .*rows are 300 s apart/);
  });

  it('several gaps: the first three named, the rest counted with their total', () => {
    const r: Array<[number, number]> = [];
    let t = 0;
    for (let g = 0; g < 5; g++) {
      for (let i = 0; i < 20; i++, t += 60) r.push([t, g + 1]);
      t += 3600; // each gap misses 1 h
    }
    const w = parseTraceCsv(csv(r), 'g.csv').warnings ?? [];
    expect(w).toHaveLength(4);
    expect(w[0]).toMatch(/^g\.csv:21: a gap of 1 h 0 min after the row at 1140 s .*holds 1 rps/);
    expect(w[2]).toMatch(/holds 3 rps/);
    expect(w[3]).toBe(
      'g.csv: and 1 more gap of more than 5 × the usual 60 s, 1 h 0 min in all, each held the same way',
    );
  });

  it('spans in words', () => {
    expect([45, 250, 3600, 10_800, 10_860, 97_200].map(spanText)).toEqual([
      '45 s',
      '4 min 10 s',
      '1 h 0 min',
      '3 h 0 min',
      '3 h 1 min',
      '1 d 3 h',
    ]);
  });
});

describe('a counter where the rate belongs', () => {
  it('a requests_total exported as is (0, 5200, 10400, …) is named as a counter, with the way out', () => {
    const t = parseTraceCsv(csv(rows(60, 60, (i) => i * 5200)), 'c.csv');
    expect(t.warnings).toEqual([
      'c.csv:2: the rps column never decreases over its 60 rows and rises from 0 to 306800 (line 61): it looks like a cumulative counter (e.g. a Prometheus requests_total exported as is), which the replay reads as an ever-rising rate; give requests per second, e.g. from rate(requests_total[1m])',
    ]);
    // A counter that did not start at 0 but grew 10 × over the export.
    expect(looksLikeCounter(rows(30, 60, (i) => 1000 + i * 400).map((r) => r[1]))).toBe(true);
  });

  it('not a counter: too few rows, a dip, a step up, a rise of less than 10 ×, all zeros', () => {
    expect(looksLikeCounter(rows(19, 60, (i) => i * 5200).map((r) => r[1]))).toBe(false);
    expect(looksLikeCounter(rows(60, 60, (i) => (i === 30 ? 1 : i * 5200)).map((r) => r[1]))).toBe(false);
    expect(looksLikeCounter(rows(60, 60, (i) => (i < 30 ? 0 : 100)).map((r) => r[1]))).toBe(false);
    expect(looksLikeCounter(rows(60, 60, (i) => 100 + i * 5).map((r) => r[1]))).toBe(false);
    expect(looksLikeCounter(new Float64Array(60))).toBe(false);
    expect(parseTraceCsv(csv(rows(60, 60, (i) => 100 + i * 5))).warnings).toBeUndefined();
  });

  it('never fires, nor names a gap, on the shipped traces or the synthetic ones', () => {
    expect(SHIPPED.length).toBeGreaterThanOrEqual(3);
    for (const f of SHIPPED) expect(loadTraceFile(f).warnings, f).toBeUndefined();
    const specs = [
      'synthetic:spikes',
      'synthetic:flash',
      'synthetic:diurnal',
      'synthetic:step',
      'synthetic:flash,count=5,height=6,base=100,noise=0.1',
      'synthetic:step,at=200000,height=3',
      'synthetic:spikes,period=7200,width=600,height=5,base=60,noise=0.1,jitter=120',
      'synthetic:diurnal,amplitude=0.6,noise=0.1',
      'synthetic:diurnal,days=1',
      'synthetic:step,noise=0',
    ];
    for (const s of specs) {
      const perMinute = syntheticTrace(s).rps.filter((_, i) => i % 60 === 0);
      expect(looksLikeCounter(perMinute), s).toBe(false);
    }
  });
});

describe('--peak on a trace of zeros', () => {
  const zero = parseTraceCsv(csv(rows(60, 60, 0)), 'zero.csv');

  it('is HR_USAGE naming the flag, the value, the file and why; not a silent no-op', () => {
    let err: unknown;
    try {
      rescaleToPeak(zero, 600);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeadroomError);
    const p = (err as HeadroomError).problems[0];
    expect(p).toMatchObject({ code: 'HR_USAGE', path: '--peak', value: 600 });
    expect(p?.message).toBe("--peak 600 rescales the trace's highest rate to 600 rps, but every rate in zero.csv is 0");
  });

  it("from the spec's simulate.peakRps: HR_SPEC_INVALID naming the spec", () => {
    expect(() => rescaleToPeak(zero, 600, { file: 's.yaml', path: 'simulate.peakRps' })).toThrow(
      /^HR_SPEC_INVALID s\.yaml: simulate\.peakRps: simulate\.peakRps 600 rescales .* every rate in zero\.csv is 0/,
    );
  });

  it('one rate above 0 is enough', () => {
    const t = rescaleToPeak(parseTraceCsv(csv([...rows(5, 60, 0), [300, 2]])), 600);
    expect(Math.max(...t.rps)).toBe(600);
  });
});

describe('warning lines', () => {
  it('one `warning:` line each, control characters escaped', () => {
    expect(warningLines(['a\u001b[31m.csv:2: x', 'b'])).toBe('warning: a\\u001b[31m.csv:2: x\nwarning: b\n');
    expect(warningLines(undefined)).toBe('');
  });
});
