// The controller's /metrics series (src/controller/metrics.ts, src/server/alert-metrics.ts): they
// follow the policy's status, a standby exports none, and a controller service has no series for
// what the controller does not measure (errors, SLO-bad requests). The e2e twin, with a real
// Prometheus and apiserver, is test/e2e/controller-metrics.test.ts.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import * as M from '../../src/alerting/metric-names.ts';
import { failedRoundStatus } from '../../src/controller/controller.ts';
import {
  clearPolicies,
  forgetPolicy,
  makeMetrics,
  recordFailedRound,
  recordReconcile,
} from '../../src/controller/metrics.ts';
import type { PolicyStatus } from '../../src/controller/policy.ts';
import type { Outcome } from '../../src/controller/status.ts';
import type { MetricSample } from '../../src/ports/metrics.ts';
import { createAlertMetrics } from '../../src/server/alert-metrics.ts';

const id = { namespace: 'shop', policy: 'web' };
const series = async (reg: Registry, name: string): Promise<string[]> =>
  (await reg.metrics()).split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

/** A demand reading (its fields beyond kind and value are not looked at). */
const ok = (value: number): MetricSample => ({ kind: 'ok', value, series: 1, at: 0 }) as unknown as MetricSample;

function decided(demand: Outcome['demand']): Outcome {
  return {
    generation: 1,
    shadow: false,
    metricFailures: 0,
    reading: { specReplicas: 3, statusReplicas: 3 },
    demand,
    decision: { desired: 4 },
  } as unknown as Outcome;
}

function setup(leader = true) {
  const reg = new Registry();
  let api = 0;
  const m = makeMetrics(
    reg,
    () => api,
    () => leader,
  );
  return { reg, m, addApi: (n: number) => (api += n) };
}

describe('controller metrics follow the policy', () => {
  it('demand is absent while the query has no value (status says error)', async () => {
    const { reg, m } = setup();
    recordReconcile(m, id, { result: 'ok', outcome: decided(ok(30)) });
    expect(await series(reg, M.POLICY_DEMAND_RPS)).toEqual([
      `${M.POLICY_DEMAND_RPS}{namespace="shop",policy="web"} 30`,
    ]);
    recordReconcile(m, id, { result: 'ok', outcome: decided({ kind: 'error', reason: 'HTTP 500' } as MetricSample) });
    expect(await series(reg, M.POLICY_DEMAND_RPS)).toEqual([]);
    expect(await series(reg, M.POLICY_DESIRED_REPLICAS)).toHaveLength(1);
  });

  it('an invalid policy or a missing target has no count series; a deleted one none at all', async () => {
    const { reg, m } = setup();
    recordReconcile(m, id, { result: 'ok', outcome: decided(ok(30)) });
    const invalid = { generation: 2, shadow: false, metricFailures: 0, invalid: 'min > max' } as Outcome;
    recordReconcile(m, id, { result: 'invalid', outcome: invalid });
    for (const n of [M.POLICY_DESIRED_REPLICAS, M.POLICY_CURRENT_REPLICAS, M.POLICY_DEMAND_RPS])
      expect(await series(reg, n)).toEqual([]);
    recordReconcile(m, id, { result: 'ok', outcome: decided(ok(30)) });
    const missing = { generation: 2, shadow: false, metricFailures: 0, targetError: 'HR_SCALE_TARGET' } as Outcome;
    recordReconcile(m, id, { result: 'error', outcome: missing });
    expect(await series(reg, M.POLICY_CURRENT_REPLICAS)).toEqual([]);
    recordReconcile(m, id, { result: 'ok', outcome: decided(ok(30)) });
    recordReconcile(
      m,
      { namespace: 'shop', policy: 'other' },
      {
        result: 'ok',
        outcome: decided(ok(5)),
      },
    );
    forgetPolicy(m, id);
    expect(await series(reg, M.POLICY_DESIRED_REPLICAS)).toEqual([
      `${M.POLICY_DESIRED_REPLICAS}{namespace="shop",policy="other"} 4`,
    ]);
    recordFailedRound(m, { namespace: 'shop', policy: 'other' });
    expect(await series(reg, M.POLICY_DESIRED_REPLICAS)).toEqual([]);
  });

  it("the model's scale series is the round's, unrounded (status.model keeps 3 digits)", async () => {
    const { reg, m } = setup();
    const model = {
      percentile: 99,
      scale: 1,
      error: 1,
      calibrating: true,
      measuredLatencyMs: 96,
      predictedLatencyMs: 93,
      calibratedLatencyMs: 95,
      samples: 40,
    };
    const outcome = { ...decided(ok(1800)), model: { ...model, scale: 1.024, error: 1.031 } } as unknown as Outcome;
    recordReconcile(m, id, { result: 'ok', outcome, status: { model } });
    expect(await series(reg, M.MODEL_SERVICE_TIME_SCALE)).toEqual([
      `${M.MODEL_SERVICE_TIME_SCALE}{service="shop/web"} 1.024`,
    ]);
  });

  it('a standby exports no per-policy or per-service series, only process-level ones', async () => {
    const { reg, m } = setup(false);
    recordReconcile(m, id, {
      result: 'ok',
      outcome: decided(ok(30)),
      status: {
        model: {
          percentile: 99,
          scale: 1.2,
          error: 1.1,
          calibrating: true,
          measuredLatencyMs: 120,
          predictedLatencyMs: 100,
          calibratedLatencyMs: 118,
          samples: 4,
        },
      },
    });
    m.alerts.update([{ service: 'shop/web', time: 1, desired: 4, demandRps: 30 }]);
    expect(await series(reg, M.MODEL_LATENCY_SECONDS)).toEqual([
      `${M.MODEL_LATENCY_SECONDS}{service="shop/web",kind="predicted"} 0.1`,
      `${M.MODEL_LATENCY_SECONDS}{service="shop/web",kind="calibrated"} 0.118`,
      `${M.MODEL_LATENCY_SECONDS}{service="shop/web",kind="measured"} 0.12`,
    ]);
    clearPolicies(m);
    const lines = (await reg.metrics()).split('\n').filter((l) => l.startsWith('headroom_'));
    expect(lines.filter((l) => /^headroom_(policy|service|instance|model)_/.test(l))).toEqual([]);
    expect(lines).toContain(`${M.CONTROLLER_LEADER} 0`);
  });

  it('Kubernetes API requests are a counter named _total', async () => {
    const { reg, addApi } = setup();
    addApi(7);
    const text = await reg.metrics();
    expect(text).toContain(`# TYPE ${M.CONTROLLER_API_REQUESTS_TOTAL} counter`);
    expect(text).toContain(`${M.CONTROLLER_API_REQUESTS_TOTAL} 7`);
    addApi(3);
    expect(await reg.metrics()).toContain(`${M.CONTROLLER_API_REQUESTS_TOTAL} 10`);
    expect(text).not.toMatch(/^headroom_controller_api_requests /m);
  });
});

