// One policy's round (src/controller/reconcile.ts) with fake ports: a metrics source answering from a
// table, a scale target in memory, and recorders for status writes and Events. The expected counts
// come from the sizing rule, not from decide(): 40 ms per request, 1 at a time, target utilization
// 0.5 → one instance carries 0.5 / 0.04 s = 12.5 rps, so 100 rps needs ⌈100 / 12.5⌉ = 8 and 20 rps
// needs ⌈20 / 12.5⌉ = 2. Behaviour is set to act at once (no stabilization, no tolerance, 100 pods
// a second) so that each count below is that rule, and only the loop's own choices are tested.
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeClients } from '../../src/adapters/kubernetes/client.ts';
import { KubernetesScaleActuator, TargetError } from '../../src/adapters/actuators/kubernetes/index.ts';
import { PAUSE_ANNOTATION } from '../../src/controller/hold.ts';
import { buildModel, type HeadroomPolicy, type PolicySpec, type PolicyStatus } from '../../src/controller/policy.ts';
import {
  reconcilePolicy,
  type PolicyMemory,
  type ReconcilePorts,
  type ReconcileResult,
} from '../../src/controller/reconcile.ts';
import type { PolicyEvent } from '../../src/controller/status.ts';
import type { Actuator, ScaleOutcome, ScaleReading, ScaleTargetRef } from '../../src/ports/actuator.ts';
import type { MetricSample, PodRateQuery, PodRateSource } from '../../src/ports/metrics.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const DEMAND = 'sum(rate(http_requests_total[1m]))';
const needed = (rps: number): number => Math.ceil(rps / (0.5 / 0.04));

function policy(over: Partial<PolicySpec> = {}, annotations?: Record<string, string>): HeadroomPolicy {
  const fast = { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] };
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', generation: 1, ...(annotations ? { annotations } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        replicas: { min: 1, max: 20 },
        behavior: { tolerance: 0, scaleUp: fast, scaleDown: fast },
      },
      demand: { query: DEMAND },
      ...over,
    },
  };
}

const ok = (value: number): MetricSample => ({ kind: 'ok', value, at: NOW / 1000, series: 1 });

/** A scale target in memory; `failRead` / `failScale` make the next calls throw. */
class FakeTarget implements Actuator {
  replicas: number;
  reads = 0;
  writes: number[] = [];
  failRead?: Error;
  failScale?: Error;
  /** The object's uid: a new one = deleted and created again under its name. */
  uid = 'd1';
  readonly selector: string | undefined;
  constructor(replicas: number, selector?: string) {
    this.replicas = replicas;
    this.selector = selector;
  }
  read(_t: ScaleTargetRef): Promise<ScaleReading> {
    this.reads++;
    if (this.failRead) return Promise.reject(this.failRead);
    const sel = this.selector !== undefined ? { selector: this.selector } : {};
    return Promise.resolve({
      specReplicas: this.replicas,
      statusReplicas: this.replicas,
      version: '1',
      uid: this.uid,
      ...sel,
    });
  }
  scale(_t: ScaleTargetRef, replicas: number): Promise<ScaleOutcome> {
    if (this.failScale) return Promise.reject(this.failScale);
    const from = this.replicas;
    this.replicas = replicas;
    this.writes.push(replicas);
    return Promise.resolve({ kind: 'scaled', from, to: replicas, attempts: 1 });
  }
}

