// Headroom with the burst from the pods' own counters (`simulate --pod-burst`, the controller's
// spec.demand.pods): it decides every second on a 6-s burst from 1-s counters, while its stable
// demand is still the Prometheus pipeline's, one 15-s scrape late.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { replaySetup } from '../../src/cli/simulate.ts';
import { HeadroomError } from '../../src/core/errors.ts';
import { rescaleToPeak } from '../../src/input/trace.ts';
import { CapacityTable } from '../../src/simulator/capacity.ts';
import { simulate } from '../../src/simulator/engine.ts';
import { MetricsRecorder, MetricsView, type Pipeline } from '../../src/simulator/metrics.ts';
import { headroomPolicy, HEADROOM_STABLE_WINDOW_SECONDS, POD_PIPELINE } from '../../src/simulator/policies/headroom.ts';
import type { PolicyOptions } from '../../src/simulator/policies/types.ts';
import { runSimulation } from '../../src/simulator/run.ts';
import { syntheticTrace } from '../../src/simulator/synthetic.ts';
import { benchService } from './helpers.ts';

const model = benchService();
const table = new CapacityTable(model);
const PROMETHEUS: Pipeline = { scrapeSeconds: 15, delaySeconds: 15 };
const base: PolicyOptions = { model, scrapeSeconds: 15 };
const pods: PolicyOptions = { ...base, podBurst: { intervalSeconds: 1 } };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('headroom with the burst from the pods', () => {
  it('ticks every interval on 1-s pod counters; the burst window is the behaviour’s', () => {
    const p = headroomPolicy({ ...base, podBurst: { intervalSeconds: 2 } });
    expect(p.tickSeconds).toBe(2);
    expect(p.pipeline).toEqual(POD_PIPELINE);
    const plain = headroomPolicy(base);
    expect(plain.tickSeconds).toBe(15);
    expect(plain.pipeline).toEqual(PROMETHEUS);
  });

  it('a view through a slower pipeline reads what that pipeline shows, and never a fresher one', () => {
    const rec = new MetricsRecorder(200);
    for (let t = 0; t < 200; t++) rec.record(t, 0, 1, 0); // 0, 1, 2, … rps: every window differs
    for (let now = 0; now <= 200; now++) {
      const fast = new MetricsView(rec, now, POD_PIPELINE, 1, 1);
      const slow = new MetricsView(rec, now, PROMETHEUS, 1, 1);
      const through = fast.through(PROMETHEUS);
      expect(through.latest).toBe(slow.latest);
      expect(through.requestRate(60)).toBe(slow.requestRate(60));
      // The prototype's formula: the last visible 15-s scrape, the 60 s before it.
      const end = Math.floor((now - 15) / 15) * 15;
      expect(through.requestRate(60)).toBe(end > 0 ? fast.requestRate(60, end) : undefined);
    }
    // At now = 100 the pods show [93, 99), Prometheus [15, 75).
    const at100 = new MetricsView(rec, 100, POD_PIPELINE, 1, 1);
    expect(at100.requestRate(6)).toBeCloseTo((93 + 98) / 2);
    expect(at100.through(PROMETHEUS).requestRate(60)).toBeCloseTo((15 + 74) / 2);
    expect(() => new MetricsView(rec, 100, PROMETHEUS, 1, 1).through(POD_PIPELINE)).toThrow(/cannot give/);
  });

  it('its stable demand is the Prometheus pipeline’s at every tick, the same value the 15-s headroom reads', () => {
    const trace = rescaleToPeak(syntheticTrace('synthetic:flash,count=1,height=6,days=0.125,seed=3'), 2000);
    // Every 60-s stable reading, by the tick's time, from the policy's own calls.
    const spy = vi.spyOn(MetricsView.prototype, 'requestRate');
    const stableReads = (opts: PolicyOptions): Map<number, number | undefined> => {
      const out = new Map<number, number | undefined>();
      spy.mockClear();
      simulate(trace, model, headroomPolicy(opts), { table });
      spy.mock.calls.forEach((args, i) => {
        const view = spy.mock.contexts[i] as MetricsView;
        if (args[0] !== HEADROOM_STABLE_WINDOW_SECONDS) return;
        expect(view.pipeline).toEqual(PROMETHEUS);
        expect(out.has(view.now)).toBe(false);
        out.set(view.now, spy.mock.results[i]?.value as number | undefined);
      });
      return out;
    };
    const prom = stableReads(base);
    const pod = stableReads(pods);
    expect(pod.size).toBe(trace.rps.length); // one per second
    expect(prom.size).toBe(Math.ceil(trace.rps.length / 15));
    for (const [now, v] of pod) {
      // Prometheus scrapes every 15 s: between its ticks the pods' round reads the last one's value.
      expect(v, `t=${now}`).toBe(prom.get(Math.floor(now / 15) * 15));
    }
    expect(new Set(pod.values()).size).toBeGreaterThan(10);
  });

  for (const spec of [
    'synthetic:step,at=7200,height=3,days=0.25,noise=0',
    'synthetic:flash,count=1,height=6,days=0.5,noise=0',
  ]) {
    // Without noise the first scale-up is the rise's.
    it(`${spec}: scales up strictly earlier, with no more violating seconds`, () => {
      const trace = rescaleToPeak(syntheticTrace(spec), 2000);
      const run = (opts: PolicyOptions): { firstUp: number; violations: number } => {
        let firstUp = Infinity;
        let start: number | undefined;
        const r = simulate(trace, model, headroomPolicy(opts), {
          table,
          onTick: (t, view, desired) => {
            start ??= view.currentReplicas;
            if (t > 0 && desired > start && firstUp === Infinity) firstUp = t;
          },
        });
        return { firstUp, violations: r.sloViolationSeconds };
      };
      const prom = run(base);
      const pod = run(pods);
      expect(prom.firstUp).toBeLessThan(Infinity);
      expect(pod.firstUp).toBeLessThan(prom.firstUp);
      expect(pod.violations).toBeLessThanOrEqual(prom.violations);
      expect(prom.violations).toBeGreaterThan(0); // the comparison has teeth
    });
  }

  it('runSimulation: only headroom changes; the result says the pods were read', () => {
    const trace = rescaleToPeak(syntheticTrace('synthetic:step,at=3600,height=3,days=0.125'), 2000);
    const opts = {
      trace,
      model,
      policies: ['headroom', 'hpa', 'kpa'] as const,
      truth: { family: 'exponential', cv: 1, scale: 1 },
    } as const;
    const a = runSimulation(opts);
    const b = runSimulation({ ...opts, podBurst: { intervalSeconds: 1 } });
    expect(a.podBurstIntervalSeconds).toBeUndefined();
    expect(b.podBurstIntervalSeconds).toBe(1);
    const by = (r: typeof a, label: string) => r.policies.find((p) => p.label === label);
    expect(by(b, 'hpa@70%')).toEqual(by(a, 'hpa@70%'));
    expect(by(b, 'kpa@70%')).toEqual(by(a, 'kpa@70%'));
    expect(by(b, 'headroom')?.scaleEvents).not.toBe(by(a, 'headroom')?.scaleEvents);
    // The calibrated meter path runs too (its requests: burst × the 1-s tick).
    expect(by(b, 'headroom+calibrated')?.seconds).toBe(trace.rps.length);
  });
});

