// The controller's /metrics as a REAL Prometheus sees it: two in-process controllers competing for
// one Lease on a REAL kube-apiserver (scripts/k8s-control-plane.sh), each serving /metrics, and a
// real Prometheus that scrapes both every second and answers the policies' demand queries.
//
// Per-policy series follow the status (docs/controller.md §Metrics): a deleted policy's series go,
// an invalid one shows no counts, a demand without a reading is not exported, a controller service
// has no SLO-bad counter (the shipped burn-rate rule has no data, not 0), a round that throws is
// reported in status and retried at the interval, and a leader that lost the Lease exports nothing.
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  setHeaderOptions,
  V1MicroTime,
  type KubeConfig,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClients } from '../../src/adapters/kubernetes/client.ts';
import { PrometheusSource } from '../../src/adapters/metrics/prometheus/index.ts';
import { defaultRules } from '../../src/alerting/defaults.ts';
import { promqlFor } from '../../src/alerting/export.ts';
import * as M from '../../src/alerting/metric-names.ts';
import { Controller, type Logger } from '../../src/controller/controller.ts';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { PolicyStatus } from '../../src/controller/policy.ts';
import { serveProbes } from '../../src/controller/server.ts';
import type { MetricsSource } from '../../src/ports/metrics.ts';
import { e2ePolicy } from './support/controller.ts';
import {
  createDeployment,
  createNamespace,
  createPolicy as createPolicyIn,
  deleteNamespace,
  ensureCluster,
  readPolicy,
  waitFor,
} from './support/kube.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

let kc: KubeConfig;
let ns: string;
let prom: Prometheus;
const controllers: Controller[] = [];
const closers: Array<() => Promise<void>> = [];
const LEASE = 'headroom-e2e-metrics';

/** A demand query naming this metric makes the metrics port throw (a port breaking its promise). */
const THROW = 'headroom_e2e_throw';
const thrown = new Map<string, number>();
const logs: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = [];

function logger(): Logger {
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      logs.push({ level, obj: typeof obj === 'string' ? {} : (obj as Record<string, unknown>), msg });
    };
  return { info: at('info'), warn: at('warn'), error: at('error'), debug: () => undefined };
}

function controller(): Controller {
  // Prometheus starts after the controllers' ports are known: the source is looked up per query.
  const metrics = {
    sample(query: string) {
      if (query.includes(THROW)) {
        thrown.set(query, (thrown.get(query) ?? 0) + 1);
        return Promise.reject(new Error('the metrics port broke its promise'));
      }
      return new PrometheusSource({ url: prom.url, timeoutMs: 2000 }).sample(query);
    },
  } as unknown as MetricsSource;
  const c = new Controller({
    clients: makeClients(kc),
    metrics,
    namespace: ns,
    leaderElection: {
      namespace: ns,
      name: LEASE,
      leaseDurationSeconds: 3,
      renewDeadlineSeconds: 2,
      retryPeriodSeconds: 0.5,
    },
    tickMs: 250,
    retry: { attempts: 2, baseMs: 100 },
    log: logger(),
  });
  controllers.push(c);
  return c;
}

function policy(name: string, query: string, service: Record<string, unknown> = {}, extra = {}) {
  const base = e2ePolicy(ns, name, name, { query }, service);
  return { ...base, spec: { ...base.spec, ...extra } };
}

const custom = (): CustomObjectsApi => kc.makeApiClient(CustomObjectsApi);
const cond = (s: PolicyStatus | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

async function patchSpec(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom().patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body: { spec } },
    setHeaderOptions('Content-Type', 'application/merge-patch+json'),
  );
}

/** An instant query in the real Prometheus: one entry per series. */
async function query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const r = await request(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.body.json()) as {
    status: string;
    error?: string;
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`${q}: ${body.error}`);
  return body.data.result;
}

/** Series lines (not # HELP/# TYPE) of /metrics naming this label value. */
async function seriesOf(c: Controller, match: string): Promise<string[]> {
  const text = await c.registry.metrics();
  return text.split('\n').filter((l) => l.startsWith('headroom_') && l.includes(match));
}

const leader = (): Controller => {
  const l = controllers.find((c) => c.isLeader);
  if (!l) throw new Error('no leader');
  return l;
};

beforeAll(async () => {
  const cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-metrics');
  const targets: string[] = [];
  for (const c of [controller(), controller()]) {
    const s = await serveProbes(c, 0, '127.0.0.1');
    closers.push(() => s.close());
    targets.push(`127.0.0.1:${s.port}`);
  }
  prom = await startPrometheus({ controller: targets });
  closers.push(() => prom.dispose());
  for (const name of ['web', 'burn', 'boom', 'keep']) await createDeployment(kc, ns, name, 1);
  await Promise.all(controllers.map((c) => c.start()));
  await waitFor(
    'a leader',
    async () => controllers.filter((c) => c.isLeader).length,
    (n) => n === 1,
    15_000,
  );
}, 1_200_000);

