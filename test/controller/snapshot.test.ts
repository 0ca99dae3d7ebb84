// The controller's status and alert snapshots (src/controller/snapshot.ts): pure mapping from a
// policy, its status and the leader's observations, fed to the real alert engine.
import { describe, expect, it } from 'vitest';
import { parseAlertConfig } from '../../src/alerting/config.ts';
import { createAlerting } from '../../src/alerting/runtime.ts';
import { sizingCapacity } from '../../src/core/decide.ts';
import { buildModel, demandCounts, type HeadroomPolicy, type PolicyStatus } from '../../src/controller/policy.ts';
import {
  policyAlertSnapshot,
  policyStatusSnapshot,
  serviceName,
  type PolicyView,
} from '../../src/controller/snapshot.ts';
import { nextStatus } from '../../src/controller/status.ts';
import { dashboardCost } from '../../src/server/dashboard/plugin.ts';
import { snapshotCapacity } from '../../src/server/dashboard/whatif.ts';
import { demandTrend, type HistoryPoint } from '../../src/server/status.ts';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

function policy(name = 'web', namespace = 'shop', mode: 'active' | 'shadow' = 'active'): HeadroomPolicy {
  return {
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      mode,
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        replicas: { min: 1, max: 4 },
        slo: { latencyMs: 200, percentile: 99 },
      },
      demand: { query: 'sum(rate(http_requests_total[1m]))' },
    },
  };
}

const status: PolicyStatus = {
  currentReplicas: 2,
  desiredReplicas: 4,
  lastDecision: {
    time: '2026-12-01T09:59:59.000Z',
    desired: 4,
    recommended: 6,
    valid: true,
    binding: 'maxReplicas',
    mode: 'normal',
    demandRps: 70,
    predictedUtilization: 0.7,
    predictedLatencyMs: 55,
    reasons: [
      { code: 'Sized', message: '70 rps at utilization 0.5 needs 6' },
      { code: 'MaxReplicas', message: 'capped at max 4' },
    ],
  },
};

function view(over: Partial<PolicyView> = {}): PolicyView {
  const p = over.policy ?? policy();
  return { policy: p, status, model: buildModel(p), history: [], events: [], ...over };
}

