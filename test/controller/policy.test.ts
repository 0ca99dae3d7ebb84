// HeadroomPolicy → queries and ServiceModel (src/controller/policy.ts), the CRD generated from the
// plan spec schema (src/controller/crd.ts, deploy/), the Prometheus answer parser, the persisted
// decide state.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { decide, initialDecideState, type DecideState } from '../../src/core/decide.ts';
import { model } from '../core/decide-model.ts';
import { planService } from '../../src/core/plan.ts';
import { PROFILE_KIND } from '../../src/input/profile.ts';
import { interpret } from '../../src/adapters/metrics/prometheus/index.ts';
import { restoreState } from '../../src/loop/step.ts';
import { crdManifest, crdYaml, toStructural } from '../../src/controller/crd.ts';
import {
  bucketsOfQuery,
  buildModel,
  demandQueries,
  modelName,
  type HeadroomPolicy,
  type PolicySpec,
} from '../../src/controller/policy.ts';
import { rateWindowOf } from '../../src/controller/history.ts';

function policy(spec: Partial<PolicySpec> = {}, name = 'web'): HeadroomPolicy {
  return {
    metadata: { name, namespace: 'shop', generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        replicas: { min: 1, max: 10 },
      },
      demand: { query: 'sum(rate(x[1m]))' },
      ...spec,
    },
  };
}

function problemOf(fn: () => unknown): { code: string; path?: string; message?: string } {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(HeadroomError);
  const p = (caught as HeadroomError).problems[0];
  expect(p).toBeDefined();
  return p as { code: string; path?: string; message?: string };
}