afterAll(async () => {
  for (const c of controllers) await c.stop().catch(() => undefined);
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
});

describe('per-policy series follow the policy', () => {
  it('demand absent without a reading, counts absent while invalid, every series gone once the policy is deleted', async () => {
    await createPolicyIn(kc, ns, policy('web', 'vector(30)'));
    const sel = `{namespace="${ns}", policy="web"}`;
    await waitFor(
      'Prometheus scrapes the policy series from the leader',
      async () => (await query(`${M.POLICY_DEMAND_RPS}${sel}`)).map((r) => r.value[1]),
      (v) => v.length === 1 && v[0] === '30',
      30_000,
    );
    expect((await query(`${M.POLICY_DESIRED_REPLICAS}${sel}`))[0]?.value[1]).toBe('3');
    expect((await query(`${M.SERVICE_DEMAND_RPS}{service="${ns}/web"}`))[0]?.value[1]).toBe('30');

    // Demand query fails (a PromQL parse error answers 400): status says "error" and so does /metrics,
    // by having no demand value, while the counts the round still decided stay.
    await patchSpec('web', { demand: { query: 'sum(rate(' } });
    await waitFor(
      'status demand error',
      async () => (await readPolicy(kc, ns, 'web')).status?.demand,
      (d) => d === 'error',
      30_000,
    );
    await waitFor(
      'no demand series in Prometheus',
      async () => (await query(`${M.POLICY_DEMAND_RPS}${sel}`)).length,
      (n) => n === 0,
      15_000,
    );
    expect(await query(`${M.POLICY_DESIRED_REPLICAS}${sel}`)).toHaveLength(1);
    expect(await query(`${M.SERVICE_DEMAND_RPS}{service="${ns}/web"}`)).toHaveLength(0);

    // min > max: InvalidPolicy, no counts in status, none in /metrics.
    await patchSpec('web', {
      demand: { query: 'vector(30)' },
      service: { replicas: { min: 5, max: 2 } },
    });
    await waitFor(
      'InvalidPolicy',
      async () => cond((await readPolicy(kc, ns, 'web')).status, 'Ready')?.reason,
      (r) => r === 'InvalidPolicy',
      30_000,
    );
    const st = (await readPolicy(kc, ns, 'web')).status;
    expect(st?.desiredReplicas).toBeUndefined();
    await waitFor(
      'no count series in Prometheus for the invalid policy',
      async () => (await query(`{__name__=~"headroom_policy_.*", namespace="${ns}", policy="web"}`)).length,
      (n) => n === 0,
      15_000,
    );

    // Valid again, then deleted: every series of it goes, the per-service ones too.
    await patchSpec('web', { service: { replicas: { min: 1, max: 10 } } });
    await waitFor(
      'the counts are back',
      async () => (await query(`${M.POLICY_DESIRED_REPLICAS}${sel}`)).length,
      (n) => n === 1,
      30_000,
    );
    await custom().deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      name: 'web',
    });
    await waitFor(
      'no series of the deleted policy in Prometheus',
      async () =>
        (await query(`{__name__=~"headroom_policy_.*", namespace="${ns}", policy="web"}`)).length +
        (await query(`{__name__=~"headroom_(service|instance|model)_.*", service="${ns}/web"}`)).length,
      (n) => n === 0,
      15_000,
    );
    for (const c of controllers) expect(await seriesOf(c, `"${ns}/web"`)).toEqual([]);
    for (const c of controllers) expect(await seriesOf(c, `policy="web"`)).toEqual([]);
  }, 180_000);

  it('the shipped burn-rate rule has no data for a controller service (it measures no SLO-bad requests)', async () => {
    await createPolicyIn(kc, ns, policy('burn', 'vector(30)', { slo: { latencyMs: 200, percentile: 99 } }));
    const svc = `service="${ns}/burn"`;
    // Requests integrate from demand: their rate is known.
    await waitFor(
      'a request rate for the controller service',
      async () => Number((await query(`sum(rate(${M.SERVICE_REQUESTS_TOTAL}{${svc}}[20s]))`))[0]?.value[1] ?? 0),
      (v) => v > 0,
      60_000,
      500,
    );
    expect(await query(`${M.SERVICE_SLO_OBJECTIVE}{${svc}}`)).toHaveLength(1);
    // The shipped expression (its windows shortened to what this test has), any value passes: no data, no value.
    const rule = defaultRules().find((r) => r.metric === 'service.burnRate');
    if (!rule) throw new Error('no burn-rate rule shipped');
    const expr = promqlFor({ ...rule, op: '>=', threshold: -1, windowsSeconds: [20, 20] }).replace(
      /\[(\d+[smhd])+\]/g,
      '[20s]',
    );
    expect(expr).toContain(M.SERVICE_SLO_BAD_REQUESTS_TOTAL);
    expect(await query(`(${expr})`)).toEqual([]);
    expect(await query(`${M.SERVICE_SLO_BAD_REQUESTS_TOTAL}{${svc}}`)).toEqual([]);
    expect(await query(`${M.SERVICE_ERRORS_TOTAL}{${svc}}`)).toEqual([]);
  }, 120_000);
});

