import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultBehavior, type ServiceModel } from '../../src/core/model.ts';
import { availabilityCount, planService, planServices, survivors } from '../../src/core/plan.ts';

function model(over: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name: 'svc',
    demandRps: 900,
    instance: { serviceTimeMs: 20, concurrency: 1 },
    loadBalancing: 'leastRequests',
    targetUtilization: 0.7,
    replicas: { min: 1, max: 1000 },
    availability: { zones: 1, zoneFailures: 0, instanceFailures: 0 },
    startupSeconds: 60,
    behavior: defaultBehavior(),
    ...over,
  };
}

describe('edges a new user meets', () => {
  it('any demand needs an instance: 1e-8 rps gets 1, not 0 at "Infinity %" busy', () => {
    const p = planService(model({ demandRps: 1e-8, replicas: { min: 0, max: 10 } }));
    expect(p.replicas).toBe(1);
    expect(Number.isFinite(p.predicted.utilization)).toBe(true);
    expect(p.warnings.join('\n')).not.toMatch(/overloaded|Infinity/);
  });

  it('one instance fewer that misses the SLO by less than 0.01 % is not printed as meeting it', () => {
    // random: each M/M/1 gets 900/N rps; 227 reach 98.998 %, 228 reach 99.000 % (≥ 99 %).
    const p = planService(model({ loadBalancing: 'random', slo: { latencyMs: 100, percentile: 99 } }));
    const line = p.details.find((d) => d.name === 'latency')?.detail ?? '';
    const [, below, at] = /with \d+ give ([\d.]+) %, \d+ give ([\d.]+) %/.exec(line) ?? [];
    expect(Number(below)).toBeLessThan(99);
    expect(Number(at)).toBeGreaterThanOrEqual(99);
  });

  it('an SLO past the search limit is said as that, not as unreachable', () => {
    const p = planService(
      model({ demandRps: 1e9, slo: { latencyMs: 100, percentile: 99 }, replicas: { min: 1, max: 100_000 } }),
    );
    expect(p.warnings.join('\n')).toMatch(
      /the SLO needs more than 1000000 instances \(the most the latency search tries\)/,
    );
  });

  it('no instance at all for a positive demand: "no instance to serve", not "Infinity % busy"', () => {
    const p = planService(model({ demandRps: 100 }), { fit: { replicas: 0, detail: 'the nodes fit 0' } });
    expect(p.replicas).toBe(0);
    expect(p.warnings).toContain('overloaded: no instance to serve 100 rps');
  });
});

describe('each constraint on its own', () => {
  it.each([
    // demand, serviceTimeMs, concurrency, target → ceil(demand / (c·1000/s · target))
    [900, 20, 1, 0.7, 26], // 900 / 35 = 25.7
    [1000, 20, 1, 0.5, 40], // exactly 40: no float dust pushes it to 41
    [900, 20, 4, 0.9, 5], // 900 / 180 = 5
    [0, 20, 1, 0.7, 0],
  ])('utilization: %d rps, %d ms, c=%d, target %d → %d', (demandRps, serviceTimeMs, concurrency, target, expected) => {
    const p = planService(
      model({
        demandRps,
        instance: { serviceTimeMs, concurrency },
        targetUtilization: target,
        replicas: { min: 0, max: 1000 },
      }),
    );
    expect(p.constraints.utilization).toBe(expected);
    expect(p.binding).toBe(expected > 0 ? 'utilization' : 'minReplicas');
  });

  it('latency binds when the SLO is tighter than the utilization target', () => {
    const p = planService(model({ slo: { latencyMs: 100, percentile: 99 }, targetUtilization: 0.9 }));
    expect(p.constraints.utilization).toBe(20); // 900 / 45
    expect(p.constraints.latency).toBe(21);
    expect(p.binding).toBe('latency');
    expect(p.replicas).toBe(21);
    expect(p.predicted.attainment).toBeGreaterThanOrEqual(0.99);
    expect(p.predicted.latencyMs).toBeLessThanOrEqual(100);
  });

  it('an unreachable SLO names its percentile as written, however many nines', () => {
    const p = planService(model({ slo: { latencyMs: 100, percentile: 99.99999 }, targetUtilization: 0.9 }));
    expect(p.warnings.join('\n')).toContain('SLO unreachable: the service time alone takes 322 ms at p99.99999,');
  });

  it('random load balancing needs more instances and says how many leastRequests would need', () => {
    const p = planService(
      model({ loadBalancing: 'random', slo: { latencyMs: 100, percentile: 99 }, targetUtilization: 0.9 }),
    );
    expect(p.constraints.latency).toBe(228); // each M/M/1 must stay ≤ 3.95 rps
    expect(p.warnings.some((w) => w.includes('leastRequests would need 21'))).toBe(true);
  });

  it('minReplicas binds at low demand', () => {
    const p = planService(model({ demandRps: 10, replicas: { min: 3, max: 10 } }));
    expect(p.replicas).toBe(3);
    expect(p.binding).toBe('minReplicas');
  });

  it('maxReplicas caps and the plan is infeasible', () => {
    const p = planService(model({ replicas: { min: 1, max: 10 } }));
    expect(p.needed).toBe(26);
    expect(p.replicas).toBe(10);
    expect(p.binding).toBe('maxReplicas');
    expect(p.feasible).toBe(false);
    expect(p.predicted.latencyMs).toBeNull(); // 900 rps on 10 × 50 rps is overloaded
  });

  it('capacity caps below max and binds', () => {
    const p = planService(model(), { fit: { replicas: 12, detail: 'test fits 12' } });
    expect(p.replicas).toBe(12);
    expect(p.binding).toBe('capacity');
    expect(p.feasible).toBe(false);
  });
});

