// Range-query chunking against a brute-force list of evaluation times: every time start + k·step
// ≤ end appears in exactly one chunk, in order, and no chunk has more than Prometheus' 11,000 points.
import { describe, expect, it } from 'vitest';
import {
  chunkRange,
  labelText,
  MAX_POINTS_PER_REQUEST,
  mergeChunks,
} from '../../src/adapters/metrics/prometheus/range.ts';
import { mulberry32 } from '../../src/simulator/synthetic.ts';

function times(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let t = start; t <= end; t += step) out.push(t);
  return out;
}

function expand(chunks: ReturnType<typeof chunkRange>, step: number): number[] {
  return chunks.flatMap((c) => times(c.start, c.end, step));
}

describe('chunkRange', () => {
  it('14 days at 60 s: 20,160 points in two requests, 11,000 then 9,160', () => {
    const end = 1_795_996_800;
    const start = end - 20_159 * 60;
    const chunks = chunkRange(start, end, 60);
    expect(chunks.map((c) => (c.end - c.start) / 60 + 1)).toEqual([11_000, 9_160]);
    expect(chunks[1]!.start).toBe(chunks[0]!.end + 60);
    expect(chunks[1]!.end).toBe(end);
  });

  it('exactly the limit is one request, one more point is two', () => {
    expect(chunkRange(0, (MAX_POINTS_PER_REQUEST - 1) * 15, 15)).toHaveLength(1);
    expect(chunkRange(0, MAX_POINTS_PER_REQUEST * 15, 15)).toHaveLength(2);
  });

  it('covers every evaluation time once, in order, within the limit (random ranges)', () => {
    const rnd = mulberry32(3);
    for (let i = 0; i < 60; i++) {
      const step = 1 + Math.floor(rnd() * 120);
      const start = Math.floor(rnd() * 1e9);
      const end = start + Math.floor(rnd() * 40_000) * step + Math.floor(rnd() * step); // end off the grid too
      const maxPoints = 1 + Math.floor(rnd() * 12_000);
      const chunks = chunkRange(start, end, step, maxPoints);
      expect(expand(chunks, step)).toEqual(times(start, end, step));
      for (const c of chunks) expect((c.end - c.start) / step + 1).toBeLessThanOrEqual(maxPoints);
    }
  });

  it('an empty range is no request; a bad step is refused', () => {
    expect(chunkRange(100, 99, 60)).toEqual([]);
    expect(() => chunkRange(0, 100, 0)).toThrow(RangeError);
    expect(() => chunkRange(0, Number.NaN, 60)).toThrow(RangeError);
  });
});

describe('mergeChunks', () => {
  it('joins one series across chunks whatever the label order, keeps others apart', () => {
    const merged = mergeChunks([
      [
        { labels: { job: 'web', code: '200' }, values: [[0, 1]] },
        { labels: { job: 'web', code: '500' }, values: [[0, 9]] },
      ],
      [{ labels: { code: '200', job: 'web' }, values: [[60, 2]] }],
    ]);
    expect(merged).toHaveLength(2);
    expect(merged[0]!.values).toEqual([
      [0, 1],
      [60, 2],
    ]);
    expect(labelText(merged[1]!.labels)).toBe('{code="500", job="web"}');
  });
});
