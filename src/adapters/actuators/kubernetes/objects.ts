// The controller's other Kubernetes writes and reads, beside the scale (index.ts): a custom
// object's /status, Events about it, and a ConfigMap key (a capacity profile). Status writes and
// Events never throw: a lost status write is retried next round, a lost Event is only logged.
import { setHeaderOptions } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { messageOf, statusOf, withRetry, type KubeClients, type RetryOptions } from '../../kubernetes/client.ts';

const JSON_PATCH = setHeaderOptions('Content-Type', 'application/json-patch+json');

/** The object written about: its metadata is enough (a HeadroomPolicy's `metadata`). */
export interface ObjectRef {
  namespace: string;
  name: string;
  uid?: string | undefined;
}

export interface ObjectEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface KubernetesObjectsOptions {
  /** The custom resource whose status is written and Events are about. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  /** reportingInstance of Events. */
  identity: string;
  retry?: RetryOptions | undefined;
  log?: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

export class KubernetesObjects {
  readonly #k: KubeClients;
  readonly #o: KubernetesObjectsOptions;

  constructor(clients: KubeClients, opts: KubernetesObjectsOptions) {
    this.#k = clients;
    this.#o = opts;
  }

  /** Replace the object's status; false when not written (a 404 is silent: the object is gone). */
  async writeStatus(ref: ObjectRef, status: object): Promise<boolean> {
    const { group, version, plural } = this.#o;
    try {
      await withRetry(
        () =>
          this.#k.custom.patchNamespacedCustomObjectStatus(
            {
              group,
              version,
              namespace: ref.namespace,
              plural,
              name: ref.name,
              // `add` on /status replaces it whole (a merge patch would keep stale keys).
              body: [{ op: 'add', path: '/status', value: status }],
              fieldManager: 'headroom',
            },
            JSON_PATCH,
          ),
        this.#o.retry,
      );
      return true;
    } catch (err) {
      if (statusOf(err) !== 404) this.#o.log?.warn({ policy: ref.name, err: messageOf(err) }, 'status write failed');
      return false;
    }
  }

  /** One Event about the object at `nowMs`. */
  async recordEvent(ref: ObjectRef, e: ObjectEvent, nowMs: number): Promise<void> {
    const now = new Date(nowMs);
    const { group, version, kind } = this.#o;
    try {
      await this.#k.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: {
            name: `${ref.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`,
            namespace: ref.namespace,
          },
          involvedObject: {
            apiVersion: `${group}/${version}`,
            kind,
            name: ref.name,
            namespace: ref.namespace,
            ...(ref.uid ? { uid: ref.uid } : {}),
          },
          type: e.type,
          reason: e.reason,
          message: e.message.slice(0, 1000),
          source: { component: 'headroom-controller' },
          reportingComponent: 'headroom.dev/controller',
          reportingInstance: this.#o.identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.#o.log?.debug({ err: messageOf(err) }, 'event not recorded');
    }
  }

  /** A ConfigMap's key; undefined when the ConfigMap is missing (404). Other failures throw. */
  async readConfigMapKey(namespace: string, name: string, key: string): Promise<string | undefined> {
    try {
      const cm = await withRetry(() => this.#k.core.readNamespacedConfigMap({ name, namespace }), this.#o.retry);
      return cm.data?.[key];
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }
}