describe('demandQueries', () => {
  it('passes a query through, with burst and learned service time', () => {
    const p = policy({
      demand: { query: 'q1', burstQuery: 'q2' },
      capacity: { learned: { serviceTimeQuery: 'st' } },
    });
    expect(demandQueries(p.spec)).toEqual({ demand: 'q1', burst: 'q2', serviceTime: 'st' });
  });

  it('expands the requestRate template and escapes label values', () => {
    const p = policy({
      demand: {
        template: {
          name: 'requestRate',
          metric: 'http_requests_total',
          selector: { job: 'web', path: 'a"b\\c' },
          burstWindow: '10s',
        },
      },
    });
    expect(demandQueries(p.spec)).toEqual({
      demand: 'sum(rate(http_requests_total{job="web",path="a\\"b\\\\c"}[1m]))',
      burst: 'sum(rate(http_requests_total{job="web",path="a\\"b\\\\c"}[10s]))',
      burstWindowSeconds: 10, // the Burst reason says "last 10 s", not the behavior's default 6
    });
  });

  it('with inFlight, the template reads arrivals: answered + the growth in flight; a bad name is refused', () => {
    const template = {
      name: 'requestRate' as const,
      metric: 'http_requests_total',
      selector: { job: 'web' },
      burstWindow: '30s',
    };
    const p = policy({ demand: { template: { ...template, inFlight: 'http_requests_in_flight' } } });
    expect(demandQueries(p.spec)).toMatchObject({
      demand: 'sum(rate(http_requests_total{job="web"}[1m])) + sum(deriv(http_requests_in_flight{job="web"}[1m]))',
      burst: 'sum(rate(http_requests_total{job="web"}[30s])) + sum(deriv(http_requests_in_flight{job="web"}[30s]))',
    });
    expect(
      problemOf(() => buildModel(policy({ demand: { template: { ...template, inFlight: 'in flight' } } }))),
    ).toMatchObject({ code: 'HR_SPEC_INVALID', path: 'spec.demand.template.inFlight' });
  });

  it("the history's bursts are scored over the window the expanded demand query reads (rateWindowOf)", () => {
    for (const [window, seconds] of [
      [undefined, 60],
      ['2m', 120],
      ['30s', 30],
    ] as const)
      for (const inFlight of [undefined, 'http_requests_in_flight']) {
        const template = {
          name: 'requestRate' as const,
          metric: 'http_requests_total',
          selector: { job: 'web' },
          ...(window ? { window } : {}),
          ...(inFlight ? { inFlight } : {}),
        };
        expect(rateWindowOf(demandQueries(policy({ demand: { template } }).spec).demand)).toBe(seconds);
      }
  });

  it("a raw latency query's histogram: only a whole histogram_quantile over one histogram", () => {
    expect(bucketsOfQuery(' histogram_quantile(0.9, rate(x_bucket[5m])) ')).toBe('count by (le) (x_bucket)');
    expect(bucketsOfQuery('histogram_quantile(0.99, sum by (le) (rate(a:b_bucket{job="w", le!="+Inf"}[1m])))')).toBe(
      'count by (le) (a:b_bucket{job="w", le!="+Inf"})',
    );
    // Its result in another unit than the bounds', two histograms, a name that only starts like one,
    // a recording rule: not known.
    for (const q of [
      '1000 * histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m])))',
      'histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m]) + rate(y_bucket[1m])))',
      'histogram_quantile(0.99, sum by (le) (rate(x_bucket_total[1m])))',
      'job:latency_seconds:p99',
    ])
      expect(bucketsOfQuery(q), q).toBeUndefined();
  });

  it('expands the latency histogram template at the SLO percentile, in seconds; passes a query through', () => {
    const p = policy({
      latency: {
        template: {
          name: 'histogram',
          metric: 'http_request_duration_seconds',
          selector: { job: 'web' },
          window: '30s',
        },
      },
    });
    expect(demandQueries(p.spec, 95)).toMatchObject({
      latency: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[30s])))',
      latencyRequests: 'sum(increase(http_request_duration_seconds_count{job="web"}[30s]))',
      completions: 'sum(rate(http_request_duration_seconds_count{job="web"}[30s]))',
      latencyUnit: 's',
      // Its bounds: the model is read through them as histogram_quantile reads the measurement.
      latencyBuckets: 'count by (le) (http_request_duration_seconds_bucket{job="web"})',
    });
    const q = policy({ latency: { query: 'p99_ms', requestsQuery: 'n', unit: 'ms' } });
    expect(demandQueries(q.spec)).toMatchObject({ latency: 'p99_ms', latencyRequests: 'n', latencyUnit: 'ms' });
    expect(demandQueries(q.spec).completions).toBeUndefined();
    expect(demandQueries(q.spec).latencyBuckets).toBeUndefined();
    // A raw query that is histogram_quantile over one histogram: its bounds are read too.
    const raw = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))';
    expect(demandQueries(policy({ latency: { query: raw, requestsQuery: 'n' } }).spec).latencyBuckets).toBe(
      'count by (le) (http_request_duration_seconds_bucket{job="web"})',
    );
    // A latency section with a query but no request count is an invalid policy, not a silent no-op.
    expect(problemOf(() => buildModel(policy({ latency: { query: 'p99' } })))).toMatchObject({
      code: 'HR_SPEC_INVALID',
      path: 'spec.latency',
    });
  });

  it('neither query nor template: HR_SPEC_INVALID at spec.demand', () => {
    expect(problemOf(() => demandQueries(policy({ demand: {} }).spec))).toMatchObject({
      code: 'HR_SPEC_INVALID',
      path: 'spec.demand',
    });
  });
});

