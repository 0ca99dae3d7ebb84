// e2e setup for the Kubernetes controller: a REAL kube-apiserver + etcd + kube-controller-manager
// (scripts/k8s-control-plane.sh, built once from Debian's kubernetes source package and cached), or
// an existing cluster named by HEADROOM_KUBECONFIG; the HeadroomPolicy CRD applied; one namespace
// per test file.
import {
  ApiextensionsV1Api,
  AutoscalingV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadYaml,
  setHeaderOptions,
  type V1CustomResourceDefinition,
  type V1Pod,
} from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GROUP, PLURAL, VERSION } from '../../../src/controller/crd.ts';
import type { HeadroomPolicy } from '../../../src/controller/policy.ts';

const SCRIPT = fileURLToPath(new URL('../../../scripts/k8s-control-plane.sh', import.meta.url));
const K8S_DIR =
  process.env.HEADROOM_K8S_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'headroom', 'k8s');

/** kubectl built with the control plane (absent when HEADROOM_KUBECONFIG names another cluster). */
export const KUBECTL = join(K8S_DIR, 'cache', 'bin', 'kubectl');

/**
 * kubectl's `--cache-dir`, new for each call: its discovery cache (~/.kube/cache, 10 min) is shared
 * by every kubectl on the machine, and one written before the CRD was served made `kubectl get hrp`
 * fail with "the server doesn't have a resource type" (clean run, 2026-12-04).
 */
export const freshKubectlCache = (): string[] => ['--cache-dir', mkdtempSync(join(tmpdir(), 'hr-kubectl-cache-'))];

export interface Cluster {
  kubeconfig: string;
  kc: KubeConfig;
  /** True when this process's script manages the control plane (so a test may restart the apiserver). */
  local: boolean;
}

/** `scripts/k8s-control-plane.sh up` (idempotent; ~4 min the first time, seconds after), or HEADROOM_KUBECONFIG. */
export async function ensureCluster(): Promise<Cluster> {
  const external = process.env.HEADROOM_KUBECONFIG;
  let kubeconfig: string;
  if (external) kubeconfig = external;
  else {
    execFileSync('bash', [SCRIPT, 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 1_200_000 });
    kubeconfig = join(K8S_DIR, 'run', 'kubeconfig');
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await applyCrd(kc);
  return { kubeconfig, kc, local: !external };
}

/**
 * Create or update the CRDs as shipped: every file of deploy/crds/ (the HeadroomPolicy and the
 * HeadroomApplication; unit tests check they equal src/controller/crd.ts and application-crd.ts),
 * and wait until each is Established.
 */
export async function applyCrd(kc: KubeConfig): Promise<void> {
  const dir = fileURLToPath(new URL('../../../deploy/crds/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    // Through the client's deserializer: its typed model spells x-kubernetes-* keys differently.
    await ensureCrd(kc, loadYaml<V1CustomResourceDefinition>(readFileSync(join(dir, file), 'utf8')));
  }
}

/** Create the CRD, or replace one of the same name (left by an earlier run), and wait until it is Established. */
export async function ensureCrd(kc: KubeConfig, body: V1CustomResourceDefinition): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const name = body.metadata?.name ?? '';
  try {
    const existing = await api.readCustomResourceDefinition({ name });
    await api.replaceCustomResourceDefinition({
      name,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' } },
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await api.createCustomResourceDefinition({ body });
  }
  await established(api, name);
}

async function established(api: ApiextensionsV1Api, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await sleep(100);
  }
  throw new Error(`CRD ${name} not established`);
}

export async function createNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  // Pods (and so ReplicaSets' progress) need the ServiceAccount the controller-manager creates.
  return name;
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => undefined);
}

export async function createDeployment(
  kc: KubeConfig,
  namespace: string,
  name: string,
  replicas: number,
  ports?: Array<{ name: string; containerPort: number }>,
): Promise<void> {
  await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'app', image: 'example.invalid/app:1', ...(ports ? { ports } : {}) }] },
        },
      },
    },
  });
}

/** An autoscaling/v1 HPA named `name` on Deployment `target` (1–10 replicas, CPU 50 %). */
export async function createHpaV1(kc: KubeConfig, namespace: string, name: string, target: string): Promise<void> {
  await kc.makeApiClient(AutoscalingV1Api).createNamespacedHorizontalPodAutoscaler({
    namespace,
    body: {
      metadata: { name },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
        minReplicas: 1,
        maxReplicas: 10,
        targetCPUUtilizationPercentage: 50,
      },
    },
  });
}

