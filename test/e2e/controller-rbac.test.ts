// The least-privilege RBAC of deploy/manifests/rbac.yaml is enough: a controller authenticated as
// that ServiceAccount (token from the REAL kube-controller-manager's token controller) takes the
// Lease, reads Prometheus, scales a Deployment, writes status (a policy's and an application's) and
// records an Event.
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesObjects } from '../../src/adapters/actuators/kubernetes/objects.ts';
import { makeClients } from '../../src/adapters/kubernetes/client.ts';
import { PrometheusSource } from '../../src/adapters/metrics/prometheus/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { APP_PLURAL } from '../../src/controller/application-crd.ts';
import type { HeadroomApplication } from '../../src/controller/application.ts';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';
import {
  createDeployment,
  createNamespace,
  deleteNamespace,
  ensureCluster,
  replicasOf,
  waitFor,
} from './support/kube.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let kc: KubeConfig;
let kubeconfig: string;
let ns: string;
let prom: Prometheus | undefined;
let controller: Controller | undefined;
const clusterScoped: KubernetesObject[] = [];

/** deploy/manifests/rbac.yaml moved into namespace `ns`; cluster-scoped names made unique. */
function rbacObjects(namespace: string): KubernetesObject[] {
  const text = readFileSync(new URL('../../deploy/manifests/rbac.yaml', import.meta.url), 'utf8');
  return parseAllDocuments(text).map((d) => {
    const o = d.toJS() as KubernetesObject & { roleRef?: { name: string }; subjects?: { namespace?: string }[] };
    if (o.metadata?.namespace) o.metadata.namespace = namespace;
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')
      o.metadata = { ...o.metadata, name: `${o.metadata?.name}-${namespace}` };
    if (o.kind === 'ClusterRoleBinding' && o.roleRef) o.roleRef.name = `${o.roleRef.name}-${namespace}`;
    for (const s of o.subjects ?? []) s.namespace = namespace;
    return o;
  });
}

beforeAll(async () => {
  const cluster = await ensureCluster();
  kc = cluster.kc;
  kubeconfig = cluster.kubeconfig;
  ns = await createNamespace(kc, 'hr-rbac');
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const o of rbacObjects(ns)) {
    await objects.create(o);
    if (!o.metadata?.namespace) clusterScoped.push(o);
  }
  prom = await startPrometheus({});
}, 1_200_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  await prom?.dispose().catch(() => undefined);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  for (const o of clusterScoped) await objects.delete(o).catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
});

