// Synthetic traffic families for `simulate --trace synthetic:...` (src/simulator/synthetic.ts).
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';

const minuteMeans = (rps: Float64Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < rps.length; i += 60) out.push(rps[i]!);
  return out;
};

describe('synthetic traces', () => {
  it('spikes: one per period, height × the base, rising within width/4, back to the base after', () => {
    const t = syntheticTrace('synthetic:spikes,period=7200,width=600,height=5,base=60,noise=0,days=1');
    expect(t.rps.length).toBe(86400);
    expect(t.rowSeconds).toBe(60);
    const m = minuteMeans(t.rps);
    // Peaks: local maxima above 3× the base, one every 120 minutes, the first at 60 + 2.5 min.
    const peaks = m.flatMap((v, i) => (v > 180 && v >= (m[i - 1] ?? 0) && v > (m[i + 1] ?? 0) ? [i] : []));
    expect(peaks.length).toBe(12);
    for (let k = 1; k < peaks.length; k++) expect(peaks[k]! - peaks[k - 1]!).toBe(120);
    expect(Math.max(...m)).toBeGreaterThan(0.9 * 300);
    expect(Math.max(...m)).toBeLessThanOrEqual(300 + 1e-9);
    expect(m[50]).toBeCloseTo(60, 6); // quiet before the first spike
    expect(m[60 + 25]).toBeCloseTo(60, 0); // 25 min after: decayed
  });

  it('is seeded: the same spec gives the same trace, another seed another', () => {
    const a = syntheticTrace('synthetic:flash,count=3,height=8,days=2,seed=4');
    const b = syntheticTrace('synthetic:flash,count=3,height=8,days=2,seed=4');
    const c = syntheticTrace('synthetic:flash,count=3,height=8,days=2,seed=5');
    expect(a.rps).toEqual(b.rps);
    expect(a.rps).not.toEqual(c.rps);
  });

  it('step and diurnal shapes', () => {
    const s = minuteMeans(syntheticTrace('synthetic:step,at=3600,height=3,base=10,noise=0,days=0.125').rps);
    expect(s[30]).toBe(10);
    expect(s[90]).toBe(30);
    const d = minuteMeans(syntheticTrace('synthetic:diurnal,amplitude=0.5,base=100,noise=0,days=1').rps);
    expect(Math.min(...d)).toBeCloseTo(50, 0); // night
    expect(Math.max(...d)).toBeCloseTo(150, 0); // noon
  });

  it('bad family, key or value: HR_USAGE naming it and the range', () => {
    for (const [spec, where] of [
      ['synthetic:waves', /unknown synthetic family/],
      ['synthetic:spikes,heigth=3', /unknown key "heigth"/],
      ['synthetic:spikes,height=0', /out of range/],
      ['synthetic:spikes,days=100', /out of range/],
      ['synthetic:spikes,period=', /not a decimal number/],
      ['synthetic:spikes,seed=abc', /not a decimal number/],
      ['synthetic:diurnal,days=1,days=2', /"days" is given twice/],
    ] as const) {
      let err: unknown;
      try {
        syntheticTrace(spec);
      } catch (e) {
        err = e;
      }
      expect(err, spec).toBeInstanceOf(HeadroomError);
      const p = (err as HeadroomError).problems[0]!;
      expect(p.code).toBe('HR_USAGE');
      expect(p.message).toMatch(where);
      expect(p.allowed).toBeTruthy();
    }
  });
});
