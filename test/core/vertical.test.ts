import { describe, expect, it } from 'vitest';
import { formatCpu, formatMemory, parseCpuMillis, parseMemoryBytes } from '../../src/core/quantity.ts';
import { DecayingHistogram, verticalAdvice, type UsageSample } from '../../src/core/vertical.ts';
import { maxEvenSpread } from '../../src/core/cluster.ts';

const DAY = 86400;
const MiB = 2 ** 20;

describe('quantities', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    [2, 2000],
    ['0.25', 250],
    ['1.5e0', 1500],
  ])('cpu %s → %d millicores', (q, m) => expect(parseCpuMillis(q)).toBe(m));
  it.each([
    ['256Mi', 256 * MiB],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['512', 512],
    ['1.5Ki', 1536],
  ])('memory %s → %d bytes', (q, b) => expect(parseMemoryBytes(q)).toBe(b));
  it.each(['2 cores', '-1', 'm', '', '1Gb'])('rejects %j', (q) => {
    expect(parseCpuMillis(q)).toBeUndefined();
    expect(parseMemoryBytes(q)).toBeUndefined();
  });
  it('formats back', () => {
    expect(formatCpu(2000)).toBe('2');
    expect(formatCpu(322.4)).toBe('322m');
    expect(formatMemory(300 * MiB + 1)).toBe('301Mi');
  });
});

describe('decaying histogram (VPA)', () => {
  it('percentile returns the end of the bucket holding it (conservative)', () => {
    const h = new DecayingHistogram(10, 1e6, 0);
    for (let v = 1; v <= 100; v++) h.add(v * 10, 0); // 10m … 1000m
    const p90 = h.percentile(0.9);
    expect(p90).toBeGreaterThanOrEqual(900);
    expect(p90).toBeLessThan(900 * 1.06); // buckets are 5 % wide
  });

  it('a day-old sample weighs half of a fresh one (24 h half-life)', () => {
    const h = new DecayingHistogram(10, 1e6, DAY);
    h.add(100, 0); // weight 0.5
    h.add(1000, DAY); // weight 1 → 2/3 of the total
    expect(h.percentile(0.3)).toBeLessThan(120);
    expect(h.percentile(0.4)).toBeGreaterThan(900);
  });
});

describe('verticalAdvice', () => {
  // A week of samples every 10 min: CPU 200m with a daily 1 h bump to 300m; memory 300Mi, peak 400Mi.
  const samples: UsageSample[] = [];
  for (let t = 600; t < 7 * DAY; t += 600) {
    const busy = t % DAY < 3600;
    samples.push({ t, cpuMillis: busy ? 300 : 200, memoryBytes: (busy ? 400 : 300) * MiB });
  }
  const now = 7 * DAY;
  const a = verticalAdvice(samples, now);

  it('request = p90 + 15 %, limit = p95 × (1 + 1/days)', () => {
    expect(a.historyDays).toBeCloseTo(7 - 1200 / DAY, 3); // first sample to last
    // 23 h of 24 are at 200m, so p90 is in the bucket holding 200m: buckets start at
    // 10m × (1.05^i − 1) / 0.05, 200m is in bucket 14 (196m–215.8m), its end × 1.15 = 248.2m.
    expect(a.cpu?.request).toBeCloseTo(200 * (1.05 ** 15 - 1) * 1.15, 6);
    // p95 is in the same bucket: 215.8m × (1 + 1/6.99) = 246.7m < the request, so the limit is the request.
    expect(a.cpu?.limit).toBe(a.cpu?.request);
  });

  it('memory is sized from daily peaks', () => {
    expect(a.memory?.samples).toBe(7);
    expect(a.memory?.request).toBeGreaterThanOrEqual(400 * MiB * 1.15);
  });

  it('applies the floors (25m, 250Mi) and says when history is short', () => {
    const tiny = verticalAdvice([{ t: 0, cpuMillis: 1, memoryBytes: MiB }], 3600);
    expect(tiny.cpu?.request).toBe(25);
    expect(tiny.memory?.request).toBe(250 * MiB);
    expect(tiny.notes.join(' ')).toMatch(/only 0\.1 h of history/); // one sample: the 5-minute floor
    expect(verticalAdvice([], 0).cpu).toBeUndefined();
  });

  it('a history that ended 3 years ago gives the same requests as the same samples ending now, and says how old it is', () => {
    // 2^(−(now − t)/1 day) underflows to 0 after ~1,075 days: every weight was 0 and the advice fell to
    // the 25m floor. Weights are relative to the newest sample now.
    const shift = 3 * 365 * DAY;
    const old = verticalAdvice(samples, now + shift);
    expect(old.cpu?.request).toBeCloseTo(a.cpu!.request, 6);
    expect(old.memory?.request).toBeGreaterThanOrEqual(400 * MiB * 1.15);
    expect(old.notes.join(' ')).toMatch(/the newest usage sample is 1095 days old/);
  });

  it('counts the history the samples span, not the time since the first: a stale day is a day', () => {
    // 5 samples over 26 h, read 11 days after the first: the limit's confidence factor is that of
    // 26 h (× (1 + 24/26)), as when read right after the last sample; it was × (1 + 1/11).
    const day = [0, 6, 12, 18, 26].map((h) => ({ t: h * 3600, cpuMillis: 200 + h * 10 }));
    const fresh = verticalAdvice(day, 26 * 3600);
    const stale = verticalAdvice(day, 11 * DAY);
    expect(fresh.historyDays).toBeCloseTo(26 / 24, 9);
    expect(stale.historyDays).toBeCloseTo(26 / 24, 9);
    expect(stale.cpu?.limit).toBeCloseTo(fresh.cpu!.limit, 9);
    expect(stale.cpu!.limit).toBeGreaterThan(stale.cpu!.request * 1.5);
  });

  it('ignores samples from the future', () => {
    const future = verticalAdvice([{ t: 100, cpuMillis: 5000 }], 50);
    expect(future.cpu).toBeUndefined();
  });
});

describe('verticalAdvice at the schema maximum', () => {
  it('takes 1,000,000 samples without overflowing the stack (Math.min(...times) did at 250,000)', () => {
    const now = 14 * 86400;
    const samples: UsageSample[] = [];
    for (let i = 0; i < 1_000_000; i++) samples.push({ t: i, cpuMillis: 200 + (i % 100), memoryBytes: 3e8 });
    const a = verticalAdvice(samples, now);
    expect(a.historyDays).toBeCloseTo(999_999 / 86400, 6); // the samples span t = 0 to 999,999
    expect(a.cpu?.samples).toBe(1_000_000);
  });
});

describe('maxEvenSpread', () => {
  it.each([
    [[32, 16], 2, 33],
    [[10, 10, 10], 3, 30],
    [[10, 10, 0], 3, 2], // 1/1/0 is still an even spread
    [[5, 100, 100], 3, 17], // 6/6/5: the small zone takes the floor share
    [[7], 2, 0], // fewer zones than the spread needs
  ])('caps %j over %d zones → %d', (caps, zones, expected) => {
    expect(maxEvenSpread(caps, zones)).toBe(expected);
  });
});
