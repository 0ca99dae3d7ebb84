import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { AlertEngine } from '../../src/alerting/engine.ts';
import type { AlertRule, ServiceSnapshot } from '../../src/alerting/types.ts';

const cpuRule = (over: Partial<AlertRule> = {}): AlertRule => ({
  name: 'Cpu',
  metric: 'instance.cpuUtilization',
  op: '>',
  threshold: 0.9,
  forSeconds: 300,
  keepFiringForSeconds: 0,
  severity: 'warning',
  labels: { team: 'shop' },
  annotations: { summary: '{{ $labels.instance }} at {{ $value | humanizePercentage }}' },
  ...over,
});

const snap = (t: number, cpu: number | undefined, extra: Partial<ServiceSnapshot> = {}): ServiceSnapshot => ({
  service: 'checkout',
  time: t,
  instances: [{ id: 'c-1', ...(cpu === undefined ? {} : { cpuUtilization: cpu }) }],
  ...extra,
});

/** Runs [time, cpu] steps and returns the state after each, like Knative's expectScale tables. */
function run(rule: AlertRule, steps: Array<[number, number | undefined]>): string[] {
  const e = new AlertEngine([rule]);
  return steps.map(([t, v]) => {
    const ev = e.evaluate([snap(t, v)], t);
    return ev.alerts[0]?.state ?? 'inactive';
  });
}

describe('AlertEngine state machine (fake clock)', () => {
  it('goes inactive → pending → firing → resolved, firing only after `for`', () => {
    expect(
      run(cpuRule(), [
        [0, 0.5],
        [10, 0.95], // becomes true: pending
        [200, 0.95],
        [309, 0.95], // 299 s true: still pending
        [310, 0.95], // 300 s: firing
        [400, 0.95],
        [410, 0.5], // false: resolved at once (no keepFiringFor)
        [420, 0.5],
      ]),
    ).toEqual(['inactive', 'pending', 'pending', 'pending', 'firing', 'firing', 'resolved', 'inactive']);
  });

  it('drops a pending alert that turns false before `for` (never notified)', () => {
    const e = new AlertEngine([cpuRule()]);
    e.evaluate([snap(0, 0.95)], 0);
    const ev = e.evaluate([snap(100, 0.5)], 100);
    expect(ev.alerts).toEqual([]);
    expect(ev.transitions.map((t) => `${t.from}→${t.to}`)).toEqual(['pending→inactive']);
    // And the `for` clock restarts from zero the next time.
    expect(
      run(cpuRule(), [
        [0, 0.95],
        [100, 0.5],
        [200, 0.95],
        [450, 0.95],
        [500, 0.95],
      ]),
    ).toEqual(['pending', 'inactive', 'pending', 'pending', 'firing']);
  });

  it('fires at once with for: 0 (pending and firing transitions in one evaluation)', () => {
    const e = new AlertEngine([cpuRule({ forSeconds: 0 })]);
    const ev = e.evaluate([snap(5, 0.99)], 5);
    expect(ev.transitions.map((t) => t.to)).toEqual(['pending', 'firing']);
    expect(ev.alerts[0]).toMatchObject({ state: 'firing', activeAt: 5, firedAt: 5, value: 0.99 });
    expect(ev.alerts[0]?.labels).toEqual({
      alertname: 'Cpu',
      instance: 'c-1',
      service: 'checkout',
      severity: 'warning',
      team: 'shop',
    });
    expect(ev.alerts[0]?.annotations.summary).toBe('c-1 at 99%');
  });

  it('keepFiringFor holds a firing alert through a short dip, then resolves', () => {
    const rule = cpuRule({ forSeconds: 0, keepFiringForSeconds: 60 });
    expect(
      run(rule, [
        [0, 0.95],
        [30, 0.5], // dip: held (last true at 0, 30 < 60)
        [50, 0.95], // true again: lastTrueAt = 50
        [100, 0.5], // 50 s since true: held
        [109, 0.5], // 59 s: held
        [110, 0.5], // 60 s: resolved
      ]),
    ).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'resolved']);
  });

  it('hysteresis: clearThreshold stops 0.89 ↔ 0.91 flapping that a plain threshold would page on', () => {
    const noisy: Array<[number, number]> = [0.91, 0.89, 0.91, 0.89, 0.91, 0.89, 0.84].map((v, i) => [i * 15, v]);
    const plain = run(cpuRule({ forSeconds: 0 }), noisy);
    const damped = run(cpuRule({ forSeconds: 0, clearThreshold: 0.85 }), noisy);
    expect(plain.filter((s) => s === 'resolved').length).toBe(3); // flaps: 3 resolve notices
    expect(damped).toEqual(['firing', 'firing', 'firing', 'firing', 'firing', 'firing', 'resolved']);
  });

  it('no data neither fires nor resolves: the alert keeps its state', () => {
    expect(
      run(cpuRule({ forSeconds: 60 }), [
        [0, 0.95], // pending
        [30, undefined], // no data: stays pending
        [90, undefined], // no data past `for`: does not fire on missing data
        [91, 0.95], // data again, true, 91 s since active: fires
        [120, undefined], // no data: stays firing (no false resolve)
        [150, 0.2],
      ]),
    ).toEqual(['pending', 'pending', 'pending', 'firing', 'firing', 'resolved']);
  });

  it('a service absent from the snapshots holds; an instance gone from its service resolves', () => {
    const e = new AlertEngine([cpuRule({ forSeconds: 0 })]);
    e.evaluate([snap(0, 0.95)], 0);
    expect(e.evaluate([], 10).alerts.map((a) => a.state)).toEqual(['firing']); // no snapshot: hold
    const ev = e.evaluate([{ service: 'checkout', time: 20, instances: [{ id: 'c-2', cpuUtilization: 0.1 }] }], 20);
    expect(ev.alerts.map((a) => [a.labels.instance, a.state])).toEqual([['c-1', 'resolved']]);
    expect(e.current()).toEqual([]);
  });

  it('one alert per instance, each with its own clock', () => {
    const e = new AlertEngine([cpuRule({ forSeconds: 60 })]);
    const two = (t: number, a: number, b: number): ServiceSnapshot[] => [
      {
        service: 's',
        time: t,
        instances: [
          { id: 'a', cpuUtilization: a },
          { id: 'b', cpuUtilization: b },
        ],
      },
    ];
    e.evaluate(two(0, 0.95, 0.1), 0);
    e.evaluate(two(30, 0.95, 0.95), 30);
    const ev = e.evaluate(two(60, 0.95, 0.95), 60);
    expect(Object.fromEntries(ev.alerts.map((a) => [a.labels.instance, a.state]))).toEqual({
      a: 'firing',
      b: 'pending',
    });
  });

  it('services filter limits a rule to the named services', () => {
    const e = new AlertEngine([cpuRule({ forSeconds: 0, services: ['other'] })]);
    expect(e.evaluate([snap(0, 0.99)], 0).alerts).toEqual([]);
  });
});