describe('warnings about a capacity measured by `headroom loadtest`', () => {
  const slo = { latencyMs: 100, percentile: 99 };
  const measured = { kneeRps: 10_000, kneeIsLowerBound: false, partial: false, concurrencyMeasured: true, slo };
  const fromProfile = (profile: Partial<typeof measured> = {}, over: Partial<ServiceModel> = {}): ServiceModel =>
    model({
      slo,
      targetUtilization: 0.9,
      instance: {
        serviceTimeMs: 20,
        concurrency: 4,
        cpuMillis: 1000,
        serviceTime: { cv: 0.2, source: 'profile' },
        capacitySource: 'profile',
        profile: { ...measured, ...profile },
      },
      ...over,
    });
  const has = (ws: string[], text: string): boolean => ws.some((w) => w.includes(text));

  it('the knee of a run that hit --max-rps is a lower bound', () => {
    const ws = planService(fromProfile({ kneeIsLowerBound: true })).warnings;
    expect(ws).toContain(
      'the knee 10000 rps is a lower bound: the load test hit --max-rps; rerun with a higher ceiling (the fitted capacity is extrapolated from latencies that never rose)',
    );
    expect(has(planService(fromProfile()).warnings, 'lower bound')).toBe(false);
  });

  it('… or of a run that stopped early before any rate broke the SLO', () => {
    const ws = planService(fromProfile({ kneeIsLowerBound: true, partial: true, kneeRps: 1234.5 })).warnings;
    expect(has(ws, 'the knee 1234.5 rps is a lower bound: the load test stopped early')).toBe(true);
  });

  it('names both SLOs when the spec differs from the profile', () => {
    const ws = planService(fromProfile({ slo: { latencyMs: 50, percentile: 99 } })).warnings;
    expect(ws).toContain(
      "the profile was measured for p99 ≤ 50 ms; this spec's SLO is p99 ≤ 100 ms: the knee does not apply, the fitted service time does",
    );
    const pct = planService(fromProfile({ slo: { latencyMs: 100, percentile: 95 } })).warnings;
    expect(has(pct, 'measured for p95 ≤ 100 ms; this spec')).toBe(true);
    expect(has(planService(fromProfile()).warnings, 'the profile was measured for')).toBe(false);
    // No SLO in the spec: the knee is not used, nothing to compare.
    const { slo: _none, ...noSlo } = fromProfile({ slo: { latencyMs: 50, percentile: 99 } });
    expect(has(planService(noSlo).warnings, 'the profile was measured for')).toBe(false);
  });

  it('does not suggest `headroom loadtest` for numbers that came from it', () => {
    const ws = planService(fromProfile()).warnings;
    const cpu = ws.find((w) => w.startsWith('concurrency 4 on 1 CPU'));
    expect(cpu).toBe(
      'concurrency 4 on 1 CPU: if requests are CPU-bound an instance serves fewer at once than modelled; check that the load test ran the instance with the same CPU (1)',
    );
    // A profile without a service-time distribution: rerun it, not "use one".
    const base = fromProfile();
    const { serviceTime: _st, ...noDist } = base.instance;
    const exp = planService({ ...base, instance: noDist }).warnings.find((w) => w.startsWith('service times assumed'));
    expect(exp).toContain('the profile has no service-time distribution');
    expect(exp).not.toContain('use a `headroom loadtest` profile');
    // Hand-written numbers still get the suggestion.
    const spec = model({ instance: { serviceTimeMs: 20, concurrency: 4, cpuMillis: 1000 }, slo });
    expect(has(planService(spec).warnings, 'measure it with `headroom loadtest`')).toBe(true);
    expect(has(planService(spec).warnings, 'or use a `headroom loadtest` profile')).toBe(true);
  });

  it('a capacity learned live replaces the profile: none of its warnings apply', () => {
    const m = fromProfile({ kneeIsLowerBound: true, slo: { latencyMs: 50, percentile: 99 } });
    const ws = planService(m, { capacity: { serviceTimeMs: 20, concurrency: 4 } }).warnings;
    expect(has(ws, 'lower bound')).toBe(false);
    expect(has(ws, 'the profile was measured for')).toBe(false);
    expect(has(ws, 'measure it with `headroom loadtest`')).toBe(true);
  });
});