describe('buildModel', () => {
  it('gives the same model as the plan spec: same sizing as planService', () => {
    const m = buildModel(policy());
    expect(m.name).toBe('web');
    expect(m.replicas).toMatchObject({ min: 1, max: 10 });
    // 40 ms, 1 at a time → 25 rps per instance; 100 rps at 0.5 utilization → 8.
    expect(planService(m, { demandRps: 100 }).replicas).toBe(8);
  });

  it('refuses an end-to-end SLO (a call graph) instead of sizing without it', () => {
    const p = policy({
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        slo: { latencyMs: 100, percentile: 99, scope: 'endToEnd' },
        replicas: { min: 1, max: 10 },
      },
    });
    expect(problemOf(() => buildModel(p))).toMatchObject({ code: 'HR_SPEC_INVALID', path: 'spec.service.slo.scope' });
    // It says where such a graph goes on Kubernetes, not "not yet by the controller".
    expect(problemOf(() => buildModel(p)).message).toContain('by a HeadroomApplication linking the policies');
  });

  it('reports inconsistent specs with the spec.service path (min > max)', () => {
    const p = policy({ service: { instance: { serviceTimeMs: 40, concurrency: 1 }, replicas: { min: 5, max: 2 } } });
    const prob = problemOf(() => buildModel(p));
    expect(prob.code).toBe('HR_SPEC_INVALID');
    expect(prob.path).toMatch(/^spec\.service\.replicas/);
  });

  it('reads capacity from a loadtest profile; explicit instance fields win', () => {
    const profile = JSON.stringify({
      kind: PROFILE_KIND,
      target: 'http://x',
      measuredAt: '2026-12-01T00:00:00Z',
      slo: { latencyMs: 200, percentile: 99 },
      kneeRps: 100,
      serviceTimeMs: 20,
      concurrency: 4,
      steps: [],
    });
    const withProfile = (instance: Record<string, unknown>) =>
      policy({
        service: { instance, replicas: { min: 1, max: 10 } },
        capacity: { profile: { configMapKeyRef: { name: 'cap', key: 'web.json' } } },
      });
    const m = buildModel(withProfile({}), profile);
    expect(m.instance).toMatchObject({ serviceTimeMs: 20, concurrency: 4 });
    expect(buildModel(withProfile({ concurrency: 2 }), profile).instance.concurrency).toBe(2);
    expect(problemOf(() => buildModel(withProfile({}), undefined))).toMatchObject({ code: 'HR_SPEC_INVALID' });
    expect(problemOf(() => buildModel(withProfile({}), 'not json'))).toMatchObject({ code: 'HR_PROFILE_INVALID' });
    expect(problemOf(() => buildModel(withProfile({}), '{"kind":"other"}'))).toMatchObject({
      code: 'HR_PROFILE_INVALID',
    });
    // The probe's distribution comes with the profile, as in `headroom plan` (scaled to the mean in use).
    const probed = JSON.stringify({
      ...JSON.parse(profile),
      serviceTime: {
        source: 'probe',
        samples: 1000,
        meanMs: 20,
        cv: 0.1,
        quantilesMs: { p50: 19.8, p90: 21, p99: 24, p999: 28 },
      },
    });
    const withDist = buildModel(withProfile({}), probed);
    expect(withDist.instance.serviceTime?.quantilesMs?.p99).toBeCloseTo(24, 1);
    expect(withDist.instance.serviceTime?.source).toBe('profile');
    // With it a fixed-ish service meets a 60-ms p99 at 600 rps; as exponential (no distribution) the
    // same capacity predicts ~93 ms, above the SLO at any count.
    const slo = (prof: string) =>
      buildModel(
        policy({
          service: { instance: {}, replicas: { min: 1, max: 50 }, slo: { latencyMs: 60, percentile: 99 } },
          capacity: { profile: { configMapKeyRef: { name: 'cap', key: 'web.json' } } },
        }),
        prof,
      );
    expect(planService(slo(probed), { demandRps: 600 }).predicted.latencyMs).toBeLessThan(60);
    expect(planService(slo(profile), { demandRps: 600 }).predicted.latencyMs).toBeGreaterThan(60);
  });

  it('top-level fallback lands in behavior.fallback', () => {
    const m = buildModel(policy({ fallback: { afterFailures: 3, replicas: 4 } }));
    expect(m.behavior.fallback).toEqual({ afterFailures: 3, replicas: 4 });
  });

  it('modelName makes a DNS label of any CR name', () => {
    expect(modelName('web.shop.example')).toBe('web-shop-example');
    expect(modelName('...')).toBe('policy');
    expect(modelName('a'.repeat(100))).toHaveLength(63);
  });
});

