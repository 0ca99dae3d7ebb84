// What a round does with an answer it cannot use as is, and with a target it must not scale
// (src/controller/reconcile.ts, status.ts, the Prometheus adapter's interpret and the Kubernetes
// actuator's read), over fake ports:
//   - a latency or learned service-time query answering several series: an error the user sees
//     (MetricsAvailable=False SeveralSeries, HR_PROMETHEUS_SERIES, a Warning Event), never their sum
//     as the measured latency (three per-pod p99s of 30 ms read as 90 ms and calibrated on);
//     a demand query's series still add up;
//   - a target with a controlling owner (a Deployment's ReplicaSet): Ready=False TargetOwned, never
//     written, where it used to be scaled and set back by the Deployment every round.
import { describe, expect, it } from 'vitest';
import type { KubeClients } from '../../src/adapters/kubernetes/client.ts';
import { KubernetesScaleActuator } from '../../src/adapters/actuators/kubernetes/index.ts';
import { interpret } from '../../src/adapters/metrics/prometheus/index.ts';
import { buildModel, type HeadroomPolicy, type PolicySpec } from '../../src/controller/policy.ts';
import {
  bucketBoundsMs,
  reconcilePolicy,
  type PolicyMemory,
  type ReconcilePorts,
} from '../../src/controller/reconcile.ts';
import { nextStatus, type PolicyEvent } from '../../src/controller/status.ts';
import type { Actuator, ScaleOutcome, ScaleReading } from '../../src/ports/actuator.ts';
import type { Aggregation } from '../../src/ports/metrics.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const DEMAND = 'sum by (pod) (rate(http_requests_total[1m]))';
const LATENCY = 'histogram_quantile(0.99, sum by (le, pod) (rate(http_request_duration_seconds_bucket[1m])))';
const REQUESTS = 'sum(increase(http_request_duration_seconds_count[1m]))';
const SERVICE_TIME =
  '1000 * rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])';

function policy(over: Partial<PolicySpec> = {}): HeadroomPolicy {
  const fast = { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] };
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        slo: { latencyMs: 500, percentile: 99 },
        replicas: { min: 1, max: 20 },
        behavior: { tolerance: 0, scaleUp: fast, scaleDown: fast, forecast: { enabled: false } },
      },
      demand: { query: DEMAND },
      ...over,
    },
  };
}

type Series = Array<[Record<string, string>, number]>;
const pods = (...values: number[]): Series => values.map((v, i) => [{ pod: `web-${'abc'[i] ?? i}` }, v]);

/** A Prometheus in memory: each query's instant vector, read by the adapter's own interpret(). */
function prometheus(answers: Record<string, Series>) {
  const asked: Array<{ query: string; aggregate: Aggregation | undefined }> = [];
  const metrics: ReconcilePorts['metrics'] = {
    sample: (query, options) => {
      asked.push({ query, aggregate: options?.aggregate });
      const result = (answers[query] ?? []).map(([metric, v]) => ({ metric, value: [NOW / 1000, String(v)] }));
      return Promise.resolve(interpret({ resultType: 'vector', result }, options?.aggregate));
    },
  };
  return { metrics, asked };
}

class Target implements Actuator {
  writes: number[] = [];
  replicas: number;
  readonly owner: ScaleReading['owner'];
  constructor(replicas: number, owner?: ScaleReading['owner']) {
    this.replicas = replicas;
    this.owner = owner;
  }
  read(): Promise<ScaleReading> {
    return Promise.resolve({
      specReplicas: this.replicas,
      statusReplicas: this.replicas,
      readyReplicas: this.replicas,
      version: '1',
      uid: 'rs1',
      ...(this.owner ? { owner: this.owner } : {}),
    });
  }
  scale(_t: unknown, to: number): Promise<ScaleOutcome> {
    const from = this.replicas;
    this.replicas = to;
    this.writes.push(to);
    return Promise.resolve({ kind: 'scaled', from, to, attempts: 1 });
  }
}