function ports(target: Actuator, answers: Record<string, MetricSample>) {
  const queried: string[] = [];
  const statuses: PolicyStatus[] = [];
  const events: PolicyEvent[] = [];
  const p: ReconcilePorts = {
    metrics: {
      sample: (q) => {
        queried.push(q);
        return Promise.resolve(answers[q] ?? { kind: 'no-data', reason: 'empty result' });
      },
    },
    scale: target,
    status: {
      writeStatus: (_ref, s) => {
        statuses.push(s);
        return Promise.resolve(true);
      },
    },
    events: {
      recordEvent: (_ref, e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
  };
  return { p, queried, statuses, events };
}

function run(
  pol: HeadroomPolicy,
  target: Actuator,
  answers: Record<string, MetricSample>,
  memory?: PolicyMemory,
  now = NOW,
  pods?: PodRateSource,
) {
  const f = ports(target, answers);
  if (pods) f.p.pods = pods;
  const result = reconcilePolicy(f.p, { policy: pol, model: { model: buildModel(pol) }, memory, now });
  return { ...f, result };
}

const cond = (r: ReconcileResult, type: string) => r.status.conditions?.find((c) => c.type === type);
const reasons = (r: ReconcileResult) => r.status.lastDecision?.reasons.map((x) => x.code) ?? [];

describe('reconcilePolicy', () => {
  it('with demand: writes the count the sizing rule gives, up (100 rps) and down (20 rps)', async () => {
    const target = new FakeTarget(6);
    const up = run(policy(), target, { [DEMAND]: ok(100) });
    const r = await up.result;
    expect(needed(100)).toBe(8);
    expect(target.writes).toEqual([8]);
    expect(r.result).toBe('ok');
    expect(r.scaled).toBe(true);
    expect(r.status.currentReplicas).toBe(8);
    expect(r.status.appliedReplicas).toBe(8);
    expect(up.events.map((e) => e.reason)).toContain('Scaled');
    expect(up.statuses).toHaveLength(1);
    expect(r.memory.nextDue).toBe(NOW + 15_000);

    const down = run(policy(), target, { [DEMAND]: ok(20) }, r.memory, NOW + 15_000);
    expect((await down.result).status.desiredReplicas).toBe(needed(20));
    expect(target.writes).toEqual([8, 2]);
  });

  it.each([
    ['no data', { kind: 'no-data', reason: 'empty result' } as MetricSample, 'NoData'],
    ['Prometheus down', { kind: 'error', reason: 'connection refused' } as MetricSample, 'QueryFailed'],
  ])('%s: never scales down on missing data, holds the count and says why', async (_what, sample, condReason) => {
    // With data the same target would go 6 → 2 (previous test); without it, it stays at 6.
    const target = new FakeTarget(6);
    const { result, events } = run(policy(), target, { [DEMAND]: sample });
    const r = await result;
    expect(target.writes).toEqual([]);
    expect(r.status.desiredReplicas).toBe(6);
    expect(r.status.lastDecision?.valid).toBe(false);
    expect(reasons(r)).toContain('NoMetrics');
    expect(cond(r, 'MetricsAvailable')).toMatchObject({ status: 'False', reason: condReason });
    expect(events.map((e) => e.reason)).toContain('MetricsUnavailable');
    expect(r.status.consecutiveMetricFailures).toBe(1);
  });

  it('403 reading the scale subresource: nothing queried or written, FailedGetScale, retried sooner', async () => {
    const target = new FakeTarget(6);
    target.failRead = new TargetError(
      'HR_KUBE_FORBIDDEN spec.scaleTargetRef: forbidden to read or scale Deployment shop/web, or to list its pods (RBAC)',
      403,
    );
    const { result, queried, events, statuses } = run(policy(), target, { [DEMAND]: ok(100) });
    const r = await result;
    expect(queried).toEqual([]);
    expect(target.writes).toEqual([]);
    expect(r.result).toBe('error');
    expect(r.error).toMatch(/forbidden .* \(RBAC\)/);
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    expect(cond(r, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    expect(events).toEqual([{ type: 'Warning', reason: 'FailedGetScale', message: r.error }]);
    expect(statuses).toHaveLength(1);
    // 15-s interval: a failed round comes back after a third of it.
    expect(r.memory.nextDue).toBe(NOW + 5_000);
  });

  it('403 writing the scale: the decision stands, FailedUpdateScale and a FailedRescale Warning', async () => {
    const target = new FakeTarget(6);
    target.failScale = new TargetError(
      'HR_KUBE_FORBIDDEN spec.scaleTargetRef: forbidden to read or scale Deployment shop/web, or to list its pods (RBAC)',
      403,
    );
    const { result, events } = run(policy(), target, { [DEMAND]: ok(100) });
    const r = await result;
    expect(r.result).toBe('error');
    expect(r.scaled).toBe(false);
    expect(r.status.desiredReplicas).toBe(8);
    expect(r.status.currentReplicas).toBe(6);
    expect(r.status.appliedReplicas).toBeUndefined();
    expect(cond(r, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
    expect(events.find((e) => e.reason === 'FailedRescale')?.type).toBe('Warning');
  });

  it('shadow mode: decides and records the decision, never writes the scale', async () => {
    const target = new FakeTarget(6);
    const { result, events, statuses } = run(policy({ mode: 'shadow' }), target, { [DEMAND]: ok(100) });
    const r = await result;
    expect(target.writes).toEqual([]);
    expect(r.scaled).toBe(false);
    expect(statuses).toHaveLength(1);
    expect(statuses[0]?.lastDecision).toMatchObject({ desired: 8, valid: true, demandRps: 100 });
    expect(statuses[0]?.currentReplicas).toBe(6);
    expect(cond(r, 'Ready')).toMatchObject({ status: 'True', reason: 'Shadow' });
    expect(events.find((e) => e.reason === 'WouldScale')?.message).toMatch(/^shadow mode: would scale 6 → 8: /);
    // Shadow never counts a write of its own, so a later hand-scale is not "another writer".
    expect(r.status.appliedReplicas).toBeUndefined();
  });

  it('shadow mode goes where active mode would: a scale-up limit paces it from its own last count', async () => {
    // 125 rps needs 10; scale-ups are limited to 4 pods per 60 s. Active mode writes 8, then 10 a
    // period later; shadow mode must say the same, not flap 8, 4, 8 against the target still at 4.
    const base = policy().spec.service as Record<string, unknown>;
    const pol = policy({
      mode: 'shadow',
      service: {
        ...base,
        behavior: {
          tolerance: 0,
          scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 4, periodSeconds: 60 }] },
          scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] },
        },
      },
    });
    const target = new FakeTarget(4);
    const seen: number[] = [];
    const would: string[] = [];
    let memory: PolicyMemory | undefined;
    for (const dt of [0, 15, 30, 75, 90]) {
      const round = run(pol, target, { [DEMAND]: ok(125) }, memory, NOW + dt * 1000);
      const r = await round.result;
      memory = r.memory;
      seen.push(r.status.desiredReplicas ?? -1);
      would.push(...round.events.filter((e) => e.reason === 'WouldScale').map((e) => e.message.split(':')[1] ?? ''));
    }
    expect(needed(125)).toBe(10);
    expect(seen).toEqual([8, 8, 8, 10, 10]);
    expect(target.writes).toEqual([]);
    // One WouldScale Event per count it would move to, not one per round (5 rounds, 2 Events).
    expect(would).toEqual([' would scale 4 → 8', ' would scale 4 → 10']);
  });

  it('another autoscaler owns the target: no read, no query, no write; Conflict in status and an Event', async () => {
    const target = new FakeTarget(6);
    const f = ports(target, { [DEMAND]: ok(100) });
    const pol = policy();
    const r = await reconcilePolicy(f.p, {
      policy: pol,
      model: { model: buildModel(pol) },
      conflict: { message: 'HorizontalPodAutoscaler shop/web scales Deployment web' },
      now: NOW,
    });
    expect(target.reads).toBe(0);
    expect(f.queried).toEqual([]);
    expect(r.result).toBe('conflict');
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(f.events.map((e) => e.reason)).toEqual(['Conflict']);
  });

  it.each([
    ['invalid', { model: { error: 'HR_SPEC_INVALID at spec.service.replicas: min 7 > max 3' } }, 'InvalidPolicy'],
    ['yielding', { conflict: { message: 'HorizontalPodAutoscaler shop/web scales Deployment web' } }, 'Conflict'],
    ['its target gone', {}, 'FailedGetScale'],
  ] as const)('a policy %s after a decided round shows no counts, only why', async (_what, over, reason) => {
    const target = new FakeTarget(6);
    const first = await run(policy(), target, { [DEMAND]: ok(100) }).result;
    expect(first.status).toMatchObject({ currentReplicas: 8, desiredReplicas: 8, demand: '100 rps' });
    if (reason === 'FailedGetScale') target.failRead = new TargetError('Deployment shop/web not found', 404);
    const f = ports(target, { [DEMAND]: ok(100) });
    const pol = policy();
    const r = await reconcilePolicy(f.p, {
      policy: pol,
      model: { model: buildModel(pol) },
      ...over,
      memory: first.memory,
      now: NOW + 15_000,
    });
    expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason });
    expect(cond(r, 'ScalingActive')?.status).toBe('False');
    for (const k of ['currentReplicas', 'desiredReplicas', 'recommendedReplicas', 'binding', 'demand'] as const)
      expect(r.status[k], k).toBeUndefined();
  });

  describe('a scale target the apiserver does not have: one line with its code, never the HTTP answer', () => {
    const ref = (apiVersion: string, kind: string): ScaleTargetRef => ({
      apiVersion,
      kind,
      namespace: 'shop',
      name: 'x',
    });
    const actuator = (lookup: () => Promise<unknown>) =>
      new KubernetesScaleActuator(
        {
          counter: { total: 0, byMethod: {} },
          discovery: { lookup },
          custom: {
            getNamespacedCustomObjectScale: () =>
              Promise.reject(new ApiException(404, 'Not Found', { message: 'frobnicators "x" not found' }, {})),
          },
        } as unknown as KubeClients,
        { retry: { attempts: 1 } },
      );
    it('an API group/version not served (client-node puts the headers in its message)', async () => {
      const notServed = new ApiException(404, 'HTTP-Code: 404\nMessage: Unsuccessful\nHeaders: {"x-uid":"1"}', '', {});
      const err = await actuator(() => Promise.reject(notServed))
        .read(ref('example.com/v1', 'Frobnicator'))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as Error).message).toBe(
        'HR_SCALE_TARGET spec.scaleTargetRef: no API example.com/v1 is served (is the CRD of Frobnicator installed?)',
      );
    });
    it('a kind its group does not serve, and an object that is not there', async () => {
      const none = await actuator(() => Promise.resolve(undefined))
        .read(ref('example.com/v1', 'Frobnicator'))
        .catch((e: unknown) => (e as Error).message);
      expect(none).toBe(
        'HR_SCALE_TARGET spec.scaleTargetRef.kind: no resource of kind Frobnicator is served in example.com/v1',
      );
      const gone = await actuator(() => Promise.resolve({ name: 'frobnicators' }))
        .read(ref('example.com/v1', 'Frobnicator'))
        .catch((e: unknown) => (e as Error).message);
      expect(gone).toBe(
        'HR_SCALE_TARGET spec.scaleTargetRef: Frobnicator shop/x not found, or it has no scale subresource',
      );
    });
  });

  describe('409 Conflict on the scale write (the Kubernetes actuator over a fake apiserver)', () => {
    /** A Deployment in memory: every write bumps resourceVersion; a write on an old one is a 409. */
    function apiserver(replicas: number, onRead?: (d: { replicas: number; version: number }) => void) {
      const dep = { replicas, version: 1 };
      let patches = 0;
      const conflict = () => new ApiException(409, 'Conflict', { message: 'the object has been modified' }, {});
      const clients = {
        counter: { total: 0, byMethod: {} },
        custom: {
          getNamespacedCustomObject: () => {
            const obj = {
              metadata: { resourceVersion: String(dep.version) },
              spec: { replicas: dep.replicas },
              status: { replicas: dep.replicas, readyReplicas: dep.replicas },
            };
            onRead?.(dep);
            return Promise.resolve(obj);
          },
          patchNamespacedCustomObjectScale: (req: {
            body: { metadata: { resourceVersion: string }; spec: { replicas: number } };
          }) => {
            patches++;
            if (req.body.metadata.resourceVersion !== String(dep.version)) return Promise.reject(conflict());
            dep.replicas = req.body.spec.replicas;
            dep.version++;
            return Promise.resolve({});
          },
        },
      } as unknown as KubeClients;
      return { dep, clients, patches: () => patches };
    }

    it('re-read after the 409 and written again: scaled on the second attempt', async () => {
      // Someone scales 6 → 7 right after our first read: our patch carries the old version.
      let first = true;
      const api = apiserver(6, (d) => {
        if (!first) return;
        first = false;
        d.replicas = 7;
        d.version++;
      });
      const { result, events } = run(policy(), new KubernetesScaleActuator(api.clients), { [DEMAND]: ok(100) });
      const r = await result;
      expect(api.patches()).toBe(2);
      expect(r.outcome.scale).toEqual({ kind: 'scaled', from: 7, to: 8, attempts: 2 });
      expect(api.dep.replicas).toBe(8);
      expect(events.find((e) => e.reason === 'Scaled')?.message).toMatch(/^scaled 7 → 8 /);
    });

    it('the other writer already set our count: unchanged, no second write', async () => {
      let first = true;
      const api = apiserver(6, (d) => {
        if (!first) return;
        first = false;
        d.replicas = 8;
        d.version++;
      });
      const { result } = run(policy(), new KubernetesScaleActuator(api.clients), { [DEMAND]: ok(100) });
      const r = await result;
      expect(api.patches()).toBe(1);
      expect(r.outcome.scale).toEqual({ kind: 'unchanged', replicas: 8, attempts: 2 });
      expect(r.scaled).toBe(false);
      expect(r.error).toBeUndefined();
    });

    it('a 409 on every attempt: reported as FailedUpdateScale after 3 writes, retried sooner', async () => {
      // Every read sees a newer version than the one the next patch carries.
      const api = apiserver(6, (d) => {
        d.version++;
      });
      const { result } = run(policy(), new KubernetesScaleActuator(api.clients), { [DEMAND]: ok(100) });
      const r = await result;
      expect(api.patches()).toBe(3);
      expect(api.dep.replicas).toBe(6);
      expect(r.error).toBe('Deployment shop/web changed while scaling (409 Conflict)');
      expect(cond(r, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
      expect(r.memory.nextDue).toBe(NOW + 5_000);
    });
  });

  describe(`pause (${PAUSE_ANNOTATION}) and the back-off after another writer`, () => {
    it('"true": decides (status shows 8) but writes nothing; lifting it writes and says Resumed', async () => {
      const target = new FakeTarget(6);
      const paused = run(policy({}, { [PAUSE_ANNOTATION]: 'true' }), target, { [DEMAND]: ok(100) });
      const r = await paused.result;
      expect(target.writes).toEqual([]);
      expect(r.status.desiredReplicas).toBe(8);
      expect(r.status.paused).toBe('true');
      expect(cond(r, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'Paused' });
      expect(paused.events.map((e) => e.reason)).toContain('Paused');

      const lifted = run(policy(), target, { [DEMAND]: ok(100) }, r.memory, NOW + 15_000);
      const r2 = await lifted.result;
      expect(target.writes).toEqual([8]);
      expect(r2.status.paused).toBeUndefined();
      expect(lifted.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scaled', 'Resumed']));
    });

    it('"up" holds a scale-up but lets a scale-down through', async () => {
      const up = new FakeTarget(6);
      await run(policy({}, { [PAUSE_ANNOTATION]: 'up' }), up, { [DEMAND]: ok(100) }).result;
      expect(up.writes).toEqual([]);
      const down = new FakeTarget(6);
      await run(policy({}, { [PAUSE_ANNOTATION]: 'up' }), down, { [DEMAND]: ok(20) }).result;
      expect(down.writes).toEqual([2]);
    });

    it('an unknown value makes the policy invalid: nothing read, written or retried early', async () => {
      const target = new FakeTarget(6);
      const { result } = run(policy({}, { [PAUSE_ANNOTATION]: 'yes' }), target, { [DEMAND]: ok(100) });
      const r = await result;
      expect(r.result).toBe('invalid');
      expect(target.reads).toBe(0);
      expect(cond(r, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidPolicy' });
      expect(r.memory.nextDue).toBe(NOW + 15_000);
    });

    it('a hand-scale of our count: ExternalWrite, no write for 300 s, then written back', async () => {
      const target = new FakeTarget(6);
      const first = await run(policy(), target, { [DEMAND]: ok(100) }).result;
      expect(target.writes).toEqual([8]);
      target.replicas = 3; // kubectl scale --replicas 3 (or a GitOps sync)

      const seen = run(policy(), target, { [DEMAND]: ok(100) }, first.memory, NOW + 15_000);
      const r = await seen.result;
      expect(target.writes).toEqual([8]);
      expect(seen.events.find((e) => e.reason === 'ExternalWrite')?.message).toMatch(/^replicas changed 8 → 3 /);
      expect(r.status.backoffUntil).toBe(new Date(NOW + 15_000 + 300_000).toISOString());
      expect(cond(r, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'BackingOff' });

      const during = await run(policy(), target, { [DEMAND]: ok(100) }, r.memory, NOW + 300_000).result;
      expect(target.writes).toEqual([8]);
      expect(during.outcome.externalWrite).toBeUndefined();

      const after = await run(policy(), target, { [DEMAND]: ok(100) }, during.memory, NOW + 15_000 + 300_000).result;
      expect(target.writes).toEqual([8, 8]);
      expect(after.status.backoffUntil).toBeUndefined();
      expect(after.status.appliedReplicas).toBe(8);
    });

    it("a target at 0 replicas under replicas.min ≥ 1 is switched off (the HPA's ScalingDisabled); min 0 scales from zero", async () => {
      const off = new FakeTarget(0); // created at 0, or kubectl scale --replicas 0
      const r = run(policy(), off, { [DEMAND]: ok(100) });
      const res = await r.result;
      expect(off.writes).toEqual([]); // was 0 → 8
      expect(cond(res, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'ScalingDisabled' });
      expect(cond(res, 'AbleToScale')?.message).toMatch(
        /^the target has 0 replicas: scaling is off until it is scaled above 0/,
      );
      expect(r.events.map((e) => e.reason)).toContain('ScalingDisabled');
      off.replicas = 2; // switched on again by hand: scaled at once, no back-off (it never wrote)
      await run(policy(), off, { [DEMAND]: ok(100) }, res.memory, NOW + 15_000).result;
      expect(off.writes).toEqual([8]);
      const fromZero = new FakeTarget(0);
      const min0 = policy({ service: { ...policy().spec.service, replicas: { min: 0, max: 20 } } });
      await run(min0, fromZero, { [DEMAND]: ok(100) }).result;
      expect(fromZero.writes).toEqual([8]);
    });

    it('the target deleted and created again (a new uid) at 1: no ExternalWrite, written at once', async () => {
      const target = new FakeTarget(6);
      const first = await run(policy(), target, { [DEMAND]: ok(100) }).result;
      expect(first.status.appliedTarget).toBe('apps/v1/Deployment/web/d1');
      // kubectl delete deployment web; kubectl apply -f web.yaml (replicas: 1)
      target.replicas = 1;
      target.uid = 'd2';
      const again = run(policy(), target, { [DEMAND]: ok(100) }, first.memory, NOW + 15_000);
      const r = await again.result;
      expect(again.events.map((e) => e.reason)).not.toContain('ExternalWrite');
      expect(r.status.backoffUntil).toBeUndefined();
      expect(target.writes).toEqual([8, 8]);
      expect(r.status.appliedTarget).toBe('apps/v1/Deployment/web/d2');
      // The same object changed by hand is still another writer.
      target.replicas = 3;
      const hand = run(policy(), target, { [DEMAND]: ok(100) }, r.memory, NOW + 30_000);
      await hand.result;
      expect(hand.events.map((e) => e.reason)).toContain('ExternalWrite');
    });

    it('the policy pointed at another target: no ExternalWrite there, and a back-off does not follow it', async () => {
      const target = new FakeTarget(6);
      const first = await run(policy(), target, { [DEMAND]: ok(100) }).result;
      target.replicas = 3; // a hand-scale of web: back-off on web
      const backing = await run(policy(), target, { [DEMAND]: ok(100) }, first.memory, NOW + 15_000).result;
      expect(backing.status.backoffUntil).toBeDefined();
      const other = new FakeTarget(1);
      other.uid = 'o1';
      const moved = policy({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v2' } });
      const r = run(moved, other, { [DEMAND]: ok(100) }, backing.memory, NOW + 30_000);
      const res = await r.result;
      expect(r.events.map((e) => e.reason)).not.toContain('ExternalWrite');
      expect(other.writes).toEqual([8]);
      expect(res.status.backoffUntil).toBeUndefined();
      expect(res.status.appliedTarget).toBe('apps/v1/Deployment/web-v2/o1');
    });
  });

  it('a lasting problem is logged when it starts, every 5 minutes, and when it ends: not every round', async () => {
    const lines: string[] = [];
    const log = {
      info: (o: object | string, m?: string) => lines.push(`info ${m}: ${JSON.stringify(o)}`),
      warn: (o: object | string, m?: string) => lines.push(`warn ${m}: ${JSON.stringify(o)}`),
      error: () => undefined,
      debug: () => undefined,
    };
    const target = new FakeTarget(6);
    const down: MetricSample = { kind: 'error', reason: 'Prometheus at http://prom:9090 unreachable: ECONNREFUSED' };
    let memory: PolicyMemory | undefined;
    for (const [dt, sample] of [
      [0, down],
      [15, down],
      [30, down],
      [310, down],
      [325, ok(100)],
      [340, ok(100)],
    ] as const) {
      const f = ports(target, { [DEMAND]: sample });
      f.p.log = log;
      const pol = policy();
      const r = await reconcilePolicy(f.p, {
        policy: pol,
        model: { model: buildModel(pol) },
        memory,
        now: NOW + dt * 1000,
      });
      memory = r.memory;
    }
    expect(lines.map((l) => l.split(':')[0] ?? '').filter((l) => l.includes('problem'))).toEqual([
      'warn reconcile problem',
      'warn reconcile problem',
      'info reconcile problem resolved',
    ]);
    expect(lines[0]).toContain('demand query failed: Prometheus at http://prom:9090 unreachable: ECONNREFUSED');
  });

  it('an unchanged round does not write status again within stateRefreshMs', async () => {
    const target = new FakeTarget(8);
    const first = run(policy(), target, { [DEMAND]: ok(100) });
    const r1 = await first.result;
    expect(first.statuses).toHaveLength(1);
    const second = run(policy(), target, { [DEMAND]: ok(100) }, r1.memory, NOW + 15_000);
    const r2 = await second.result;
    expect(second.statuses).toHaveLength(0);
    expect(r2.statusWritten).toBe(false);
    // 60 s after the last write the decide state is refreshed even though nothing else changed.
    const third = run(policy(), target, { [DEMAND]: ok(100) }, r2.memory, NOW + 60_000);
    expect((await third.result).statusWritten).toBe(true);
  });

  describe('spec.demand.pods: the burst read from the pods', () => {
    const PODS = { port: 'metrics', metric: 'http_requests_total' };
    const podSource = (answer: MetricSample) => {
      const asked: PodRateQuery[] = [];
      const src: PodRateSource = {
        rate: (q) => {
          asked.push(q);
          return Promise.resolve(answer);
        },
      };
      return { src, asked };
    };

    it("a burst the pods show sizes the target now, though Prometheus' minute still shows 20 rps", async () => {
      const pol = policy({ demand: { query: DEMAND, pods: PODS } });
      const target = new FakeTarget(2, 'app=web');
      const pods = podSource(ok(100));
      const { result, queried } = run(pol, target, { [DEMAND]: ok(20) }, undefined, NOW, pods.src);
      const r = await result;
      // 20 rps alone keeps 2; the pods' 100 rps over the last 6 s asks for ⌈100 / 12.5⌉ = 8 at least.
      expect(target.writes[0]).toBeGreaterThanOrEqual(needed(100));
      expect(r.observed?.burstRps).toBe(100);
      expect(cond(r, 'PodMetricsAvailable')).toMatchObject({ status: 'True', reason: 'PodsRead' });
      expect(queried).toEqual([DEMAND]); // no Prometheus burst query
      expect(pods.asked).toEqual([
        {
          key: 'shop/web',
          namespace: 'shop',
          selector: 'app=web',
          counter: { ...PODS, path: '/metrics' },
          windowSeconds: 6,
          nowMs: NOW,
        },
      ]);
    });

    it('inFlight reaches the pod source with the counter (answered + in flight = arrived)', async () => {
      const inFlight = { ...PODS, inFlight: 'http_requests_in_flight' };
      const pods = podSource(ok(100));
      const target = new FakeTarget(2, 'app=web');
      await run(
        policy({ demand: { query: DEMAND, pods: inFlight } }),
        target,
        { [DEMAND]: ok(20) },
        undefined,
        NOW,
        pods.src,
      ).result;
      expect(pods.asked[0]?.counter).toEqual({ ...inFlight, path: '/metrics' });
    });

    it('Prometheus down while the pods show a burst: scaled up for it (never down), the decision still invalid', async () => {
      const pol = policy({ demand: { query: DEMAND, pods: PODS } });
      const target = new FakeTarget(2, 'app=web');
      const down = { kind: 'error', reason: 'connection refused' } as MetricSample;
      const f = run(pol, target, { [DEMAND]: down }, undefined, NOW, podSource(ok(100)).src);
      const r = await f.result;
      expect(target.writes).toEqual([needed(100)]);
      expect(r.status.lastDecision?.valid).toBe(false);
      expect(reasons(r)).toEqual(expect.arrayContaining(['NoMetrics', 'Burst']));
      expect(cond(r, 'MetricsAvailable')).toMatchObject({ status: 'False', reason: 'QueryFailed' });
      expect(cond(r, 'PodMetricsAvailable')).toMatchObject({ status: 'True', reason: 'PodsRead' });
      // The same with the pods reading what 2 carry: held, not written.
      const calm = new FakeTarget(6, 'app=web');
      await run(pol, calm, { [DEMAND]: down }, undefined, NOW, podSource(ok(20)).src).result;
      expect(calm.writes).toEqual([]);
    });

    it('a failed pod read leaves only the stable demand: sized by it, never scaled down for it', async () => {
      const pol = policy({ demand: { query: DEMAND, pods: PODS } });
      for (const [answer, reason, warned] of [
        [{ kind: 'error', reason: 'pod web-1 http://10.0.0.5:9090/metrics: ECONNREFUSED' }, 'PodReadFailed', true],
        [{ kind: 'no-data', reason: 'first reading' }, 'NoPodData', false],
      ] as const) {
        const target = new FakeTarget(6, 'app=web');
        const f = run(pol, target, { [DEMAND]: ok(100) }, undefined, NOW, podSource(answer).src);
        const r = await f.result;
        expect(r.status.lastDecision?.valid).toBe(true);
        expect(target.writes).toEqual([needed(100)]);
        expect(r.observed?.burstRps).toBeUndefined();
        // Said where `kubectl describe` shows it: a condition, and a Warning Event when pods fail.
        expect(cond(r, 'PodMetricsAvailable')).toMatchObject({ status: 'False', reason });
        expect(cond(r, 'PodMetricsAvailable')?.message).toContain(answer.reason);
        expect(f.events.some((e) => e.type === 'Warning' && e.reason === 'PodReadFailed')).toBe(warned);
      }
      // Without demand.pods there is no such condition.
      expect(cond(await run(policy(), new FakeTarget(6), { [DEMAND]: ok(100) }).result, 'PodMetricsAvailable')).toBe(
        undefined,
      );
      // A target without a pod selector: the pod source is not asked.
      const pods = podSource(ok(500));
      await run(pol, new FakeTarget(6), { [DEMAND]: ok(100) }, undefined, NOW, pods.src).result;
      expect(pods.asked).toEqual([]);
    });

    it.each([
      [{ demand: { query: DEMAND, burstQuery: 'x', pods: PODS } }, 'spec.demand.pods'],
      [{ demand: { query: DEMAND, pods: { ...PODS, port: 0 } } }, 'spec.demand.pods.port'],
      [{ demand: { query: DEMAND, pods: { ...PODS, port: 'Metrics_Port' } } }, 'spec.demand.pods.port'],
      [{ demand: { query: DEMAND, pods: { ...PODS, path: 'metrics' } } }, 'spec.demand.pods.path'],
      [{ demand: { query: DEMAND, pods: { ...PODS, inFlight: 'in-flight' } } }, 'spec.demand.pods.inFlight'],
    ])('a bad pods section is refused with HR_SPEC_INVALID at %j', (over, path) => {
      expect(() => buildModel(policy(over as Partial<PolicySpec>))).toThrow(
        expect.objectContaining({ code: 'HR_SPEC_INVALID', problems: [expect.objectContaining({ path })] }) as Error,
      );
    });
  });
});