describe('CRD', () => {
  it('deploy/ and the Helm chart hold exactly the generated CRD', () => {
    const url = (p: string) => new URL(`../../${p}`, import.meta.url);
    expect(readFileSync(url('deploy/crds/headroompolicies.headroom.dev.yaml'), 'utf8')).toBe(crdYaml());
    expect(readFileSync(url('deploy/helm/headroom/crds/headroompolicies.headroom.dev.yaml'), 'utf8')).toBe(crdYaml());
    expect(parse(crdYaml())).toEqual(crdManifest());
  });

  it('kubectl get hrp shows Ready and its Reason (an invalid policy has no counts to show)', () => {
    const v = (crdManifest().spec as { versions: { additionalPrinterColumns: Record<string, unknown>[] }[] })
      .versions[0];
    const cols = v?.additionalPrinterColumns ?? [];
    const col = (name: string) => cols.find((c) => c.name === name);
    expect(col('Ready')).toEqual({
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    });
    expect(col('Reason')).toEqual({
      name: 'Reason',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
    });
  });

  it('is structural: no $schema, no additionalProperties:false, no anyOf type unions', () => {
    const text = JSON.stringify(crdManifest());
    expect(text).not.toContain('$schema');
    expect(text).not.toContain('"additionalProperties":false');
    expect(text).not.toContain('"anyOf"');
    expect(text).not.toMatch(/"type":\[/);
  });

  it('toStructural maps JSON Schema idioms to Kubernetes ones', () => {
    expect(toStructural({ type: 'number', exclusiveMinimum: 0 })).toEqual({
      type: 'number',
      minimum: 0,
      exclusiveMinimum: true,
    });
    expect(toStructural({ anyOf: [{ type: 'string' }, { type: 'number', minimum: 0 }] })).toEqual({
      'x-kubernetes-int-or-string': true,
    });
    expect(
      toStructural({
        type: 'object',
        additionalProperties: { type: 'string', description: 'x' },
        properties: { a: { type: 'integer' } },
      }),
    ).toEqual({ type: 'object', additionalProperties: { type: 'string' }, properties: { a: { type: 'integer' } } });
  });

  it('spec.service has the plan keys (SLO, availability, replicas, behavior) minus name, demand, instance.profile', () => {
    type S = { properties: Record<string, S> };
    const spec = crdManifest().spec as { versions: { schema: { openAPIV3Schema: S } }[] };
    const svc = spec.versions[0]?.schema.openAPIV3Schema.properties.spec?.properties.service as S;
    expect(Object.keys(svc.properties)).toEqual(
      expect.arrayContaining(['instance', 'slo', 'replicas', 'availability', 'behavior']),
    );
    expect(svc.properties.name).toBeUndefined();
    expect(svc.properties.demand).toBeUndefined();
    expect(svc.properties.instance?.properties.profile).toBeUndefined();
  });
});

describe('Prometheus answers (interpret)', () => {
  it('sums a vector, reads a scalar; empty or NaN is no-data; a matrix is an error', () => {
    expect(interpret({ resultType: 'vector', result: [{ value: [10, '2.5'] }, { value: [11, '1'] }] })).toEqual({
      kind: 'ok',
      value: 3.5,
      at: 11,
      series: 2,
    });
    expect(interpret({ resultType: 'scalar', result: [5, '7'] })).toMatchObject({ kind: 'ok', value: 7 });
    expect(interpret({ resultType: 'vector', result: [] }).kind).toBe('no-data');
    expect(interpret({ resultType: 'vector', result: [{ value: [1, 'NaN'] }] }).kind).toBe('no-data');
    // A negative rate (a bad query, or deriv() over a draining gauge at idle) is no data, as decide() takes it.
    expect(interpret({ resultType: 'vector', result: [{ value: [1, '-50'] }] })).toEqual({
      kind: 'no-data',
      reason: 'the query returned -50: a request rate cannot be negative',
    });
    expect(interpret({ resultType: 'matrix', result: [] }).kind).toBe('error');
    expect(interpret(undefined).kind).toBe('error');
  });
});

describe('restoreState', () => {
  it('keeps a well-formed persisted state, replaces anything else with a fresh one', () => {
    const saved = { ...initialDecideState(), failures: 3, recommendations: [[100, 4]] };
    expect(restoreState(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    expect(restoreState(undefined)).toEqual(initialDecideState());
    expect(restoreState({ failures: 'x' })).toEqual(initialDecideState());
  });

  it('keeps well-formed burst episodes and drops malformed ones (the rest of the state stays)', () => {
    const bursts = { open: [900, 300, 600, 915, 0, 1], scores: [[100, 2.03]] };
    const saved = { ...initialDecideState(), failures: 1, bursts };
    expect(restoreState(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    // Saved before the first-burst prior (5 numbers): kept, read as no prior.
    const older = { ...saved, bursts: { ...bursts, open: [900, 300, 600, 915, 0] } };
    expect(restoreState(JSON.parse(JSON.stringify(older)))).toEqual(older);
    // Whether a burst sized with the prior was scored: 0 or 1, else the episodes start afresh.
    const flagged = { ...saved, bursts: { ...bursts, firstRise: 0 } };
    expect(restoreState(JSON.parse(JSON.stringify(flagged)))).toEqual(flagged);
    const bad7 = { scores: [], open: [1, 2, 3, 4, 5, 6, 7] };
    const badFlag = { scores: [], firstRise: 'yes' };
    for (const bad of [{ scores: 'x' }, { scores: [[1]] }, { scores: [], open: [1, 2] }, bad7, badFlag, null, 5]) {
      const r = restoreState({ ...saved, bursts: bad });
      expect(r.bursts).toBeUndefined();
      expect(r.failures).toBe(1);
    }
  });

  it('a state corrupted anywhere in its demand history starts afresh instead of throwing every round', () => {
    // A week of history through decide() itself, then one leaf at a time made wrong: each must
    // restore to a state decide() runs on (it threw "reading 'slice'" every second on "garbage").
    const m = model();
    let state = initialDecideState();
    for (let t = 0; t < 86400; t += 60)
      state = decide(m, state, { demandRps: 100 + (t % 3600) / 36, readyReplicas: 3, currentReplicas: 3 }, t).state;
    const good = JSON.parse(JSON.stringify(state)) as DecideState;
    expect(restoreState(good)).toEqual(good);
    const h = good.demand;
    const corrupt: Array<Partial<DecideState['demand']> | string> = [
      'garbage',
      { ...h, values: 'x' as never },
      { ...h, last: null as never },
      { ...h, minutes: [[1, 2]] as never },
      { ...h, misses: [[[['a', 1]]]] as never },
      { ...h, scored: [['x']] as never },
      { ...h, peaks: [{}] as never },
      { ...h, level: 'high' as never },
      { ...h, period: { at: 1, lag: 'x' } as never },
      { ...h, shifts: [[1, 2, 3]] as never },
      { ...h, shifted: [['x']] as never },
    ];
    for (const demand of corrupt) {
      const r = restoreState({ ...good, demand });
      expect(r).toEqual(initialDecideState());
      expect(() => decide(m, r, { demandRps: 100, readyReplicas: 3, currentReplicas: 3 }, 86400)).not.toThrow();
    }
    expect(restoreState({ ...good, recommendations: [[1, 'x']] })).toEqual(initialDecideState());
    expect(restoreState({ ...good, failures: -1 })).toEqual(initialDecideState());
  });

  it('keeps well-formed falls and drops malformed ones (the rest of the state stays)', () => {
    const falls = {
      open: [900, 1644, 694, 0],
      outcomes: [
        [100, 0],
        [400, 1],
      ],
    };
    const saved = { ...initialDecideState(), failures: 1, falls };
    expect(restoreState(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    for (const bad of [{ outcomes: 'x' }, { outcomes: [[1]] }, { outcomes: [], open: [1, 2, 3] }, null, 5]) {
      const r = restoreState({ ...saved, falls: bad });
      expect(r.falls).toBeUndefined();
      expect(r.failures).toBe(1);
    }
  });

  it("keeps a quiet phase's start and forgets one that is not a time", () => {
    const saved = { ...initialDecideState(), failures: 2, quietSince: 7500 };
    expect(restoreState(JSON.parse(JSON.stringify(saved)))).toEqual(saved);
    for (const bad of ['7500', null, {}, Number.NaN]) {
      const r = restoreState({ ...saved, quietSince: bad });
      expect(r.quietSince).toBeUndefined();
      expect(r.failures).toBe(2);
    }
  });
});