describe('policyStatusSnapshot', () => {
  it('a standby (nothing observed) shows the persisted decision with its reasons', () => {
    const p = { ...policy(), status };
    const s = policyStatusSnapshot({ policy: p, history: [], events: [] }, T0, T0 - 5000);
    expect(s.kind).toBe('headroom.dev/status/v1');
    expect(s.mode).toBe('kubernetes');
    expect(s.service.name).toBe('shop/web');
    expect(s.uptimeSeconds).toBe(5);
    // Ready is what a round reads: the status does not say (null, not the current count).
    expect(s.replicas).toMatchObject({ desired: 4, current: 2, ready: null, min: 1, max: 4 });
    expect(s.decision?.reasons.map((r) => r.code)).toEqual(['Sized', 'MaxReplicas']);
    expect(s.decision).toMatchObject({ desired: 4, recommended: 6, binding: 'maxReplicas', applied: false });
    expect(s.decision?.predicted).toEqual({ utilization: 0.7, latencyMs: 55 });
    expect(s.traffic.stable).toBeNull();
    expect(s.alerts).toBeUndefined();
  });

  it('the leader shows what it observed: ready count, demand, applied, shadow flag, no decision yet = null', () => {
    const v = view({
      policy: policy('api', 'shop', 'shadow'),
      observed: { at: T0, specReplicas: 3, statusReplicas: 1, demandRps: 42, applied: true, sizedForRps: 50 },
    });
    const s = policyStatusSnapshot(v, T0, T0);
    expect(s.shadow).toBe(true);
    expect(s.replicas).toMatchObject({ current: 3, ready: 1, desired: 4 });
    expect(s.traffic.stable?.arrivalRps).toBe(42);
    expect(s.traffic.burst).toBeNull();
    expect(s.decision).toMatchObject({ applied: true, sizedForRps: 50 });
    expect(s.service.slo).toEqual({ latencyMs: 200, percentile: 99 });
    expect(s.service.capacity).toEqual({ serviceTimeMs: 40, concurrency: 1, source: 'spec' });
    const none = policyStatusSnapshot(view({ status: {} }), T0, T0);
    expect(none.decision).toBeNull();
  });

  it('a new policy before its first round: counts unknown (null, not 0), no cost, bounds from the spec', () => {
    const s = policyStatusSnapshot({ policy: policy(), model: buildModel(policy()), history: [], events: [] }, T0, T0);
    expect(s.replicas).toEqual({ desired: null, current: null, ready: null, min: 1, max: 4, fitLimit: null });
    expect(s.decision).toBeNull();
    const priced = { ...buildModel(policy()), pricing: { currency: 'USD', instanceHour: 0.05 } };
    expect(dashboardCost(priced, s)).toBeUndefined();
    // Once the round read the scale target, the counts and their cost are there.
    const read = policyStatusSnapshot(
      view({
        status: undefined,
        observed: { at: T0, specReplicas: 2, statusReplicas: 2, readyReplicas: 1, applied: false },
      }),
      T0,
      T0,
    );
    expect(read.replicas).toMatchObject({ desired: 2, current: 2, ready: 1 });
    expect(dashboardCost(priced, read)?.currentPerMonth).toBeCloseTo(2 * 0.05 * 730, 9);
  });

  it('says what the demand counts: answers for a counter, arrivals with inFlight, nothing for a raw query', () => {
    const t = { name: 'requestRate' as const, metric: 'http_requests_total', burstWindow: '30s' };
    const pods = { port: 8080, path: '/metrics', metric: 'http_requests_total' };
    expect(demandCounts({ query: 'sum(rate(x[1m]))' })).toEqual({ stable: undefined, burst: undefined });
    expect(demandCounts({ template: t })).toEqual({ stable: 'answers', burst: 'answers' });
    expect(demandCounts({ template: { ...t, burstWindow: undefined } }).burst).toBeUndefined();
    expect(demandCounts({ template: { ...t, inFlight: 'g' } })).toEqual({ stable: 'arrivals', burst: 'arrivals' });
    expect(demandCounts({ template: t, pods: { ...pods, inFlight: 'g' } })).toEqual({
      stable: 'answers',
      burst: 'arrivals',
    });
    expect(demandCounts({ query: 'q', pods })).toEqual({ stable: undefined, burst: 'answers' });
    expect(demandCounts({ template: t, burstQuery: 'b' }).burst).toBe('answers'); // burstWindow first
    expect(demandCounts({ template: { ...t, burstWindow: undefined }, burstQuery: 'b' }).burst).toBeUndefined();
    expect(demandCounts({ query: 'q', burstQuery: 'b', template: { ...t, inFlight: 'g' } })).toEqual({
      stable: undefined,
      burst: undefined,
    });
    // In the snapshot: on each window that has a reading, absent where not known.
    const observed = { at: T0, specReplicas: 1, statusReplicas: 1, demandRps: 20, burstRps: 25, applied: false };
    const p = policy();
    const withTemplate = { ...p, spec: { ...p.spec, demand: { template: t } } };
    const s = policyStatusSnapshot(view({ policy: withTemplate, observed }), T0, T0);
    expect([s.traffic.stable?.counts, s.traffic.burst?.counts]).toEqual(['answers', 'answers']);
    const raw = policyStatusSnapshot(view({ observed }), T0, T0);
    expect(raw.traffic.stable).not.toHaveProperty('counts');
  });

  it('each snapshot carries only its own policy’s alerts', () => {
    const a = createAlerting(
      parseAlertConfig({ defaults: false, rules: [{ name: 'TooMany', expr: 'service.current >= 3', for: '0s' }] }),
    );
    const hot = view({ observed: { at: T0, specReplicas: 3, statusReplicas: 3, applied: false } });
    const cold = view({
      policy: policy('web', 'other'),
      observed: { at: T0, specReplicas: 1, statusReplicas: 1, applied: false },
    });
    a.tick([policyAlertSnapshot(hot, T0 / 1000), policyAlertSnapshot(cold, T0 / 1000)], T0 / 1000);
    const st = a.status();
    const hs = policyStatusSnapshot(hot, T0, T0, st);
    const cs = policyStatusSnapshot(cold, T0, T0, st);
    expect(hs.alerts?.alerts.map((x) => [x.rule, x.state, x.labels.service])).toEqual([
      ['TooMany', 'firing', 'shop/web'],
    ]);
    expect(cs.alerts?.alerts).toEqual([]);
    void a.close();
  });
});