describe('explanations, rendered on first read', () => {
  it('JSON carries every constraint line and warning (a plan renders them lazily, not as own fields)', () => {
    const p = planService(model({ slo: { latencyMs: 100, percentile: 99 }, replicas: { min: 2, max: 10 } }));
    const json = JSON.parse(JSON.stringify(p)) as {
      binding: string;
      details: Array<{ name: string; detail: string }>;
      warnings: string[];
    };
    expect(json.binding).toBe('maxReplicas');
    expect(json.details.map((d) => d.name)).toEqual(['utilization', 'latency', 'minReplicas', 'maxReplicas']);
    expect(json.details[0]?.detail).toBe('900 rps ÷ (50 rps per instance × 0.7) = 25.71 → 26');
    // max 10 caps the 26 needed: the warning quotes the cap's own line.
    expect(json.warnings).toContain('replicas.max caps the count at 10, below the 26 needed (replicas.max = 10)');
    expect(json.warnings.some((w) => w.startsWith('service times assumed exponential'))).toBe(true);
  });
});

describe('availability', () => {
  it.each([
    // n, zones, f, k → survivors
    [39, 3, 1, 0, 26],
    [40, 3, 1, 0, 26], // 14/13/13: losing the 14-zone keeps 26
    [10, 1, 0, 2, 8],
    [7, 2, 1, 1, 2], // 4/3: lose 4, then 1 more
  ])('survivors(%d, zones %d, f %d, k %d) = %d', (n, z, f, k, expected) => {
    expect(survivors(n, z, f, k)).toBe(expected);
  });

  it.each([
    [26, 3, 1, 0, 39],
    [26, 3, 0, 2, 28],
    [10, 2, 1, 0, 20],
    [10, 4, 1, 1, 15], // 15 = 4/4/4/3: lose a 4, then 1 → 10
    [0, 3, 1, 0, 0],
    [0, 3, 1, 1, 0], // no demand: nothing to protect, whatever may fail
  ])('base %d, zones %d, f %d, k %d → %d', (base, z, f, k, expected) => {
    const n = availabilityCount(base, z, f, k);
    expect(n).toBe(expected);
    expect(survivors(n, z, f, k)).toBeGreaterThanOrEqual(base);
    if (n > base) expect(survivors(n - 1, z, f, k)).toBeLessThan(base);
  });

  it('binds when zones must survive a failure', () => {
    const p = planService(model({ availability: { zones: 3, zoneFailures: 1, instanceFailures: 0 } }));
    expect(p.constraints.utilization).toBe(26);
    expect(p.constraints.availability).toBe(39);
    expect(p.binding).toBe('availability');
    expect(p.details.find((d) => d.name === 'availability')?.detail).toContain('13/13/13');
  });
});