describe('deploy/manifests/rbac.yaml', () => {
  it('is enough for the controller to lead, scale, report status and record events', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    // Kubernetes 1.20: the token controller writes the ServiceAccount's token Secret.
    const sa = await waitFor(
      'ServiceAccount token',
      () => core.readNamespacedServiceAccount({ name: 'headroom-controller', namespace: ns }),
      (s) => (s.secrets?.length ?? 0) > 0,
      30_000,
    );
    const secret = await core.readNamespacedSecret({ name: sa.secrets?.[0]?.name ?? '', namespace: ns });
    const token = Buffer.from(secret.data?.token ?? '', 'base64').toString();
    expect(token.length).toBeGreaterThan(20);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('no cluster');
    const saKc = new KubeConfig();
    saKc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'sa', token }],
      contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
      currentContext: 'sa',
    });

    await createDeployment(kc, ns, 'app', 1);
    const policy = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'HeadroomPolicy',
      metadata: { name: 'app', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
        intervalSeconds: 1,
        service: {
          instance: { serviceTimeMs: 40, concurrency: 1 },
          targetUtilization: 0.5,
          replicas: { min: 1, max: 10 },
        },
        // 30 rps at 25 rps per instance and utilization 0.5 → 3 replicas.
        demand: { query: 'vector(30)' },
      },
    };
    await kc
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: policy });
    // A one-member application (a loose SLO: the count stays 3): the controller watches it and writes its status.
    const application = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'HeadroomApplication',
      metadata: { name: 'shop', namespace: ns },
      spec: { entry: 'app', slo: { latencyMs: 2000, percentile: 99 }, calls: [] },
    };
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: APP_PLURAL,
      body: application,
    });

    controller = new Controller({
      clients: makeClients(saKc),
      metrics: new PrometheusSource({ url: prom?.url ?? '' }),
      leaderElection: {
        namespace: ns,
        name: 'headroom-controller',
        leaseDurationSeconds: 3,
        renewDeadlineSeconds: 2,
        retryPeriodSeconds: 0.5,
      },
      tickMs: 250,
    });
    await controller.start();
    await waitFor(
      'scaled by the ServiceAccount',
      () => replicasOf(kc, ns, 'app'),
      (n) => n === 3,
      30_000,
    );
    const getPolicy = async (): Promise<HeadroomPolicy> =>
      (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: PLURAL,
        name: 'app',
      })) as HeadroomPolicy;
    const statusWritten = await waitFor('status', getPolicy, (x) => x.status?.currentReplicas === 3, 15_000);
    expect(statusWritten.status?.conditions?.find((c) => c.type === 'AbleToScale')?.status).toBe('True');
    expect(statusWritten.status?.graph?.application).toBe('shop');
    const app = await waitFor(
      'application status',
      async () =>
        (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: APP_PLURAL,
          name: 'shop',
        })) as HeadroomApplication,
      (a) => a.status?.conditions?.[0]?.reason === 'Planned',
      15_000,
    );
    expect(app.status?.members?.[0]).toMatchObject({ name: 'app', replicas: 3 });
    const lease = await kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'headroom-controller', namespace: ns });
    expect(lease.spec?.holderIdentity).toBe(controller.identity);
    const events = await waitFor(
      'Scaled event',
      () => core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=app' }),
      (l) => l.items.some((e) => e.reason === 'Scaled'),
      15_000,
    );
    expect(events.items.find((e) => e.reason === 'Scaled')?.reportingInstance).toBe(controller.identity);

    // The same Event three times within 10 minutes is one object counted 3 times (as client-go's
    // recorder aggregates), written with this ServiceAccount's rights alone.
    const objects = new KubernetesObjects(makeClients(saKc), {
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      kind: 'HeadroomPolicy',
      identity: 'rbac-test',
    });
    const ref = { namespace: ns, name: 'app' };
    const said = { type: 'Warning' as const, reason: 'RepeatTest', message: 'the same thing again' };
    const t0 = Date.now();
    for (const dt of [0, 30_000, 90_000]) await objects.recordEvent(ref, said, t0 + dt);
    const repeated = (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=app' })
    ).items.filter((e) => e.reason === 'RepeatTest');
    expect(repeated.map((e) => e.count)).toEqual([3]);
    expect(new Date(repeated[0]?.lastTimestamp ?? 0).getTime()).toBe(Math.floor((t0 + 90_000) / 1000) * 1000);
  });

  it('grants nothing beyond that: e.g. no Deployment writes, no Secrets', async () => {
    // SelfSubjectAccessReview as the ServiceAccount would need its token again; a SubjectAccessReview
    // by the admin asks the same question of the authorizer.
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const can = async (verb: string, group: string, resource: string, subresource?: string): Promise<boolean> => {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${ns}:headroom-controller`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
            resourceAttributes: { namespace: ns, verb, group, resource, ...(subresource ? { subresource } : {}) },
          },
        },
      });
      return r.status?.allowed === true;
    };
    expect(await can('patch', 'apps', 'deployments', 'scale')).toBe(true);
    expect(await can('patch', GROUP, PLURAL, 'status')).toBe(true);
    expect(await can('watch', GROUP, APP_PLURAL)).toBe(true);
    expect(await can('patch', GROUP, APP_PLURAL, 'status')).toBe(true);
    expect(await can('update', GROUP, APP_PLURAL)).toBe(false);
    expect(await can('patch', 'apps', 'deployments')).toBe(false);
    expect(await can('update', GROUP, PLURAL)).toBe(false);
    expect(await can('get', '', 'secrets')).toBe(false);
    expect(await can('patch', '', 'events')).toBe(true); // a repeated Event's count
    expect(await can('delete', '', 'events')).toBe(false);
  });

  it('`headroom controller` as a process: probes, /metrics, no flap on restart, SIGTERM exits 0', async () => {
    await controller?.stop(); // the in-process controller above hands over to a separate process
    controller = undefined;
    const child = spawn(
      process.execPath,
      [
        '--disable-warning=ExperimentalWarning', // this is Node 24 already (vitest runs on it)
        'src/cli/main.ts',
        'controller',
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${ns}`,
        `--prometheus=${prom?.url ?? ''}`,
        '--metrics-port=0',
        '--log-level=info',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const port = await waitFor(
        'the metrics port in the log',
        async () => Number(/"port":(\d+)/.exec(out)?.[1] ?? NaN),
        (n) => n > 0,
        60_000,
      );
      const get = async (path: string) => {
        const r = await request(`http://127.0.0.1:${port}${path}`);
        return { code: r.statusCode, body: await r.body.text() };
      };
      expect((await get('/healthz')).code).toBe(200);
      await waitFor(
        'ready',
        () => get('/readyz'),
        (r) => r.code === 200,
        30_000,
      );
      // It decides from the persisted status: the same 3, so nothing is written to the scale.
      const m = await waitFor(
        'a reconcile',
        () => get('/metrics'),
        (r) => /headroom_controller_reconciles_total\{result="ok"\} [1-9]/.test(r.body),
        30_000,
      );
      expect(m.body).toMatch(/headroom_controller_scale_writes_total 0/);
      expect(m.body).toMatch(/headroom_policy_desired_replicas\{namespace="[^"]+",policy="app"\} 3/);
      expect(await replicasOf(kc, ns, 'app')).toBe(3);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('"msg":"stopped"');
  });
});
