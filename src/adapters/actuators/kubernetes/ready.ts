// How many of a scale target's pods are READY, i.e. serving capacity. The scale subresource's
// status.replicas counts pods that exist (Pending, crash-looping, not yet passing readiness), so
// it is not capacity. Like the HPA (pods not Ready are left out of current utilization):
//   - Deployment, StatefulSet, ReplicaSet: the workload's own status.readyReplicas;
//   - any other kind: the pods matched by the scale's status.selector with condition Ready=True
//     (running, not being deleted).
// The workload read also says who controls it (controllerOf): a ReplicaSet of a Deployment is not
// scaled by a policy (the Deployment would set it back).
// Pure: the actuator does the reads (src/adapters/actuators/kubernetes/index.ts).

/** The kinds whose status has readyReplicas, and their plural, by `apiVersion/kind`. */
export const WORKLOADS: Readonly<Record<string, string>> = {
  'apps/v1/Deployment': 'deployments',
  'apps/v1/StatefulSet': 'statefulsets',
  'apps/v1/ReplicaSet': 'replicasets',
};

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface OwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  controller?: boolean;
}

export interface WorkloadObject {
  metadata?: { resourceVersion?: string; uid?: string; ownerReferences?: OwnerReference[] };
  spec?: { replicas?: number; selector?: LabelSelector };
  status?: { replicas?: number; readyReplicas?: number };
}

/** A Deployment/StatefulSet/ReplicaSet → the scale reading (the scale subresource shares its resourceVersion). */
export function readingOfWorkload(obj: WorkloadObject): {
  specReplicas: number;
  statusReplicas: number;
  readyReplicas: number;
  version: string;
  selector?: string;
  uid?: string;
  owner?: { apiVersion: string; kind: string; name: string };
} {
  const selector = selectorString(obj.spec?.selector);
  const owner = controllerOf(obj.metadata?.ownerReferences);
  return {
    ...(selector ? { selector } : {}),
    // The apiserver defaults spec.replicas to 1; status omits zero counts (omitempty).
    specReplicas: count(obj.spec?.replicas, 1),
    statusReplicas: count(obj.status?.replicas, 0),
    readyReplicas: count(obj.status?.readyReplicas, 0),
    version: obj.metadata?.resourceVersion ?? '',
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
    ...(owner ? { owner } : {}),
  };
}

/**
 * The ownerReference with controller: true (at most one; the apiserver refuses two): the object
 * whose controller manages this one, e.g. the Deployment of a ReplicaSet, an operator's custom
 * resource of a StatefulSet. Plain owners (garbage collection only) do not set replicas.
 */
export function controllerOf(
  refs: readonly OwnerReference[] | undefined,
): { apiVersion: string; kind: string; name: string } | undefined {
  const c = refs?.find((r) => r.controller === true && r.kind && r.name);
  return c ? { apiVersion: c.apiVersion ?? '', kind: c.kind!, name: c.name! } : undefined;
}

/**
 * A LabelSelector in the string form a list's labelSelector takes (the form the scale subresource
 * shows): { matchLabels: { app: web }, matchExpressions: [{ key: tier, operator: In, values: [a, b] }] }
 * → "app=web,tier in (a,b)". Empty or absent → undefined.
 */
export function selectorString(sel: LabelSelector | undefined): string | undefined {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) {
    const vs = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${vs}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${vs}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length > 0 ? parts.join(',') : undefined;
}

export interface PodLike {
  metadata?: { deletionTimestamp?: unknown };
  status?: { phase?: string; conditions?: Array<{ type?: string; status?: string }> };
}

/** Ready = condition Ready is True, the pod is Running and not being deleted. */
export function isPodReady(p: PodLike): boolean {
  if (p.metadata?.deletionTimestamp) return false;
  if (p.status?.phase !== 'Running') return false;
  return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export function countReadyPods(pods: readonly PodLike[]): number {
  let n = 0;
  for (const p of pods) if (isPodReady(p)) n++;
  return n;
}

/**
 * The instances that carry load, for decide(): the ready count when known. A target with neither
 * readyReplicas nor a selector (a custom resource whose scale has no labelSelectorPath) says
 * nothing more than status.replicas; the HPA cannot scale such a target at all.
 */
export function readyOf(r: { statusReplicas: number; readyReplicas?: number | undefined }): number {
  return r.readyReplicas ?? r.statusReplicas;
}

function count(x: number | undefined, dflt: number): number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : dflt;
}