describe('shared cluster', () => {
  const GiB = 2 ** 30;
  const nodes = [
    { name: 'a1', zone: 'a', cpuMillis: 8000, memoryBytes: 32 * GiB },
    { name: 'a2', zone: 'a', cpuMillis: 8000, memoryBytes: 32 * GiB },
    { name: 'b1', zone: 'b', cpuMillis: 8000, memoryBytes: 32 * GiB },
  ];

  it('fits by the scarcer of CPU and memory per node (the seed host formula)', () => {
    // 1 CPU / 8 GiB instances: memory binds, 4 per node.
    const p = planServices(
      [model({ instance: { serviceTimeMs: 20, concurrency: 1, cpuMillis: 1000, memoryBytes: 8 * GiB } })],
      { nodes },
    );
    expect(p[0]?.constraints.capacity).toBe(12);
  });

  it('spreads over zones: the smaller zone limits the even spread', () => {
    // 500m instances: 16 per node → zone a 32, zone b 16 → 2 zones fit 16 + 17 = 33.
    const m = model({
      instance: { serviceTimeMs: 20, concurrency: 1, cpuMillis: 500 },
      availability: { zones: 2, zoneFailures: 0, instanceFailures: 0 },
    });
    expect(planServices([m], { nodes })[0]?.constraints.capacity).toBe(33);
  });

  it('later services get the room the earlier ones left', () => {
    const big = model({
      name: 'big',
      demandRps: 700,
      instance: { serviceTimeMs: 20, concurrency: 1, cpuMillis: 1000 },
    }); // 20 × 1 CPU
    const next = model({
      name: 'next',
      demandRps: 100,
      instance: { serviceTimeMs: 20, concurrency: 1, cpuMillis: 1000 },
    });
    const [a, b] = planServices([big, next], { nodes });
    expect(a?.replicas).toBe(20);
    expect(b?.constraints.capacity).toBe(4); // 24 CPUs − 20
  });
});

describe('properties', () => {
  const arb = fc.record({
    demandRps: fc.double({ min: 0, max: 20_000, noNaN: true }),
    serviceTimeMs: fc.double({ min: 1, max: 500, noNaN: true }),
    concurrency: fc.integer({ min: 1, max: 16 }),
    target: fc.double({ min: 0.1, max: 1, noNaN: true }),
    min: fc.integer({ min: 0, max: 10 }),
    lb: fc.constantFrom('leastRequests' as const, 'random' as const),
    zones: fc.integer({ min: 1, max: 4 }),
    k: fc.integer({ min: 0, max: 2 }),
  });

  it('never NaN, negative or below the floor; needed ≥ every lower bound', () => {
    fc.assert(
      fc.property(arb, (a) => {
        const p = planService(
          model({
            demandRps: a.demandRps,
            instance: { serviceTimeMs: a.serviceTimeMs, concurrency: a.concurrency },
            loadBalancing: a.lb,
            slo: { latencyMs: a.serviceTimeMs * 10, percentile: 99 },
            targetUtilization: a.target,
            replicas: { min: a.min, max: 100_000 },
            availability: { zones: a.zones, zoneFailures: a.zones > 1 ? 1 : 0, instanceFailures: a.k },
          }),
        );
        expect(Number.isInteger(p.replicas)).toBe(true);
        expect(p.replicas).toBeGreaterThanOrEqual(a.min);
        for (const d of p.details) if (d.bound === 'lower') expect(p.needed).toBeGreaterThanOrEqual(d.replicas);
        expect(Number.isNaN(p.predicted.utilization)).toBe(false);
        if (a.demandRps > 0) expect(p.predicted.attainment).toBeGreaterThanOrEqual(0.99);
      }),
      { numRuns: 150 },
    );
  });

  it('monotone in demand', () => {
    fc.assert(
      fc.property(arb, fc.double({ min: 1, max: 3, noNaN: true }), (a, factor) => {
        const m = model({
          demandRps: a.demandRps,
          instance: { serviceTimeMs: a.serviceTimeMs, concurrency: a.concurrency },
          loadBalancing: a.lb,
          slo: { latencyMs: a.serviceTimeMs * 10, percentile: 99 },
          targetUtilization: a.target,
        });
        expect(planService(m, { demandRps: a.demandRps * factor }).replicas).toBeGreaterThanOrEqual(
          planService(m).replicas,
        );
      }),
      { numRuns: 100 },
    );
  });
});