async function round(pol: HeadroomPolicy, target: Actuator, answers: Record<string, Series>, memory?: PolicyMemory) {
  const prom = prometheus(answers);
  const events: PolicyEvent[] = [];
  const ports: ReconcilePorts = {
    metrics: prom.metrics,
    scale: target,
    status: { writeStatus: () => Promise.resolve(true) },
    events: {
      recordEvent: (_p, e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
  };
  const r = await reconcilePolicy(ports, { policy: pol, model: { model: buildModel(pol) }, memory, now: NOW });
  const cond = (type: string) => r.status.conditions?.find((c) => c.type === type);
  return { r, events, asked: prom.asked, cond };
}

describe('several series where one is needed', () => {
  const latency = { query: LATENCY, requestsQuery: REQUESTS, unit: 's' as const, calibrate: true };

  it('a latency query answering three per-pod p99s of 30 ms: SeveralSeries naming the query, the count and the label sets; no 90 ms, no calibration; demand still sums', async () => {
    const target = new Target(2);
    const answers = { [DEMAND]: pods(60, 40), [LATENCY]: pods(0.03, 0.03, 0.03), [REQUESTS]: [[{}, 1000]] as Series };
    const { r, events, asked, cond } = await round(policy({ latency }), target, answers);
    // The demand's two series add up: 100 rps → ⌈100 / 12.5⌉ = 8, scaled as before.
    expect(r.status.demand).toBe('100 rps');
    expect(target.writes).toEqual([8]);
    expect(asked.find((a) => a.query === DEMAND)?.aggregate ?? 'sum').toBe('sum');
    expect(asked.find((a) => a.query === LATENCY)?.aggregate).toBe('single');
    expect(asked.find((a) => a.query === REQUESTS)?.aggregate ?? 'sum').toBe('sum');
    const m = cond('MetricsAvailable');
    expect(m).toMatchObject({ status: 'False', reason: 'SeveralSeries' });
    expect(m?.message).toContain(`the latency query (spec.latency) ${LATENCY}: HR_PROMETHEUS_SERIES`);
    expect(m?.message).toContain('returned 3 series where one is needed: {pod="web-a"}, {pod="web-b"}, {pod="web-c"}');
    expect(events).toContainEqual({ type: 'Warning', reason: 'MetricsUnavailable', message: m?.message });
    // Never the sum as the measurement, never a correction from it.
    expect(r.status.model?.measuredLatencyMs ?? null).toBeNull();
    expect(r.status.model?.scale ?? 1).toBe(1);
    expect(r.status.lastDecision?.reasons.some((x) => x.code === 'Calibrated')).toBe(false);
    expect(cond('Ready')).toMatchObject({ status: 'True', reason: 'Active' });

    // One series again (the query fixed): measured 30 ms, MetricsAvailable back, a Normal Event.
    const fixed = { ...answers, [LATENCY]: [[{}, 0.03]] as Series };
    const next = await round(policy({ latency }), target, fixed, r.memory);
    expect(next.r.status.model?.measuredLatencyMs).toBe(30);
    expect(next.cond('MetricsAvailable')).toMatchObject({ status: 'True', reason: 'QuerySucceeded' });
    expect(next.events.map((e) => e.message)).toContain('every query answers one series again: demand 100 rps');
  });

  it('a learned service-time query answering per-pod means: not added up into a service time, SeveralSeries', async () => {
    const target = new Target(2);
    const answers = { [DEMAND]: [[{}, 100]] as Series, [SERVICE_TIME]: pods(40, 40) };
    const pol = policy({ capacity: { learned: { serviceTimeQuery: SERVICE_TIME } } });
    const { r, cond } = await round(pol, target, answers);
    expect(cond('MetricsAvailable')).toMatchObject({ status: 'False', reason: 'SeveralSeries' });
    expect(cond('MetricsAvailable')?.message).toContain(
      'the service-time query (spec.capacity.learned.serviceTimeQuery) 1000 * rate(',
    );
    expect(cond('MetricsAvailable')?.message).toContain('returned 2 series where one is needed');
    // Sized by the spec's 40 ms (8), not by a learned 80 ms (16).
    expect(r.status.desiredReplicas).toBe(8);
  });
});

describe('a target managed by its owner', () => {
  it('a ReplicaSet owned by a Deployment: Ready=False TargetOwned naming both, a Warning Event, no query, no write', async () => {
    const rs = { ...policy().spec.scaleTargetRef, kind: 'ReplicaSet', name: 'web-96d5df5c8' };
    const target = new Target(1, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    const { r, events, asked, cond } = await round(policy({ scaleTargetRef: rs }), target, {
      [DEMAND]: [[{}, 100]],
    });
    expect(target.writes).toEqual([]);
    expect(asked).toEqual([]);
    expect(r.result).toBe('conflict');
    const message =
      'ReplicaSet web-96d5df5c8 is managed by Deployment web (its controller ownerReference), which sets its ' +
      'replicas: target the Deployment (spec.scaleTargetRef); Headroom does not scale it, to not fight the owner';
    expect(cond('Ready')).toMatchObject({ status: 'False', reason: 'TargetOwned', message });
    expect(cond('AbleToScale')).toMatchObject({ status: 'False', reason: 'TargetOwned' });
    expect(cond('ScalingActive')).toMatchObject({ status: 'False', reason: 'TargetOwned' });
    expect(events).toEqual([{ type: 'Warning', reason: 'TargetOwned', message }]);
    expect(r.status.desiredReplicas).toBeUndefined();
  });

  it('a Deployment an operator owns is scaled: its owner may leave the replicas to an autoscaler (as for an HPA)', async () => {
    // e.g. Flagger's primary Deployment, owned by its Canary and scaled by an HPA. If the owner puts
    // the count back, ExternalWrite names it (below).
    const target = new Target(1, { apiVersion: 'flagger.app/v1beta1', kind: 'Canary', name: 'web' });
    const { r, cond } = await round(policy(), target, { [DEMAND]: [[{}, 100]] });
    expect(r.result).toBe('ok');
    expect(cond('Ready')).toMatchObject({ status: 'True' });
    expect(target.writes).toEqual([r.status.desiredReplicas]);
  });

  it("the actuator reads the owner from the workload's controller ownerReference (not a plain owner)", async () => {
    const object = (ownerReferences: unknown[]) => ({
      metadata: { resourceVersion: '7', uid: 'rs1', ownerReferences },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } } },
      status: { replicas: 1, readyReplicas: 1 },
    });
    const actuator = (obj: unknown) =>
      new KubernetesScaleActuator(
        {
          counter: { total: 0, byMethod: {} },
          custom: { getNamespacedCustomObject: () => Promise.resolve(obj) },
        } as unknown as KubeClients,
        { retry: { attempts: 1 } },
      );
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-96d5df5c8', namespace: 'shop' };
    const owned = await actuator(
      object([{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true }]),
    ).read(ref);
    expect(owned.owner).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    const plain = await actuator(object([{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'c1' }])).read(ref);
    expect(plain.owner).toBeUndefined();
  });
});