describe('policyAlertSnapshot', () => {
  it('leaves out what is not known (no data ≠ 0)', () => {
    const s = policyAlertSnapshot({ policy: policy(), history: [], events: [] }, 100);
    expect(s).toEqual({ service: 'shop/web', time: 100 });
  });

  it('fills counts, bounds, needed, demand and SLO from the observation and model', () => {
    const s = policyAlertSnapshot(
      view({ observed: { at: T0, specReplicas: 4, statusReplicas: 3, demandRps: 70, needed: 6, applied: false } }),
      T0 / 1000,
    );
    expect(s).toEqual({
      service: serviceName(policy()),
      time: T0 / 1000,
      current: 4,
      ready: 3,
      desired: 4,
      min: 1,
      max: 4,
      needed: 6,
      demandRps: 70,
      slo: { latencyMs: 200, percentile: 99 },
    });
  });

  it('at max while demand grows fires HeadroomAtMaxReplicas through the built-in rules', () => {
    const alerting = createAlerting(
      parseAlertConfig({ rules: [{ name: 'HeadroomAtMaxReplicas', expr: 'service.atMaxWhileGrowing == 1' }] }),
    );
    const history: HistoryPoint[] = [];
    let fired = false;
    for (let i = 0; i <= 40; i++) {
      const t = T0 / 1000 + i * 15;
      const demand = 50 + i * 2;
      history.push({ t, demandRps: demand, burstRps: null, p99Ms: null, desired: 4, current: 4, ready: 4 });
      const v = view({
        observed: { at: t * 1000, specReplicas: 4, statusReplicas: 4, demandRps: demand, applied: false },
      });
      const ev = alerting.tick([policyAlertSnapshot({ ...v, history }, t)], t);
      if (ev.alerts.some((a) => a.rule === 'HeadroomAtMaxReplicas' && a.state === 'firing')) fired = true;
    }
    expect(fired).toBe(true);
    void alerting.close();
  });

  it('a model 2× off (status.model) fires HeadroomModelDrift through the built-in rules after 2 min; the dashboard shows the model', () => {
    const alerting = createAlerting(parseAlertConfig({}));
    const model = {
      percentile: 99,
      scale: 1.9,
      error: 2.1,
      calibrating: true,
      measuredLatencyMs: 513,
      predictedLatencyMs: 185,
      calibratedLatencyMs: 365,
      samples: 6,
    };
    const firedAt: number[] = [];
    for (let i = 0; i <= 12; i++) {
      const t = T0 / 1000 + i * 15;
      const v = view({
        status: { ...status, model },
        observed: { at: t * 1000, specReplicas: 4, statusReplicas: 4, demandRps: 30, latencyMs: 513, applied: false },
      });
      const snap = policyAlertSnapshot(v, t);
      expect(snap.modelErrorFactor).toBeCloseTo(2.1, 6);
      expect(snap.latencyMs).toBe(513);
      const ev = alerting.tick([snap], t);
      if (ev.alerts.some((a) => a.rule === 'HeadroomModelDrift' && a.state === 'firing')) firedAt.push(i * 15);
    }
    expect(firedAt[0]).toBeGreaterThanOrEqual(120);
    void alerting.close();
    // A model too pessimistic (error 0.5) is as far off: factor 2.
    expect(
      policyAlertSnapshot(
        view({
          status: { ...status, model: { ...model, error: 0.5 } },
          observed: { at: T0, specReplicas: 4, statusReplicas: 4, applied: false },
        }),
        T0 / 1000,
      ).modelErrorFactor,
    ).toBe(2);
    // No observation (a standby) or no model: nothing to alert on.
    expect(policyAlertSnapshot(view({ status: { ...status, model } }), T0 / 1000).modelErrorFactor).toBeUndefined();
    const shown = policyStatusSnapshot(view({ status: { ...status, model } }), T0, T0 - 1000);
    expect(shown.model).toMatchObject({ measuredMs: 513, predictedMs: 185, calibratedMs: 365, scale: 1.9, error: 2.1 });
  });

  it("the dashboard sizes as the loop did: the model's scale and error unrounded, from the status the round wrote", () => {
    // A service 3 % slower than its spec, read from a histogram: the loop sizes with 1.024 (past 2 %
    // with the error past 2 %, sizingCapacity); status.model keeps 3 digits, 1.02 and 1.03, and
    // 1.02 is not past 2 %.
    const state = {
      logScale: Math.log(1.024),
      logError: Math.log(1.031),
      logFit: Math.log(1.031),
      samples: 40,
      at: 600,
    };
    const written = nextStatus(
      undefined,
      {
        generation: 1,
        shadow: false,
        metricFailures: 0,
        reading: { specReplicas: 10, statusReplicas: 10, version: '7' },
        demand: { kind: 'ok', value: 1800, at: 1, series: 1 },
        decision: {
          desired: 10,
          recommended: 10,
          valid: true,
          binding: 'latency',
          mode: 'normal',
          reasons: [{ code: 'Calibrated', message: 'service time ×1.024' }],
          predicted: { utilization: 0.9, latencyMs: 95.4 },
          warnings: [],
          at: '2026-12-01T10:00:00.000Z',
          sizedForRps: 1800,
          applied: false,
        },
        model: {
          percentile: 99,
          scale: 1.024,
          error: 1.031,
          calibrating: true,
          measuredMs: 96.1,
          predictedMs: 93.2,
          calibratedMs: 95.4,
          samples: 40,
          state,
        },
      },
      new Date(T0).toISOString(),
    ).status;
    expect(written.model).toMatchObject({ scale: 1.02, error: 1.03 });
    const shown = policyStatusSnapshot(view({ status: { ...status, model: written.model } }), T0, T0 - 1000);
    expect(shown.model?.scale).toBeCloseTo(1.024, 9);
    expect(shown.model?.error).toBeCloseTo(1.031, 9);
    const cal = { samples: 40, scale: 1.024, error: 1.031, wholeResponse: true };
    expect(sizingCapacity({ serviceTimeMs: 20, concurrency: 4 }, undefined, cal)).toBeDefined();
    const sized = snapshotCapacity(shown);
    expect(sized.calibrated).toBe(true);
    expect(sized.scale).toBeCloseTo(1.024, 9);
    // Without a state (an older status): the rounded numbers, as before.
    const old = policyStatusSnapshot(
      view({ status: { ...status, model: { ...written.model!, state: undefined } } }),
      T0,
      T0 - 1000,
    );
    expect(old.model).toMatchObject({ scale: 1.02, error: 1.03 });
    expect(snapshotCapacity(old).calibrated).toBe(false);
  });
});

describe('demandTrend', () => {
  const pts = (values: Array<number | null>, step = 15): HistoryPoint[] =>
    values.map((d, i) => ({
      t: i * step,
      demandRps: d,
      burstRps: null,
      p99Ms: null,
      desired: 1,
      current: 1,
      ready: 1,
    }));

  it('is the slope in rps per second', () => {
    expect(demandTrend(pts([10, 20, 30, 40]))).toBeCloseTo(10 / 15, 9);
    expect(demandTrend(pts([40, 30, 20, 10]))).toBeCloseTo(-10 / 15, 9);
  });

  it('is undefined with too few points or too short a span, and skips missing demand', () => {
    expect(demandTrend([])).toBeUndefined();
    expect(demandTrend(pts([10, 20]))).toBeUndefined();
    expect(demandTrend(pts([10, 20, 30], 5))).toBeUndefined();
    expect(demandTrend(pts([10, null, 30, null, 50]))).toBeCloseTo(20 / 30, 9);
  });

  it('looks only at the window', () => {
    const h = [...pts([500, 400]), ...pts([10, 20, 30, 40]).map((p) => ({ ...p, t: p.t + 1000 }))];
    expect(demandTrend(h, 100)).toBeCloseTo(10 / 15, 9);
  });
});