export async function replicasOf(kc: KubeConfig, namespace: string, name: string): Promise<number> {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name, namespace });
  return d.spec?.replicas ?? 0;
}

export async function setReplicas(kc: KubeConfig, namespace: string, name: string, replicas: number): Promise<void> {
  // A blind merge patch, like `kubectl scale`: kube-controller-manager writes the Deployment too,
  // so a read-then-replace here would itself meet 409s.
  await kc
    .makeApiClient(AppsV1Api)
    .patchNamespacedDeploymentScale(
      { name, namespace, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
}

/** Poll `fn` every `everyMs` until it returns a value that `ok` accepts, or fail after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 250,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(
    `timed out waiting for ${what}; last value ${JSON.stringify(last)} ${lastErr ? String(lastErr) : ''}`,
  );
}

/** Stop only kube-apiserver (by its PID file) and start it again with the script; returns downtime ms. */
export async function restartApiserver(downMs: number): Promise<void> {
  const pid = Number(readFileSync(join(K8S_DIR, 'run', 'kube-apiserver.pid'), 'utf8').trim());
  process.kill(pid, 'SIGTERM');
  // It drains for a while after SIGTERM (watches, shutdown delay); after 5 s it is killed outright.
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, i >= 50 ? 'SIGKILL' : 0);
      await sleep(100);
    } catch {
      break;
    }
  }
  await sleep(downMs);
  execFileSync('bash', [SCRIPT, 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}

/**
 * One Deployment per name with `replicas` pods, each with a stand-in kubelet (its stop() added to
 * `closers`), and every pod Ready before it returns: a latency sample is read against the model at
 * the ready count, so a test's first round must see them all.
 */
export async function readyDeployments(
  kc: KubeConfig,
  namespace: string,
  names: readonly string[],
  replicas: number,
  closers: Array<() => Promise<void>>,
): Promise<void> {
  for (const name of names) {
    await createDeployment(kc, namespace, name, replicas);
    const k = standInKubelet(kc, namespace, name);
    closers.push(() => k.stop());
  }
  const apps = kc.makeApiClient(AppsV1Api);
  await waitFor(
    `${replicas} ready pods each`,
    () => Promise.all(names.map(async (name) => (await apps.readNamespacedDeployment({ name, namespace })).status)),
    (all) => all.every((st) => st?.readyReplicas === replicas),
    60_000,
  );
}

/**
 * What a kubelet would do for pods that pass their readiness probe: mark every pod of the
 * Deployment `app` Running and Ready (this control plane has no kubelet, so pods stay Pending and
 * readyReplicas stays 0). The ReplicaSet and Deployment controllers then count them as ready.
 * Runs every `everyMs` until stop(); bounded by `maxSeconds`.
 */
export function standInKubelet(
  kc: KubeConfig,
  namespace: string,
  app: string,
  everyMs = 500,
  maxSeconds = 300,
  /** podIP: the address the pods get (a kubelet sets the pod network's); maxReady: leave the rest Pending. */
  opts: { podIP?: string; maxReady?: number } = {},
): { stop(): Promise<void> } {
  const core = kc.makeApiClient(CoreV1Api);
  let stopped = false;
  const t0 = Date.now();
  const loop = (async () => {
    while (!stopped && Date.now() - t0 < maxSeconds * 1000) {
      try {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` });
        const isReady = (p: V1Pod): boolean =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
        let readyCount = pods.items.filter(isReady).length;
        for (const pod of pods.items) {
          if (isReady(pod) || pod.metadata?.deletionTimestamp || !pod.metadata?.name) continue;
          if (readyCount >= (opts.maxReady ?? Infinity)) break;
          readyCount++;
          const now = new Date();
          await core.replaceNamespacedPodStatus({
            name: pod.metadata.name,
            namespace,
            body: {
              ...pod,
              status: {
                phase: 'Running',
                startTime: now,
                ...(opts.podIP ? { podIP: opts.podIP, podIPs: [{ ip: opts.podIP }] } : {}),
                conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }],
              },
            },
          });
        }
      } catch {
        // a pod deleted or changed meanwhile: next round
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Create a HeadroomPolicy from `body` (any body: tests also send ones the CRD must refuse). */
export async function createPolicy(kc: KubeConfig, namespace: string, body: unknown): Promise<void> {
  await kc
    .makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body });
}

/** A HeadroomPolicy as the apiserver stored it. */
export async function readPolicy(kc: KubeConfig, namespace: string, name: string): Promise<HeadroomPolicy> {
  return (await kc
    .makeApiClient(CustomObjectsApi)
    .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as HeadroomPolicy;
}