describe('--pod-burst and simulate.podBurstIntervalSeconds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-podburst-'));
  const specFile = (section: string): string => {
    const f = join(dir, `spec-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      f,
      `services:\n  - name: api\n    demand: { rps: 100 }\n    instance: { serviceTimeMs: 20, concurrency: 4 }\n${section}`,
    );
    return f;
  };
  const plain = specFile('');

  it('without a value it is 1 s; with one, that; else the spec section’s; the flag wins', () => {
    expect(replaySetup({ spec: plain }).options.podBurst).toBeUndefined();
    expect(replaySetup({ spec: plain, podBurst: true }).options.podBurst).toEqual({ intervalSeconds: 1 });
    expect(replaySetup({ spec: plain, podBurst: '2' }).options.podBurst).toEqual({ intervalSeconds: 2 });
    const withSection = specFile('simulate: { podBurstIntervalSeconds: 5 }\n');
    expect(replaySetup({ spec: withSection }).options.podBurst).toEqual({ intervalSeconds: 5 });
    expect(replaySetup({ spec: withSection, podBurst: '2' }).options.podBurst).toEqual({ intervalSeconds: 2 });
  });

  it('a bad interval is HR_USAGE naming the flag and its range; a bad section value names the key', () => {
    for (const raw of ['0', '61', '1.5', 'abc', '', '0x2']) {
      let err: unknown;
      try {
        replaySetup({ spec: plain, podBurst: raw });
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(HeadroomError);
      const p = (err as HeadroomError).problems[0];
      expect(p?.code).toBe('HR_USAGE');
      expect(p?.path).toBe('--pod-burst');
      expect(p?.allowed).toBe('a whole number 1..60 s');
    }
    const bad = specFile('simulate: { podBurstIntervalSeconds: 0.5 }\n');
    expect(() => replaySetup({ spec: bad })).toThrow(/podBurstIntervalSeconds/);
  });
});
