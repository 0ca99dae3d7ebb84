import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HeadroomError, formatProblem, mergeProblems, type ProblemDetail } from '../../src/core/errors.ts';
import { loadSpecFile, parseSpecText, serviceModelFromSpec } from '../../src/input/load.ts';
import { profileStep } from '../support/profile.ts';

function problems(text: string): ProblemDetail[] {
  try {
    parseSpecText(text, 'spec.yaml', tmpdir());
  } catch (err) {
    if (err instanceof HeadroomError) return [...err.problems];
    throw err;
  }
  return expect.unreachable('expected a HeadroomError') as never;
}

const base = `services:
  - name: api
    demand: { rps: 100 }
    instance: { serviceTimeMs: 20, concurrency: 1 }
`;

describe('slo.percentile is a percent, 50 ≤ p < 100', () => {
  it('0.99 (p99 as a fraction) is refused with a hint; 30 is refused; 50 and 99.9 load', () => {
    const frac = problems(`${base}    slo: { latencyMs: 100, percentile: 0.99 }\n`);
    // Two issues on one key, printed as one line (mergeProblems, as the CLI does).
    expect(mergeProblems(frac).map(formatProblem)).toEqual([
      'HR_SPEC_INVALID spec.yaml:5:40: services[0].slo.percentile: too small; 0.99 looks like a fraction: the percentile is a percent, 99 for p99 (value: 0.99; allowed: >= 50)',
    ]);
    const low = problems(`${base}    slo: { latencyMs: 100, percentile: 30 }\n`);
    expect(low.map((p) => [p.code, p.message, p.allowed])).toEqual([['HR_SPEC_INVALID', 'too small', '>= 50']]);
    for (const pct of [50, 99.9]) {
      const spec = parseSpecText(`${base}    slo: { latencyMs: 100, percentile: ${pct} }\n`, 'spec.yaml');
      expect(spec.services[0]?.slo?.percentile).toBe(pct);
    }
  });
});