describe('ExternalWrite names a controlling owner when the reading knows one', () => {
  it('"by another writer (Deployment web controls this target …)" instead of guessing GitOps or kubectl', () => {
    const reading = { specReplicas: 1, statusReplicas: 1, version: '1' };
    const o = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      externalWrite: { from: 3, to: 1, backoffSeconds: 300 },
    };
    const plain = nextStatus(undefined, { ...o, reading }, new Date(NOW).toISOString()).events;
    expect(plain[0]?.message).toContain('replicas changed 3 → 1 by another writer (a GitOps sync? kubectl scale?)');
    const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' };
    const owned = nextStatus(undefined, { ...o, reading: { ...reading, owner } }, new Date(NOW).toISOString()).events;
    expect(owned[0]?.message).toContain(
      'replicas changed 3 → 1 by another writer (Deployment web controls this target: target it instead)',
    );
  });
});

describe('the histogram template’s bucket bounds (bucketBoundsMs)', () => {
  const answer = (les: string[]) => ({
    range: () =>
      Promise.resolve({
        kind: 'ok' as const,
        series: les.map((le) => ({ labels: { le }, values: [[NOW / 1000, 3] as [number, number]] })),
      }),
  });

  it('the finite `le` labels, in ms, ascending and once each; none without a range port or on an error', async () => {
    const q = 'count by (le) (http_request_duration_seconds_bucket{job="web"})';
    expect(await bucketBoundsMs(answer(['0.1', '+Inf', '0.05', '0.025', '0.05']), q, 's', NOW)).toEqual([25, 50, 100]);
    expect(await bucketBoundsMs(answer(['250', '100', '+Inf']), q, 'ms', NOW)).toEqual([100, 250]);
    // Series without an `le` (not a histogram's buckets) give no bounds: the model's own percentile.
    expect(await bucketBoundsMs(answer([]), q, 's', NOW)).toEqual([]);
    expect(await bucketBoundsMs(undefined, q, 's', NOW)).toBeUndefined();
    const failing = { range: () => Promise.resolve({ kind: 'error' as const, reason: 'HTTP 503' }) };
    expect(await bucketBoundsMs(failing, q, 's', NOW)).toBeUndefined();
  });
});