describe('alert metrics: no data stays no data', () => {
  const snap = (t: number, service = 'shop/web') => ({
    service,
    time: t,
    demandRps: 10,
    slo: { latencyMs: 200, percentile: 99 },
  });

  it('the controller (rates integrated) exports no errors or SLO-bad counters it never measured', async () => {
    const reg = new Registry();
    const a = createAlertMetrics(reg, { integrateCounts: true, forgetMissing: true });
    a.update([snap(0)]);
    a.update([snap(10)]);
    expect(await series(reg, M.SERVICE_REQUESTS_TOTAL)).toEqual([
      `${M.SERVICE_REQUESTS_TOTAL}{service="shop/web"} 100`,
    ]);
    expect(await series(reg, M.SERVICE_SLO_BAD_REQUESTS_TOTAL)).toEqual([]);
    expect(await series(reg, M.SERVICE_ERRORS_TOTAL)).toEqual([]);
    // Measured once given: then they count.
    a.update([{ ...snap(20), sloBadFraction: 0.1, errorRate: 0.05 }]);
    expect(await series(reg, M.SERVICE_SLO_BAD_REQUESTS_TOTAL)).toEqual([
      `${M.SERVICE_SLO_BAD_REQUESTS_TOTAL}{service="shop/web"} 10`,
    ]);
  });

  it('the controller forgets a service that is gone, and everything on an empty tick', async () => {
    const reg = new Registry();
    const a = createAlertMetrics(reg, { integrateCounts: true, forgetMissing: true });
    a.update([snap(0), snap(0, 'shop/cart')]);
    a.update([snap(10), snap(10, 'shop/cart')]);
    a.update([snap(20, 'shop/cart')]);
    expect(await series(reg, M.SERVICE_REQUESTS_TOTAL)).toEqual([
      `${M.SERVICE_REQUESTS_TOTAL}{service="shop/cart"} 200`,
    ]);
    a.update([]);
    expect((await reg.metrics()).split('\n').filter((l) => l.startsWith('headroom_'))).toEqual([]);
  });

  it('headroom run (requests counted) is unchanged: all three counters from the first tick, kept', async () => {
    const reg = new Registry();
    const a = createAlertMetrics(reg);
    a.update([snap(0)]);
    a.update([]);
    expect(await series(reg, M.SERVICE_REQUESTS_TOTAL)).toEqual([`${M.SERVICE_REQUESTS_TOTAL}{service="shop/web"} 0`]);
    expect(await series(reg, M.SERVICE_ERRORS_TOTAL)).toEqual([`${M.SERVICE_ERRORS_TOTAL}{service="shop/web"} 0`]);
    expect(await series(reg, M.SERVICE_SLO_BAD_REQUESTS_TOTAL)).toEqual([
      `${M.SERVICE_SLO_BAD_REQUESTS_TOTAL}{service="shop/web"} 0`,
    ]);
  });
});

describe('failedRoundStatus: a round that threw', () => {
  const prev: PolicyStatus = {
    observedGeneration: 1,
    currentReplicas: 3,
    desiredReplicas: 4,
    demand: '30 rps',
    decideState: { corrupted: true },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Active', message: 'deciding and scaling', lastTransitionTime: 'T0' },
      { type: 'ScalingActive', status: 'True', reason: 'ValidMetric', message: 'x', lastTransitionTime: 'T0' },
    ],
  };

  it('Ready False FailedReconcile, no counts, the decide state kept; one Warning Event on the flip only', () => {
    const a = failedRoundStatus(prev, 2, 'reconcile failed: boom', 'T1');
    const ready = a.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'FailedReconcile', message: 'reconcile failed: boom' });
    expect(ready?.lastTransitionTime).toBe('T1');
    expect(a.status.conditions?.find((c) => c.type === 'ScalingActive')?.reason).toBe('FailedReconcile');
    expect(a.status.desiredReplicas).toBeUndefined();
    expect(a.status.currentReplicas).toBeUndefined();
    expect(a.status.demand).toBeUndefined();
    expect(a.status.decideState).toEqual({ corrupted: true });
    expect(a.event).toEqual({ type: 'Warning', reason: 'FailedReconcile', message: 'reconcile failed: boom' });
    const b = failedRoundStatus(a.status, 2, 'reconcile failed: boom', 'T2');
    expect(b.event).toBeUndefined();
    expect(b.status.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('T1');
  });
});
