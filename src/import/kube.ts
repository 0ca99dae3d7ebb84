// HorizontalPodAutoscalers read live from the apiserver, for `headroom import hpa` without -f.
// The newest autoscaling version the apiserver serves (v2, else v2beta2, else v1): the older ones
// show the same stored objects without behavior or metrics beyond CPU.
import type { KubeConfig } from '@kubernetes/client-node';
import { HeadroomError, type ProblemDetail } from '../core/errors.ts';
import { loadKubeConfig, makeClients, messageOf, statusOf, withRetry } from '../adapters/kubernetes/client.ts';
import type { HpaInput } from './hpa.ts';

export interface LiveOptions {
  kubeconfig?: string;
  /** Default: the context's namespace, else `default`. */
  namespace?: string;
  allNamespaces?: boolean;
  /** Only these HPAs (in `namespace`); all when empty. */
  names?: readonly string[];
}

const GROUP = 'autoscaling';
const PLURAL = 'horizontalpodautoscalers';

export interface LiveResult {
  inputs: HpaInput[];
  /** The namespace listed (undefined with --all-namespaces). */
  namespace: string | undefined;
  version: string;
}

export async function readLiveHpas(opts: LiveOptions): Promise<LiveResult> {
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig(opts.kubeconfig);
  } catch (err) {
    throw new HeadroomError({
      code: opts.kubeconfig !== undefined ? 'HR_FILE_READ' : 'HR_KUBE_UNREACHABLE',
      ...(opts.kubeconfig !== undefined ? { file: opts.kubeconfig } : {}),
      message: `cannot load the kubeconfig: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      allowed: 'a kubeconfig file (--kubeconfig, $KUBECONFIG, ~/.kube/config) or an in-cluster service account',
    });
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) {
    throw new HeadroomError({
      code: 'HR_KUBE_UNREACHABLE',
      ...(opts.kubeconfig !== undefined ? { file: opts.kubeconfig } : {}),
      message: 'the kubeconfig has no current cluster',
      allowed: 'a kubeconfig whose current-context names a cluster (kubectl config use-context)',
    });
  }
  const k = makeClients(kc, 'headroom-import');
  const namespace = opts.allNamespaces
    ? undefined
    : (opts.namespace ?? kc.getContextObject(kc.currentContext)?.namespace ?? 'default');
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await withRetry(fn, { attempts: 3 });
    } catch (err) {
      throw kubeError(err, what, server);
    }
  };

  // The newest served version: GET /apis/autoscaling/<v> is 404 when it is not served.
  let version: string | undefined;
  for (const v of ['v2', 'v2beta2', 'v1']) {
    try {
      await withRetry(() => k.custom.getAPIResources({ group: GROUP, version: v }), { attempts: 3 });
      version = v;
      break;
    } catch (err) {
      if (statusOf(err) === 404) continue;
      throw kubeError(err, `GET /apis/${GROUP}/${v}`, server);
    }
  }
  if (version === undefined) {
    throw new HeadroomError({
      code: 'HR_KUBE_UNREACHABLE',
      file: server,
      message: 'the apiserver serves no autoscaling API (v2, v2beta2 or v1)',
    });
  }
  const v = version;
  const apiVersion = `${GROUP}/${v}`;
  const where = (o: unknown): HpaInput => {
    const m = (o as { metadata?: { namespace?: string; name?: string } }).metadata;
    // List items carry no apiVersion/kind: they are the list's.
    return {
      object: { apiVersion, kind: 'HorizontalPodAutoscaler', ...(o as object) },
      file: `${apiVersion} HorizontalPodAutoscaler ${m?.namespace ?? ''}/${m?.name ?? ''}`,
    };
  };

  const names = opts.names ?? [];
  if (names.length > 0) {
    const ns = namespace ?? 'default';
    const found: HpaInput[] = [];
    const missing: ProblemDetail[] = [];
    for (const name of names) {
      try {
        const o = await withRetry(
          () => k.custom.getNamespacedCustomObject({ group: GROUP, version: v, namespace: ns, plural: PLURAL, name }),
          { attempts: 3 },
        );
        found.push(where(o));
      } catch (err) {
        if (statusOf(err) !== 404) throw kubeError(err, `GET ${apiVersion} ${PLURAL} ${ns}/${name}`, server);
        missing.push({
          code: 'HR_HPA_NOT_FOUND',
          file: server,
          path: `${ns}/${name}`,
          message: `no HorizontalPodAutoscaler ${name} in namespace ${ns}`,
        });
      }
    }
    if (missing.length > 0) throw new HeadroomError(missing);
    return { inputs: found, namespace: ns, version: apiVersion };
  }
  const list = (await call(`LIST ${apiVersion} ${PLURAL}${namespace ? ` in ${namespace}` : ''}`, () =>
    namespace !== undefined
      ? k.custom.listNamespacedCustomObject({ group: GROUP, version: v, namespace, plural: PLURAL })
      : k.custom.listClusterCustomObject({ group: GROUP, version: v, plural: PLURAL }),
  )) as { items?: unknown[] };
  const items = (list.items ?? []).map(where);
  if (items.length === 0) {
    throw new HeadroomError({
      code: 'HR_HPA_NOT_FOUND',
      file: server,
      message: `no HorizontalPodAutoscalers ${namespace !== undefined ? `in namespace ${namespace}` : 'in any namespace'}`,
      allowed: 'a namespace with HPAs (-n NAMESPACE, --all-namespaces), or -f FILE',
    });
  }
  return { inputs: items, namespace, version: apiVersion };
}

/** 401/403 → HR_KUBE_FORBIDDEN; refused, TLS, 5xx, other answers → HR_KUBE_UNREACHABLE; in the apiserver's words. */
function kubeError(err: unknown, what: string, server: string): HeadroomError {
  const status = statusOf(err);
  if (status === 401 || status === 403) {
    return new HeadroomError({
      code: 'HR_KUBE_FORBIDDEN',
      file: server,
      message: `${what}: ${messageOf(err)}`,
      allowed: `credentials allowed to ${what.startsWith('LIST') ? 'list' : 'get'} horizontalpodautoscalers.autoscaling (RBAC)`,
    });
  }
  // Refused, TLS, timeout, 5xx, or any other answer than the one asked for: reported as it came.
  return new HeadroomError({ code: 'HR_KUBE_UNREACHABLE', file: server, message: `${what}: ${messageOf(err)}` });
}
