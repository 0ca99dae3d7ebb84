import { describe, expect, it } from 'vitest';
import { RequestWindows } from '../../src/adapters/metrics/proxy/windows.ts';

function fake(startMs = 1_000_000) {
  let now = startMs;
  const w = new RequestWindows({ stableSeconds: 60, burstSeconds: 6 }, () => now);
  return {
    w,
    at: (ms: number) => {
      now = startMs + ms;
    },
  };
}

/** The histograms keep 2 significant digits: a value reads back within 1 % (20 ms → 19.8–20.2). */
function within1pct(ms: number, expected: number): void {
  expect(Math.abs(ms - expected) / expected).toBeLessThanOrEqual(0.01);
}

describe('RequestWindows (1 s buckets, stable and burst windows)', () => {
  it('has no data in its first 0.5 s, then a real 0 rate', () => {
    const { w, at } = fake();
    at(400);
    expect(w.snapshot().stable).toBeUndefined();
    at(1000);
    expect(w.snapshot().stable?.arrivalRps).toBe(0);
    expect(w.snapshot().stable?.latency).toBeNull();
  });

  it('rates: 10 rps for 60 s then 40 rps for 6 s → burst 40, stable 13', () => {
    const { w, at } = fake();
    let t = 0;
    for (let s = 0; s < 66; s++) {
      const rate = s < 60 ? 10 : 40;
      for (let k = 0; k < rate; k++) {
        at((t = s * 1000 + (k * 1000) / rate));
        w.arrive();
        w.complete(20, true);
      }
    }
    at(65_999); // the last ms of second 65: windows are the newest 60 and 6 one-second buckets
    void t;
    const snap = w.snapshot();
    expect(snap.burst!.arrivalRps).toBeCloseTo(40, 1);
    // Stable: seconds 6…65 = 54 s at 10 + 6 s at 40 = 780 requests / 60 s = 13.
    expect(snap.stable!.arrivalRps).toBeCloseTo(13, 2);
    expect(snap.totals.arrivals).toBe(600 + 240);
    within1pct(snap.stable!.latency!.p50Ms, 20);
    // One window alone reads what the snapshot holds.
    expect(w.stable()).toEqual(snap.stable);
    expect(w.burst()).toEqual(snap.burst);
  });

  it('concurrency is the time-weighted number in flight', () => {
    const { w, at } = fake();
    // 3 in flight from 0 to 500 ms, 1 from 500 to 1000 ms → 3·0.5 + 1·0.5 = 2 over the second.
    at(0);
    w.arrive();
    w.arrive();
    w.arrive();
    at(500);
    w.complete(500, true);
    w.complete(500, true);
    at(999);
    const s = w.stats(1_000_999, 1)!;
    expect(s.meanConcurrency).toBeCloseTo(2, 2);
    expect(w.currentInFlight).toBe(1);
  });

  it('counts errors and their ratio; old buckets expire after an idle spell', () => {
    const { w, at } = fake();
    at(100);
    for (let k = 0; k < 4; k++) w.arrive();
    w.complete(5, true);
    w.complete(5, true);
    w.complete(5, false);
    w.complete(5, true);
    at(1000);
    expect(w.snapshot().burst!.errorRatio).toBeCloseTo(0.25, 5);
    at(3_600_000); // an hour later
    const s = w.snapshot();
    expect(s.stable!.arrivalRps).toBe(0);
    expect(s.stable!.latency).toBeNull();
    expect(s.totals).toEqual({ arrivals: 4, completions: 4, errors: 1 });
  });

  it('splits each dispatched request into its wait here and its time at the instance', () => {
    const { w, at } = fake();
    at(100);
    // 99 requests sent at once and answered in 20 ms, one that waited 30 ms for a slot first, and
    // one never dispatched (a 503 after the queue timeout): it counts in the latency, not the split.
    for (let k = 0; k < 101; k++) w.arrive();
    for (let k = 0; k < 99; k++) w.complete(20, true, { waitMs: 0, atInstanceMs: 20 });
    w.complete(50, true, { waitMs: 30, atInstanceMs: 20 });
    w.complete(10_000, false);
    at(1000);
    const s = w.snapshot().burst!;
    expect(s.latency!.count).toBe(101);
    expect(s.wait!.count).toBe(100);
    expect(s.wait!.p90Ms).toBeLessThan(0.01);
    expect(s.wait!.p99Ms).toBeLessThan(0.01); // 1 in 100 waited: the 99th of 100 did not
    within1pct(s.wait!.atInstance.meanMs, 20);
    within1pct(s.wait!.atInstance.p999Ms, 20);
    w.complete(80, true, { waitMs: 60, atInstanceMs: 20 });
    w.complete(80, true, { waitMs: 60, atInstanceMs: 20 });
    within1pct(w.snapshot().burst!.wait!.p99Ms, 60);
  });

  it('rejects a burst window longer than the stable window', () => {
    expect(() => new RequestWindows({ stableSeconds: 5, burstSeconds: 6 }, () => 0)).toThrow(/burstSeconds/);
  });
});