describe('spec validation errors name file, key, value and allowed range', () => {
  it.each([
    [
      'percentile out of range',
      `${base}    slo: { latencyMs: 100, percentile: 100 }\n`,
      'HR_SPEC_INVALID',
      'services[0].slo.percentile',
      100,
      '< 100',
    ],
    ['negative demand', base.replace('rps: 100', 'rps: -5'), 'HR_SPEC_INVALID', 'services[0].demand.rps', -5, '>= 0'],
    [
      'unknown load balancing',
      `${base}    loadBalancing: roundRobin\n`,
      'HR_SPEC_INVALID',
      'services[0].loadBalancing',
      'roundRobin',
      'one of leastRequests, random',
    ],
    [
      'fractional concurrency',
      base.replace('concurrency: 1', 'concurrency: 1.5'),
      'HR_SPEC_INVALID',
      'services[0].instance.concurrency',
      1.5,
      undefined,
    ],
    [
      'bad cpu quantity',
      base.replace('concurrency: 1', 'concurrency: 1, cpu: 2 cores'),
      'HR_QUANTITY',
      'services[0].instance.cpu',
      '2 cores',
      'cores (2, 0.5) or millicores (500m)',
    ],
    [
      'min above max',
      `${base}    replicas: { min: 5, max: 3 }\n`,
      'HR_SPEC_INVALID',
      'services[0].replicas.min',
      5,
      '<= replicas.max (3)',
    ],
    [
      'zone failures ≥ zones',
      `${base}    availability: { zones: 2, zoneFailures: 2 }\n`,
      'HR_AVAILABILITY_IMPOSSIBLE',
      'services[0].availability.zoneFailures',
      2,
      '0..1 (below availability.zones)',
    ],
    [
      'negative service-time CV',
      base.replace('concurrency: 1 }', 'concurrency: 1, serviceTimeCv: -0.5 }'),
      'HR_SPEC_INVALID',
      'services[0].instance.serviceTimeCv',
      -0.5,
      '>= 0',
    ],
    [
      'service-time quantiles that do not increase',
      base.replace(
        'concurrency: 1 }',
        'concurrency: 1, serviceTimeQuantilesMs: { p50: 15, p90: 30, p99: 25, p999: 90 } }',
      ),
      'HR_SERVICE_TIME',
      'services[0].instance.serviceTimeQuantilesMs.p99',
      25,
      '> 30 ms (p50 < p90 < p99 < p999)',
    ],
    [
      // P(S ≥ 40 ms) ≥ 0.5 alone needs a mean of at least 20 ms; with the rest it needs 20.6.
      'service-time quantiles above what the mean allows',
      base.replace(
        'concurrency: 1 }',
        'concurrency: 1, serviceTimeQuantilesMs: { p50: 40, p90: 41, p99: 80, p999: 200 } }',
      ),
      'HR_SERVICE_TIME',
      'services[0].instance.serviceTimeQuantilesMs',
      { p50: 40, p90: 41, p99: 80, p999: 200 },
      undefined,
    ],
    [
      'a p999 below the mean',
      base.replace(
        'concurrency: 1 }',
        'concurrency: 1, serviceTimeQuantilesMs: { p50: 5, p90: 8, p99: 12, p999: 15 } }',
      ),
      'HR_SERVICE_TIME',
      'services[0].instance.serviceTimeQuantilesMs.p999',
      15,
      '>= 20 ms',
    ],
  ])('%s', (_name, text, code, path, value, allowed) => {
    const [p] = problems(text);
    expect(p?.code).toBe(code);
    expect(p?.file).toBe('spec.yaml');
    expect(p?.path).toBe(path);
    expect(p?.value).toEqual(value);
    if (allowed !== undefined) expect(p?.allowed).toBe(allowed);
  });

  it('reports a typo as an unknown key', () => {
    const [p] = problems(base.replace('demand:', 'demnad:'));
    expect(p?.code).toBe('HR_SPEC_INVALID');
    expect(p?.message).toContain('demnad');
  });

  it('reports YAML syntax errors with line and column', () => {
    const [p] = problems('services:\n  - name: api\n    demand: { rps: 100\n');
    expect(p?.code).toBe('HR_SPEC_PARSE');
    // The flow map opened on line 3 is never closed: the parser says so where the text ends
    // (after the third line's newline: line 4, column 1).
    expect(p).toMatchObject({ line: 4, column: 1 });
  });

  it('reports every problem at once, and duplicate names', () => {
    const list = problems(`${base}  - name: api\n    instance: { serviceTimeMs: -1 }\n`);
    expect(list.map((p) => p.code)).toContain('HR_SPEC_INVALID');
    const dup = problems(`${base}  - name: api\n    instance: { serviceTimeMs: 5 }\n`);
    expect(dup[0]?.code).toBe('HR_DUPLICATE_NAME');
    expect(dup[0]?.path).toBe('services[1].name');
  });

  it('lists the problems in the order they are written, whichever section is checked first', () => {
    // pricing: is checked before the services, but written after them here.
    const list = problems(`${base}    replicas: { min: 5, max: 2 }\npricing: { instanceHour: -1 }\n`);
    expect(list.map((p) => [p.path, p.line])).toEqual([
      ['services[0].replicas.min', 5],
      ['pricing.instanceHour', 6],
    ]);
  });

  it('requires a service time or a profile', () => {
    const [p] = problems('services:\n  - name: api\n    instance: { concurrency: 2 }\n');
    expect(p?.path).toBe('services[0].instance.serviceTimeMs');
    // A profile named but unreadable is its own problem, not "serviceTimeMs required" as well.
    const missing = problems('services:\n  - name: api\n    instance: { profile: nope.profile.json }\n');
    expect(missing.map((q) => [q.code, q.path])).toEqual([['HR_FILE_READ', 'services[0].instance.profile']]);
  });

  it('checks zones against the cluster nodes', () => {
    const [p] = problems(
      `${base}    availability: { zones: 3 }\ncluster:\n  nodes:\n    - { name: n, zone: a, cpu: 4, memory: 8Gi }\n    - { name: m, zone: b, cpu: 4, memory: 8Gi }\n`,
    );
    expect(p?.code).toBe('HR_AVAILABILITY_IMPOSSIBLE');
    expect(p?.allowed).toBe('1..2');
  });

  it('reads a loadtest capacity profile, and explicit values win over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-spec-'));
    const profile = {
      kind: 'headroom.dev/capacity-profile/v1',
      target: 'http://127.0.0.1:8080/',
      measuredAt: '2026-11-25T00:00:00Z',
      slo: { latencyMs: 100, percentile: 99 },
      kneeRps: 180,
      serviceTimeMs: 21.5,
      concurrency: 4,
      steps: [],
    };
    writeFileSync(join(dir, 'api.profile.json'), JSON.stringify(profile));
    writeFileSync(
      join(dir, 'spec.yaml'),
      'services:\n  - name: api\n    instance: { profile: api.profile.json, concurrency: 2 }\n',
    );
    const spec = loadSpecFile(join(dir, 'spec.yaml'));
    expect(spec.services[0]?.instance).toMatchObject({ serviceTimeMs: 21.5, concurrency: 2 });
    writeFileSync(join(dir, 'bad.json'), '{"kind":"something-else"}');
    writeFileSync(join(dir, 'spec2.yaml'), 'services:\n  - name: api\n    instance: { profile: bad.json }\n');
    expect(() => loadSpecFile(join(dir, 'spec2.yaml'))).toThrow(/HR_PROFILE_INVALID/);
    expect(() => loadSpecFile(join(dir, 'missing.yaml'))).toThrow(/HR_FILE_READ/);
  });

  it('marks a capacity from a profile with what it measured (knee, lower bound, SLO), for plan', () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-spec-'));
    const step = profileStep;
    const profile = {
      kind: 'headroom.dev/capacity-profile/v1',
      target: 'http://127.0.0.1:8080/',
      measuredAt: '2026-11-25T00:00:00Z',
      slo: { latencyMs: 50, percentile: 99 },
      kneeRps: 10_000,
      kneeIsLowerBound: true,
      serviceTimeMs: 0.5,
      concurrency: 8,
      steps: [step(6666.67, true), step(10_000, true)],
    };
    const load = (p: object, instance: string) => {
      writeFileSync(join(dir, 'p.json'), JSON.stringify(p));
      writeFileSync(join(dir, 'spec.yaml'), `services:\n  - name: api\n    instance: ${instance}\n`);
      return loadSpecFile(join(dir, 'spec.yaml')).services[0]!.instance;
    };
    expect(load(profile, '{ profile: p.json }')).toMatchObject({
      capacitySource: 'profile',
      profile: { kneeRps: 10_000, kneeIsLowerBound: true, partial: false, slo: { latencyMs: 50, percentile: 99 } },
    });
    // A profile written before kneeIsLowerBound: inferred from its steps (none broke the SLO).
    const { kneeIsLowerBound: _k, ...old } = profile;
    expect(load(old, '{ profile: p.json }').profile?.kneeIsLowerBound).toBe(true);
    const bent = { ...old, kneeRps: 6666.67, steps: [step(6666.67, true), step(10_000, false)] };
    expect(load(bent, '{ profile: p.json }').profile?.kneeIsLowerBound).toBe(false);
    // One of the two numbers from the profile is still a profile capacity; both from the spec is not.
    expect(load(profile, '{ profile: p.json, concurrency: 2 }').capacitySource).toBe('profile');
    const spec = load(profile, '{ profile: p.json, serviceTimeMs: 2, concurrency: 2 }');
    expect(spec).not.toHaveProperty('capacitySource');
    expect(spec).not.toHaveProperty('profile');
    expect(parseSpecText(base, 'spec.yaml').services[0]!.instance).not.toHaveProperty('capacitySource');
  });

  it("reads the profile probe's service-time distribution, scaled to the mean in use; the spec's keys win", () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-spec-'));
    const profile = {
      kind: 'headroom.dev/capacity-profile/v1',
      target: 'http://127.0.0.1:8080/',
      measuredAt: '2026-11-25T00:00:00Z',
      slo: { latencyMs: 100, percentile: 99 },
      kneeRps: 180,
      serviceTimeMs: 10,
      concurrency: 1,
      steps: [],
      serviceTime: {
        source: 'probe',
        samples: 2000,
        meanMs: 5,
        cv: 0.1,
        quantilesMs: { p50: 5, p90: 5.5, p99: 6, p999: 7 },
      },
    };
    writeFileSync(join(dir, 'api.profile.json'), JSON.stringify(profile));
    writeFileSync(join(dir, 'spec.yaml'), 'services:\n  - name: api\n    instance: { profile: api.profile.json }\n');
    // The probe's shape, at the fitted 10 ms mean: every quantile doubles.
    expect(loadSpecFile(join(dir, 'spec.yaml')).services[0]?.instance.serviceTime).toEqual({
      cv: 0.1,
      quantilesMs: { p50: 10, p90: 11, p99: 12, p999: 14 },
      source: 'profile',
    });
    writeFileSync(
      join(dir, 'spec2.yaml'),
      'services:\n  - name: api\n    instance: { profile: api.profile.json, serviceTimeCv: 0 }\n',
    );
    expect(loadSpecFile(join(dir, 'spec2.yaml')).services[0]?.instance.serviceTime).toEqual({ cv: 0, source: 'spec' });
    // Too few probe samples for a p99: a coded error, not a silent tail.
    writeFileSync(
      join(dir, 'few.profile.json'),
      JSON.stringify({ ...profile, serviceTime: { ...profile.serviceTime, samples: 50 } }),
    );
    writeFileSync(join(dir, 'spec3.yaml'), 'services:\n  - name: api\n    instance: { profile: few.profile.json }\n');
    let problem: ProblemDetail | undefined;
    try {
      loadSpecFile(join(dir, 'spec3.yaml'));
    } catch (err) {
      problem = err instanceof HeadroomError ? err.problems[0] : undefined;
    }
    expect(problem).toMatchObject({ code: 'HR_SERVICE_TIME', path: 'services[0].instance.profile' });
    expect(problem?.message).toContain('50 requests');
  });

  it('quantiles alone give the distribution its CV', () => {
    const spec = parseSpecText(
      base.replace(
        'concurrency: 1 }',
        'concurrency: 1, serviceTimeQuantilesMs: { p50: 10, p90: 10.1, p99: 210, p999: 210.1 } }',
      ),
      'spec.yaml',
    );
    const st = spec.services[0]?.instance.serviceTime;
    // 95 % at 10 ms and 5 % at 210 ms has CV 2.18; the quantiles alone cannot see the 5 % exactly.
    expect(st?.source).toBe('spec');
    expect(st?.cv).toBeGreaterThan(1.5);
    expect(st?.cv).toBeLessThan(3);
  });

  it('an SLO no count can meet is not a spec error: the plan reports it as infeasible', () => {
    const spec = parseSpecText(`${base}    slo: { latencyMs: 90, percentile: 99 }\n`, 'spec.yaml');
    expect(spec.services[0]?.slo).toEqual({ latencyMs: 90, percentile: 99 });
  });

  it('serviceModelFromSpec validates one object with a key-path prefix (CRD spec.service)', () => {
    expect(() => serviceModelFromSpec({ name: 'x', instance: { serviceTimeMs: 0 } }, { path: 'spec.service' })).toThrow(
      /spec\.service\.instance\.serviceTimeMs/,
    );
    const m = serviceModelFromSpec({
      name: 'x',
      instance: { serviceTimeMs: 10 },
      slo: { latencyMs: 100, percentile: 99 },
    });
    expect(m.targetUtilization).toBe(0.9);
    expect(Object.isFrozen(m)).toBe(true);
  });
});

