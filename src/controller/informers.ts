// The controller's list+watch caches (watch.ts): its HeadroomPolicies, the HeadroomApplications
// that link them into call graphs (application.ts), and the HorizontalPodAutoscalers that may own
// the same targets (conflict.ts). All are listed before the first round, and each restarts on its
// own after an apiserver restart.
import type { V1HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { KubeClients } from '../adapters/kubernetes/client.ts';
import { APP_PLURAL } from './application-crd.ts';
import type { HeadroomApplication } from './application.ts';
import { GROUP, PLURAL, VERSION } from './crd.ts';
import type { HeadroomPolicy } from './policy.ts';
import { Watch } from './watch.ts';

export interface Informers {
  policies: Watch<HeadroomPolicy>;
  applications: Watch<HeadroomApplication>;
  hpas: Watch<V1HorizontalPodAutoscaler>;
}

export interface InformerOptions {
  /** One namespace; undefined = all namespaces (ClusterRole). */
  namespace?: string | undefined;
  log: { warn(obj: object, msg: string): void };
  /** A policy was added or updated (a spec change, or a status write of ours). */
  onPolicy: (p: HeadroomPolicy) => void;
  onPolicyDeleted: (p: HeadroomPolicy) => void;
  /** An application was added, changed or deleted. */
  onApplication: () => void;
}

export function makeInformers(k: KubeClients, o: InformerOptions): Informers {
  const ns = o.namespace;
  const policies = customWatch<HeadroomPolicy>(k, ns, PLURAL, 'HeadroomPolicy', o.log, {
    onAdd: o.onPolicy,
    onUpdate: o.onPolicy,
    onDelete: o.onPolicyDeleted,
  });
  const what = 'HeadroomApplication (is its CRD installed? deploy/crds/)';
  const applications = customWatch<HeadroomApplication>(k, ns, APP_PLURAL, what, o.log, {
    onAdd: o.onApplication,
    onUpdate: o.onApplication,
    onDelete: o.onApplication,
  });
  // autoscaling/v1 shows the HPAs made with v2 too.
  const hpas = new Watch<V1HorizontalPodAutoscaler>({
    kc: k.kc,
    path: ns
      ? `/apis/autoscaling/v1/namespaces/${ns}/horizontalpodautoscalers`
      : '/apis/autoscaling/v1/horizontalpodautoscalers',
    list: () =>
      ns
        ? k.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns })
        : k.autoscaling.listHorizontalPodAutoscalerForAllNamespaces(),
    what: 'HorizontalPodAutoscaler',
    log: o.log,
  });
  return { policies, applications, hpas };
}

/** A list+watch of one headroom.dev resource, in one namespace or all. */
function customWatch<T extends { metadata?: { name?: string } }>(
  k: KubeClients,
  ns: string | undefined,
  plural: string,
  what: string,
  log: InformerOptions['log'],
  on: Pick<ConstructorParameters<typeof Watch<T>>[0], 'onAdd' | 'onUpdate' | 'onDelete'>,
): Watch<T> {
  return new Watch<T>({
    kc: k.kc,
    path: ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}` : `/apis/${GROUP}/${VERSION}/${plural}`,
    list: () =>
      (ns
        ? k.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })
        : k.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as Promise<{ items: T[] }>,
    what,
    log,
    ...on,
  });
}

/**
 * List all before the first round: a policy must not write a target an HPA already owns, nor size a
 * graph member as a plain policy.
 */
export async function startInformers(i: Informers): Promise<void> {
  await Promise.all([i.policies.start(), i.applications.start(), i.hpas.start()]);
}

export async function stopInformers(i: Informers): Promise<void> {
  await i.policies.stop();
  await i.applications.stop();
  await i.hpas.stop();
}