describe('a reconcile that throws', () => {
  it('sets Ready False (FailedReconcile) with one Warning Event, retries at the interval and logs once', async () => {
    const q = `vector(30) + 0 * sum(${THROW})`;
    await createPolicyIn(kc, ns, policy('boom', q, {}, { intervalSeconds: 2 }));
    const ready = await waitFor(
      'Ready False FailedReconcile',
      async () => cond((await readPolicy(kc, ns, 'boom')).status, 'Ready'),
      (c) => c?.status === 'False' && c.reason === 'FailedReconcile',
      30_000,
    );
    expect(ready?.message).toContain('the metrics port broke its promise');
    const calls0 = thrown.get(q) ?? 0;
    await sleep(6_500);
    const calls = (thrown.get(q) ?? 0) - calls0;
    // A round every 2 s (about 3 in 6.5 s), not one a tick (every 250 ms: about 26).
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(5);
    const mine = logs.filter((l) => l.obj.policy === 'boom' && l.obj.namespace === ns);
    expect(mine.filter((l) => l.level === 'error')).toEqual([]);
    // Logged when it started, then every 5 minutes: once in this test.
    expect(mine.filter((l) => l.msg === 'reconcile problem')).toHaveLength(1);
    const events = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=boom` });
    const failed = events.items.filter((e) => e.reason === 'FailedReconcile');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.type).toBe('Warning');
    const st = (await readPolicy(kc, ns, 'boom')).status;
    expect(st?.desiredReplicas).toBeUndefined();
    expect(cond(st, 'ScalingActive')?.reason).toBe('FailedReconcile');
    expect(await seriesOf(leader(), 'policy="boom"')).toEqual([]);

    // Fixed: the next round (a new generation is due at once) is Ready again, and says it in the log.
    await patchSpec('boom', { demand: { query: 'vector(30)' } });
    await waitFor(
      'Ready True again',
      async () => cond((await readPolicy(kc, ns, 'boom')).status, 'Ready')?.status,
      (s) => s === 'True',
      30_000,
    );
    await waitFor(
      'the problem logged as resolved',
      async () => logs.filter((l) => l.obj.policy === 'boom' && l.msg === 'reconcile problem resolved').length,
      (n) => n === 1,
      10_000,
    );
  }, 120_000);
});

describe('leader election', () => {
  it('a leader that loses the Lease exports no per-policy or per-service series', async () => {
    await createPolicyIn(kc, ns, policy('keep', 'vector(30)'));
    const was = leader();
    await waitFor(
      'the leader exports the policy',
      async () => (await seriesOf(was, 'policy="keep"')).length,
      (n) => n >= 3,
      30_000,
    );
    // Someone else takes the Lease for an hour: both controllers are standbys now.
    const coord = kc.makeApiClient(CoordinationV1Api);
    const lease = await coord.readNamespacedLease({ name: LEASE, namespace: ns });
    const now = new V1MicroTime(Date.now());
    await coord.replaceNamespacedLease({
      name: LEASE,
      namespace: ns,
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: 'intruder',
          leaseDurationSeconds: 3600,
          acquireTime: now,
          renewTime: now,
        },
      },
    });
    await waitFor(
      'no leader',
      async () => controllers.filter((c) => c.isLeader).length,
      (n) => n === 0,
      15_000,
    );
    await sleep(1000);
    for (const c of controllers) {
      const lines = (await c.registry.metrics())
        .split('\n')
        .filter((l) => /^headroom_(policy|service|instance|model)_/.test(l));
      expect(lines).toEqual([]);
    }
    expect(await was.registry.metrics()).toMatch(new RegExp(`^${M.CONTROLLER_LEADER} 0$`, 'm'));
    await waitFor(
      'no policy or service series in Prometheus',
      async () => (await query(`{__name__=~"headroom_(policy|service|instance|model)_.*"}`)).length,
      (n) => n === 0,
      15_000,
    );
  }, 120_000);
});
