// No policy can read the future. Two checks, one structural and one behavioural:
// - a MetricsView refuses any time after its latest visible scrape (FutureReadError);
// - every online policy, run on two traces equal up to second T and different after, asks for the
//   same counts at every tick up to T: nothing after T can have reached its decisions.
import { describe, expect, it } from 'vitest';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { FutureReadError, MetricsRecorder, MetricsView } from '../../src/simulator/metrics.ts';
import type { PolicyOptions } from '../../src/simulator/policies/types.ts';
import { makePolicy, type PolicyName } from '../../src/simulator/run.ts';
import { traceFromSeconds } from '../../src/input/trace.ts';
import { benchService } from './helpers.ts';

describe('no policy can read the future', () => {
  it('a view answers only up to its latest visible scrape', () => {
    const rec = new MetricsRecorder(100);
    for (let t = 0; t < 100; t++) rec.record(10, 1, 4, 1);
    const view = new MetricsView(rec, 100, { scrapeSeconds: 15, delaySeconds: 15 }, 1, 1);
    expect(view.latest).toBe(75); // floor(85 / 15) × 15
    expect(view.requestRate(60)).toBeCloseTo(10);
    expect(() => view.requestRate(60, 90)).toThrow(FutureReadError);
    expect(() => rec.counter('requests', 101)).toThrow(FutureReadError);
    // A 1-s pod view at the same now, through the 15-s pipeline: the same latest scrape, no later.
    const pods = new MetricsView(rec, 100, { scrapeSeconds: 1, delaySeconds: 1 }, 1, 1);
    expect(pods.latest).toBe(99);
    expect(() => pods.requestRate(6, 100)).toThrow(FutureReadError);
    const prom = pods.through({ scrapeSeconds: 15, delaySeconds: 15 });
    expect(prom.latest).toBe(75);
    expect(() => prom.requestRate(60, 90)).toThrow(FutureReadError);
  });

  const m = benchService({ startupSeconds: 60 });
  // A wavy, noisy day (deterministic), ~300–1,900 rps.
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const T = 2 * 3600;
  const cut = 3600;
  const a = new Float64Array(T);
  for (let t = 0; t < T; t++) a[t] = 1100 + 700 * Math.sin(t / 600) + 100 * (rnd() - 0.5);
  const b = Float64Array.from(a);
  for (let t = cut; t < T; t++) b[t] = t % 300 < 150 ? 2000 : 50; // a different future
  const table = new CapacityTable(m);

  // headroom+pods: the burst from the pods' 1-s counters every second (--pod-burst), the stable
  // demand through the 15-s pipeline.
  const cases: Array<[string, PolicyName, Partial<PolicyOptions>]> = [
    ['headroom', 'headroom', {}],
    ['headroom+pods', 'headroom', { podBurst: { intervalSeconds: 1 } }],
    ['hpa', 'hpa', {}],
    ['kpa', 'kpa', {}],
    ['keda', 'keda', {}],
  ];
  for (const [label, name, extra] of cases) {
    it(`${label}: identical decisions up to T whatever follows T`, () => {
      const run = (values: Float64Array): Array<[number, number]> => {
        const out: Array<[number, number]> = [];
        const p = makePolicy(name, { model: m, scrapeSeconds: 15, target: 0.7, ...extra });
        simulate(traceFromSeconds(values), m, p, { table, onTick: (t, _v, d) => out.push([t, d]) });
        return out;
      };
      const ra = run(a);
      const rb = run(b);
      const upTo = (xs: Array<[number, number]>): Array<[number, number]> => xs.filter(([t]) => t <= cut);
      expect(upTo(ra)).toEqual(upTo(rb));
      // …and the futures do lead to different decisions, so the comparison has teeth.
      expect(ra).not.toEqual(rb);
      // The policy moved at all before T.
      expect(new Set(upTo(ra).map(([, d]) => d)).size).toBeGreaterThan(1);
    });
  }
});
