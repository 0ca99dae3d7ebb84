// A custom resource with a scale subresource as the scale target (what Argo Rollouts and other
// operators publish), on a REAL kube-apiserver + etcd: the actuator reads `<plural>/scale`, counts
// the READY pods its status.selector matches (no readyReplicas in a scale), and writes the count
// through the scale subresource, so the object's spec.replicas changes and nothing else does.
// No kubelet here: the test creates the object's 3 pods itself and a stand-in marks one Ready.
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../src/controller/controller.ts';
import {
  createNamespace,
  createPolicy,
  deleteNamespace,
  ensureCluster,
  ensureCrd,
  readPolicy,
  standInKubelet,
  waitFor,
} from './support/kube.ts';
import { e2ePolicy, testController } from './support/controller.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

const GROUP = 'e2e.headroom.dev';
const PLURAL = 'widgets';
const CRD = `${PLURAL}.${GROUP}`;

let kc: KubeConfig;
let ns: string;
let prom: Prometheus;
let controller: Controller | undefined;
let kubelet: { stop(): Promise<void> } | undefined;

const widgets = () => kc.makeApiClient(CustomObjectsApi);
const readWidget = async (name: string) =>
  (await widgets().getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: ns, plural: PLURAL, name })) as {
    spec: { replicas: number; color?: string };
    status?: { replicas?: number; selector?: string };
  };

async function ensureWidgetCrd(): Promise<void> {
  const body: V1CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural: PLURAL, singular: 'widget', kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          // The client's typed model spells x-kubernetes-* keys this way (it drops the YAML spelling).
          schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
        },
      ],
    },
  };
  await ensureCrd(kc, body);
}

async function createWidget(name: string, replicas: number, status: Record<string, unknown>): Promise<void> {
  await waitFor(
    `widget ${name} created`,
    () =>
      widgets().createNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        namespace: ns,
        plural: PLURAL,
        body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name }, spec: { replicas, color: 'blue' } },
      }),
    () => true,
    20_000,
  );
  const body = { ...(await readWidget(name)), status };
  await widgets().replaceNamespacedCustomObjectStatus({
    group: GROUP,
    version: 'v1',
    namespace: ns,
    plural: PLURAL,
    name,
    body,
  });
}

/** A policy on Widget `target`: demand 10 rps, burst 60 rps (12.5 rps per ready instance → 5). */
async function widgetPolicy(name: string, target: string): Promise<void> {
  const p = e2ePolicy(ns, name, target, { query: 'vector(10)', burstQuery: 'vector(60)' });
  await createPolicy(kc, ns, {
    ...p,
    spec: { ...p.spec, scaleTargetRef: { apiVersion: `${GROUP}/v1`, kind: 'Widget', name: target } },
  });
}

beforeAll(async () => {
  kc = (await ensureCluster()).kc;
  await ensureWidgetCrd();
  ns = await createNamespace(kc, 'hr-cr');
  prom = await startPrometheus({});
  // The objects, and their status as their operator would publish it: `w` has 3 pods selected by
  // app=widget; `bare` publishes no selector, only status.replicas.
  await createWidget('w', 3, { replicas: 3, selector: 'app=widget' });
  await createWidget('bare', 2, { replicas: 2 });
  const core = kc.makeApiClient(CoreV1Api);
  for (const i of [0, 1, 2]) {
    const body = {
      metadata: { name: `widget-${i}`, labels: { app: 'widget' } },
      spec: { containers: [{ name: 'app', image: 'example.invalid/app:1' }] },
    };
    // A new namespace's default ServiceAccount comes from kube-controller-manager a moment later.
    await waitFor(
      `pod widget-${i}`,
      () => core.createNamespacedPod({ namespace: ns, body }),
      () => true,
      30_000,
    );
  }
  // One pod becomes Ready; the other two stay Pending.
  kubelet = standInKubelet(kc, ns, 'widget', 250, 120, { maxReady: 1 });
  await waitFor(
    'one widget pod ready',
    () => core.listNamespacedPod({ namespace: ns, labelSelector: 'app=widget' }),
    (l) =>
      l.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 1,
    30_000,
  );
  controller = testController(kc, prom.url, ns);
  await controller.start();
}, 1_200_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  await kubelet?.stop();
  await prom?.dispose().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
  if (kc)
    await kc
      .makeApiClient(ApiextensionsV1Api)
      .deleteCustomResourceDefinition({ name: CRD })
      .catch(() => undefined);
});

/** Policy `name` on Widget `target`, once the target holds 5: the object and the policy's decision reasons. */
async function scaledTo5(name: string, target: string) {
  await widgetPolicy(name, target);
  const widget = await waitFor(
    `${target} scaled to 5`,
    () => readWidget(target),
    (x) => x.spec.replicas === 5,
    30_000,
  );
  const policy = await waitFor(
    `${name} status`,
    () => readPolicy(kc, ns, name),
    (x) => x.status?.appliedReplicas === 5,
    20_000,
  );
  const reasons = policy.status?.lastDecision?.reasons ?? [];
  console.log(`${name}: ${reasons.map((r) => `${r.code}: ${r.message}`).join(' | ')}`);
  return { widget, policy, burst: reasons.find((r) => r.code === 'Burst')?.message };
}

describe('a custom resource with a scale subresource', () => {
  it('counts the Ready pods its selector matches (1 of 3), and scales it through /scale: spec.replicas 3 → 5, nothing else changed', async () => {
    // 1 ready pod carries 12.5 rps, so the burst path sizes for 60 rps → 60 ÷ 12.5 = 4.8 → 5.
    // Counting the 3 pods that exist would carry 37.5 rps, still a burst, but the message would say 3.
    const { widget, policy, burst } = await scaledTo5('widget', 'w');
    expect(widget.spec.color).toBe('blue');
    expect(widget.status).toEqual({ replicas: 3, selector: 'app=widget' });
    expect(burst).toContain('what 1 ready instance carries');
    expect(policy.status?.lastDecision?.desired).toBe(5);
    expect(policy.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('with no selector in its scale, status.replicas is the capacity (2), and it is scaled through /scale the same way', async () => {
    const { widget, burst } = await scaledTo5('bare', 'bare');
    expect(widget.status).toEqual({ replicas: 2 });
    expect(burst).toContain('what 2 ready instances carry');
  });
});