describe('defaults', () => {
  it('fills HPA behaviour defaults and maps HPA field names', () => {
    const spec = parseSpecText(
      `${base}    behavior:\n      scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: Min, policies: [{ type: Pods, value: 2, periodSeconds: 30 }] }\n`,
      'spec.yaml',
    );
    const b = spec.services[0]?.behavior;
    expect(b?.tolerance).toBe(0.1);
    expect(b?.scaleUp.stabilizationSeconds).toBe(0);
    expect(b?.scaleDown).toEqual({
      stabilizationSeconds: 60,
      select: 'min',
      policies: [{ type: 'pods', value: 2, periodSeconds: 30 }],
    });
    expect(spec.services[0]?.targetUtilization).toBe(0.7);
    expect(spec.services[0]?.replicas).toEqual({ min: 1, max: 100 });
  });
});

describe('shipped examples', () => {
  const dir = new URL('../../examples/', import.meta.url).pathname;
  // Spec files are the examples with a top-level `services:` (others, e.g. alert rules, have their own tests).
  const specs = readdirSync(dir).filter(
    (f) => /\.(ya?ml|json)$/.test(f) && /^services:/m.test(readFileSync(join(dir, f), 'utf8')),
  );
  it('there are examples', () => expect(specs.length).toBeGreaterThan(0));
  it.each(specs)('%s parses', (f) => {
    const spec = loadSpecFile(join(dir, f));
    expect(spec.services.length).toBeGreaterThan(0);
  });
});
