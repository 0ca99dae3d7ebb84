// What a request-rate reading counts (simulate's `reads`): arrivals, or the answers a counter
// incremented on the answer shows. A saturated pool answers no faster than its servers: with the
// bench service (20 ms, concurrency 4) that is 200 rps an instance, whatever arrives.
import { describe, expect, it } from 'vitest';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { headroomPolicy } from '../../src/simulator/policies/headroom.ts';
import { kedaPolicy } from '../../src/simulator/policies/keda.ts';
import type { OnlinePolicy } from '../../src/simulator/policies/types.ts';
import type { MetricsView } from '../../src/simulator/metrics.ts';
import type { Trace } from '../../src/input/trace.ts';
import { benchService } from './helpers.ts';

const model = benchService();
const table = new CapacityTable(model);
const PER_INSTANCE = (model.instance.concurrency * 1000) / model.instance.serviceTimeMs; // 200 rps

/** 600 s at 300 rps, then 1,200 s at 3,000 rps: a step far past what the first pool answers. */
function step(): Trace {
  const rps = new Float64Array(1800);
  for (let t = 0; t < rps.length; t++) rps[t] = t < 600 ? 300 : 3000;
  return { source: 'step', rowSeconds: 1, rps };
}

/** A policy that holds its count and records both readings of the last 15 s at every tick. */
function watcher(
  hold: number,
): OnlinePolicy & { seen: Array<{ t: number; ready: number; arrivals?: number; answers?: number }> } {
  const seen: Array<{ t: number; ready: number; arrivals?: number; answers?: number }> = [];
  return {
    kind: 'online',
    name: 'watch',
    label: 'watch',
    tickSeconds: 15,
    pipeline: { scrapeSeconds: 15, delaySeconds: 15 },
    seen,
    tick(view: MetricsView): number {
      const arrivals = view.requestRate(15);
      const answers = view.requestRate(15, view.latest, 'answers');
      seen.push({ t: view.now, ready: view.readyReplicas, ...(arrivals !== undefined ? { arrivals, answers } : {}) });
      return hold;
    },
  };
}

describe('reads: arrivals or answers', () => {
  it('answers read what the ready instances answer: the same as arrivals below capacity, capacity above', () => {
    const w = watcher(3);
    simulate(step(), model, w, { table });
    const before = w.seen.filter((s) => s.arrivals !== undefined && s.t <= 600);
    const after = w.seen.filter((s) => s.t >= 660);
    expect(before.length).toBeGreaterThan(10);
    for (const s of before) expect(s.answers).toBeCloseTo(s.arrivals!, 6); // 300 < 3 × 200
    expect(after.length).toBeGreaterThan(50);
    for (const s of after) {
      expect(s.arrivals).toBeCloseTo(3000, 6);
      expect(s.answers).toBeCloseTo(3 * PER_INSTANCE, 6); // 600: all three busy, the rest waits
    }
  });

  it('Headroom and KEDA reading answers size a step past capacity later, in steps, and violate longer', () => {
    for (const make of [
      (reads: 'arrivals' | 'answers') => headroomPolicy({ model, scrapeSeconds: 15, reads }),
      (reads: 'arrivals' | 'answers') => kedaPolicy({ model, scrapeSeconds: 15, reads, target: 0.7 }),
    ]) {
      const arrivals = simulate(step(), model, make('arrivals'), { table });
      const answers = simulate(step(), model, make('answers'), { table });
      expect(answers.sloViolationSeconds).toBeGreaterThan(arrivals.sloViolationSeconds);
      expect(answers.scaleEvents).toBeGreaterThan(arrivals.scaleEvents);
    }
    expect(headroomPolicy({ model, scrapeSeconds: 15, reads: 'answers' }).label).toBe('headroom (answers)');
  });
});
