// Scale-subresource actuator: reads and patches `<resource>/scale` of anything that has one
// (Deployment, StatefulSet, ReplicaSet, custom resources with a scale subresource), like the HPA.
// Writes are merge patches carrying the resourceVersion of the reading the decision was made on,
// so a concurrent change gives 409 Conflict: we re-read, and retry only if the target still differs.
// Reads count READY pods (ready.ts): a Deployment, StatefulSet or ReplicaSet is read whole (one GET,
// the same resourceVersion as its scale, and status.readyReplicas); any other kind's scale, then its
// pods through the scale's status.selector.
import { setHeaderOptions } from '@kubernetes/client-node';
import type { Actuator, ScaleOutcome, ScaleReading, ScaleTargetRef } from '../../../ports/actuator.ts';
import { type KubeClients, messageOf, statusOf, withRetry, type RetryOptions } from '../../kubernetes/client.ts';
import { countReadyPods, readingOfWorkload, WORKLOADS, type WorkloadObject } from './ready.ts';

const MERGE_PATCH = setHeaderOptions('Content-Type', 'application/merge-patch+json');

interface ScaleObject {
  metadata?: { resourceVersion?: string; uid?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

export class TargetError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = 'TargetError';
    this.status = status;
  }
}

export interface KubernetesActuatorOptions {
  retry?: RetryOptions;
  /** Conflict (409) re-read + retry rounds before giving up (default 3). */
  conflictAttempts?: number;
  fieldManager?: string;
}

export class KubernetesScaleActuator implements Actuator {
  readonly #k: KubeClients;
  readonly #opts: KubernetesActuatorOptions;
  readonly #plurals = new Map<string, string>();
  /** Conflicts met (409), for the controller's metrics. */
  conflicts = 0;

  constructor(clients: KubeClients, opts: KubernetesActuatorOptions = {}) {
    this.#k = clients;
    this.#opts = opts;
  }

  async read(t: ScaleTargetRef): Promise<ScaleReading> {
    const { group, version, plural } = await this.#resolve(t);
    const ref = { group, version, namespace: t.namespace, plural, name: t.name };
    if (WORKLOADS[`${t.apiVersion}/${t.kind}`] !== undefined) {
      const obj = (await this.#call(t, () => this.#k.custom.getNamespacedCustomObject(ref))) as WorkloadObject;
      return readingOfWorkload(obj);
    }
    const obj = (await this.#call(t, () => this.#k.custom.getNamespacedCustomObjectScale(ref))) as ScaleObject;
    const reading = toReading(obj);
    if (reading.selector === undefined) return reading;
    const selector = reading.selector;
    // resourceVersion "0": from the apiserver's watch cache, as the pods' scraper and the HPA's
    // informers read pods, not a quorum read from etcd every round.
    const pods = await this.#call(t, () =>
      this.#k.core.listNamespacedPod({ namespace: t.namespace, labelSelector: selector, resourceVersion: '0' }),
    );
    return { ...reading, readyReplicas: countReadyPods(pods.items) };
  }

  async scale(t: ScaleTargetRef, replicas: number, basis?: ScaleReading): Promise<ScaleOutcome> {
    const { group, version, plural } = await this.#resolve(t);
    let reading = basis ?? (await this.read(t));
    const rounds = this.#opts.conflictAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      if (reading.specReplicas === replicas) return { kind: 'unchanged', replicas, attempts: attempt };
      const patch = { metadata: { resourceVersion: reading.version }, spec: { replicas } };
      try {
        await this.#call(t, () =>
          this.#k.custom.patchNamespacedCustomObjectScale(
            {
              group,
              version,
              namespace: t.namespace,
              plural,
              name: t.name,
              body: patch,
              fieldManager: this.#opts.fieldManager ?? 'headroom',
            },
            MERGE_PATCH,
          ),
        );
        return { kind: 'scaled', from: reading.specReplicas, to: replicas, attempts: attempt };
      } catch (err) {
        if (!(err instanceof TargetError) || err.status !== 409 || attempt >= rounds) throw err;
        this.conflicts++;
        reading = await this.read(t);
      }
    }
  }

  async #call<T>(t: ScaleTargetRef, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.#opts.retry);
    } catch (err) {
      const s = statusOf(err);
      const what = `${t.kind} ${t.namespace}/${t.name}`;
      if (s === 404) throw new TargetError(`${REF}: ${what} not found, or it has no scale subresource`, s);
      if (s === 409) throw new TargetError(`${what} changed while scaling (409 Conflict)`, s);
      if (s === 403)
        throw new TargetError(
          `HR_KUBE_FORBIDDEN spec.scaleTargetRef: forbidden to read or scale ${what}, or to list its pods (RBAC)`,
          s,
        );
      throw new TargetError(`${what}: ${err instanceof Error ? err.message : String(err)}`, s);
    }
  }

  async #resolve(t: ScaleTargetRef): Promise<{ group: string; version: string; plural: string }> {
    const slash = t.apiVersion.indexOf('/');
    if (slash < 0) {
      throw new TargetError(
        `${REF}.apiVersion: core-group targets are not supported; use apps/v1 or a custom resource (value: ${t.apiVersion})`,
        undefined,
      );
    }
    const group = t.apiVersion.slice(0, slash);
    const version = t.apiVersion.slice(slash + 1);
    const key = `${t.apiVersion}/${t.kind}`;
    let plural = this.#plurals.get(key) ?? WELL_KNOWN[key];
    if (plural === undefined) {
      let res;
      try {
        res = await withRetry(() => this.#k.discovery.lookup(t.apiVersion, t.kind), this.#opts.retry);
      } catch (err) {
        // The group/version is not served at all: the client's error carries the whole HTTP answer.
        const s = statusOf(err);
        if (s === 404)
          throw new TargetError(`${REF}: no API ${t.apiVersion} is served (is the CRD of ${t.kind} installed?)`, s);
        throw new TargetError(`discovering ${t.apiVersion} ${t.kind}: ${firstLine(messageOf(err))}`, s);
      }
      if (!res) throw new TargetError(`${REF}.kind: no resource of kind ${t.kind} is served in ${t.apiVersion}`, 404);
      plural = res.name;
    }
    this.#plurals.set(key, plural);
    return { group, version, plural };
  }
}

/** The stable code and key of a scale target the apiserver does not have (docs/errors.md). */
const REF = 'HR_SCALE_TARGET spec.scaleTargetRef';

const firstLine = (s: string): string => s.split('\n')[0] ?? s;

// Saves one discovery request per process for the common kinds.
const WELL_KNOWN: Readonly<Record<string, string>> = WORKLOADS;

function toReading(obj: ScaleObject): ScaleReading {
  return {
    specReplicas: obj.spec?.replicas ?? 0,
    statusReplicas: obj.status?.replicas ?? 0,
    ...(obj.status?.selector ? { selector: obj.status.selector } : {}),
    version: obj.metadata?.resourceVersion ?? '',
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
  };
}