describe('built-in rules', () => {
  const rules = defaultRules();
  const byName = (n: string): AlertRule => {
    const r = rules.find((x) => x.name === n);
    if (!r) throw new Error(n);
    return r;
  };

  it('crash loop: 3 restarts within 10 minutes fires; counted through a counter reset; ages out', () => {
    const e = new AlertEngine([byName('HeadroomCrashLooping')]);
    const at = (t: number, restarts: number) =>
      e.evaluate([{ service: 's', time: t, instances: [{ id: 'p', restarts }] }], t);
    expect(at(0, 5).alerts).toEqual([]); // first sample: no increase yet
    expect(at(60, 6).alerts).toEqual([]);
    expect(at(120, 7).alerts).toEqual([]); // +2
    const ev = at(180, 1); // counter reset (new process) counts as +1 → 3 in 3 minutes
    expect(ev.alerts[0]).toMatchObject({ state: 'firing', value: 3 });
    expect(ev.alerts[0]?.annotations.summary).toBe('Instance p of s restarted 3 times in 10 minutes');
    // No more restarts: 10 minutes later the increase is below 3 and it resolves.
    expect(at(500, 1).alerts[0]?.state).toBe('firing');
    expect(at(800, 1).alerts[0]?.state).toBe('resolved');
  });

  it('multiwindow burn rate: a short spike does not page; a sustained burn does; recovery resolves fast', () => {
    const e = new AlertEngine([byName('HeadroomErrorBudgetBurnFast')]);
    const slo = { latencyMs: 200, percentile: 99 };
    const step = (t: number, bad: number) =>
      e.evaluate([{ service: 's', time: t, slo, sloBadFraction: bad, demandRps: 100 }], t);
    // 50 minutes healthy (0.1 % bad = burn 0.1), then a 3-minute spike of 50 % bad.
    for (let t = 0; t < 3000; t += 60) expect(step(t, 0.001).alerts).toEqual([]);
    step(3000, 0.5);
    step(3060, 0.5);
    let ev = step(3120, 0.5);
    // 5 m burn = (2·0.1 % + 3·50 %)/5 / 1 % ≈ 30× but 1 h burn ≈ (57·0.001 + 1.5)/60 / 1 % ≈ 2.6×: no page.
    expect(ev.alerts).toEqual([]);
    // The spike goes on: after ~30 minutes the 1 h window passes 14.4× too.
    let firedAt: number | undefined;
    for (let t = 3180; t < 6000 && firedAt === undefined; t += 60) {
      ev = step(t, 0.5);
      if (ev.alerts[0]?.state === 'firing') firedAt = t;
    }
    expect(firedAt).toBeDefined();
    expect(ev.alerts[0]?.value).toBeGreaterThan(14.4);
    // Recovery: the 5 m window drops below 14.4× within 5 minutes though the 1 h window is still high.
    let resolvedAfter: number | undefined;
    for (let t = (firedAt ?? 0) + 60; resolvedAfter === undefined && t < (firedAt ?? 0) + 900; t += 60) {
      if (step(t, 0).alerts[0]?.state === 'resolved') resolvedAfter = t - (firedAt ?? 0);
    }
    expect(resolvedAfter).toBeLessThanOrEqual(300);
  });

  it('burn rate at 1 s ticks over 2 hours matches the exact windowed mean (bucketed history)', () => {
    const rule: AlertRule = { ...byName('HeadroomErrorBudgetBurnFast'), threshold: 0 };
    const e = new AlertEngine([rule]);
    const slo = { latencyMs: 200, percentile: 99 };
    // Bad fraction steps every minute (0 %, 1 %, … 9 %), demand varies too: a weighted mean.
    const bad = (t: number): number => (Math.floor(t / 60) % 10) / 100;
    const rps = (t: number): number => 50 + (Math.floor(t / 37) % 5) * 20;
    let value = 0;
    for (let t = 0; t <= 7200; t++) {
      const ev = e.evaluate([{ service: 's', time: t, slo, sloBadFraction: bad(t), demandRps: rps(t) }], t);
      value = ev.alerts[0]?.value ?? value;
    }
    const exact = (w: number): number => {
      let b = 0;
      let n = 0;
      for (let t = 7200 - w + 1; t <= 7200; t++) {
        b += bad(t) * rps(t);
        n += rps(t);
      }
      return b / n / 0.01;
    };
    // The value is the weaker window (min of 5 m and 1 h); buckets are 10 s, so within 1 %.
    const want = Math.min(exact(300), exact(3600));
    expect(Math.abs(value - want) / want).toBeLessThan(0.01);
  });

  it('at max replicas while demand grows, for 5 minutes', () => {
    const e = new AlertEngine([byName('HeadroomAtMaxReplicas')]);
    const s = (t: number, desired: number, trend: number): ServiceSnapshot => ({
      service: 's',
      time: t,
      desired,
      max: 10,
      needed: desired,
      demandTrendRpsPerSec: trend,
    });
    expect(e.evaluate([s(0, 10, 0.5)], 0).alerts[0]?.state).toBe('pending');
    expect(e.evaluate([s(299, 10, 0.5)], 299).alerts[0]?.state).toBe('pending');
    expect(e.evaluate([s(300, 10, 0.5)], 300).alerts[0]?.state).toBe('firing');
    expect(e.evaluate([s(360, 10, -0.1)], 360).alerts[0]?.state).toBe('resolved'); // demand falls
    // Capped: needed 14 > max 10 counts as at max even if desired lags.
    const e2 = new AlertEngine([byName('HeadroomAtMaxReplicas')]);
    expect(
      e2.evaluate([{ service: 's', time: 0, desired: 8, needed: 14, max: 10, demandTrendRpsPerSec: 1 }], 0).alerts[0]
        ?.state,
    ).toBe('pending');
  });

  it('cannot fit, latency over SLO, error rate', () => {
    const e = new AlertEngine(rules);
    const s = (t: number, o: Partial<ServiceSnapshot>): ServiceSnapshot => ({ service: 's', time: t, ...o });
    const bad = { fits: false, latencyMs: 300, slo: { latencyMs: 200, percentile: 99 }, errorRate: 0.08 };
    e.evaluate([s(0, bad)], 0);
    const names = (t: number) =>
      e
        .evaluate([s(t, bad)], t)
        .alerts.filter((a) => a.state === 'firing')
        .map((a) => a.rule)
        .sort();
    expect(names(59)).toEqual([]);
    expect(names(60)).toEqual(['HeadroomCannotFit']);
    expect(names(120)).toEqual(['HeadroomCannotFit', 'HeadroomErrorRateHigh', 'HeadroomLatencyOverSlo']);
    const latency = e.current().find((a) => a.rule === 'HeadroomLatencyOverSlo');
    expect(latency?.value).toBe(1.5);
    expect(latency?.annotations.summary).toBe('s latency is 1.50× its SLO');
  });

  it('property: never firing before the condition held for `for`, and never on no data alone', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }), {
          minLength: 1,
          maxLength: 60,
        }),
        (values) => {
          const e = new AlertEngine([cpuRule({ forSeconds: 60 })]);
          let trueSince: number | undefined;
          values.forEach((v, i) => {
            const t = i * 15;
            const ev = e.evaluate([snap(t, v)], t);
            if (v !== undefined) trueSince = v > 0.9 ? (trueSince ?? t) : undefined;
            for (const tr of ev.transitions) {
              if (tr.to === 'firing') {
                expect(v).toBeDefined();
                expect(t - (trueSince ?? t)).toBeGreaterThanOrEqual(60);
              }
            }
          });
        },
      ),
    );
  });
});
