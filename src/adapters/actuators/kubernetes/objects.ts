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

/** Repeats of one Event within this long are counted on it (client-go's aggregation window). */
export const EVENT_AGGREGATE_MS = 600_000;
const EVENT_CACHE_MAX = 4096;

export class KubernetesObjects {
  readonly #k: KubeClients;
  readonly #o: KubernetesObjectsOptions;
  /** Events recorded, by what they say: name, count and when first recorded (insertion order). */
  readonly #recent = new Map<string, { name: string; count: number; firstMs: number }>();

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

  /**
   * One Event about the object at `nowMs`. The same Event again within 10 minutes (object, type,
   * reason, message) bumps the first one's `count` and `lastTimestamp` instead of adding an object,
   * as client-go's recorder does: `kubectl describe` says `(x4 over 6m)`, not four lines. When that
   * Event is gone (expired, deleted) a new one is created.
   */
  async recordEvent(ref: ObjectRef, e: ObjectEvent, nowMs: number): Promise<void> {
    const now = new Date(nowMs);
    const message = e.message.slice(0, 1000);
    const key = JSON.stringify([ref.namespace, ref.name, ref.uid ?? '', e.type, e.reason, message]);
    const seen = this.#recent.get(key);
    if (seen && nowMs - seen.firstMs < EVENT_AGGREGATE_MS) {
      try {
        await this.#k.core.patchNamespacedEvent(
          {
            name: seen.name,
            namespace: ref.namespace,
            body: [
              { op: 'replace', path: '/count', value: seen.count + 1 },
              { op: 'replace', path: '/lastTimestamp', value: now.toISOString() },
            ],
          },
          JSON_PATCH,
        );
        seen.count++;
        return;
      } catch (err) {
        // Gone: record it anew below. Anything else: only logged, as a lost Event is.
        if (statusOf(err) !== 404) {
          this.#o.log?.debug({ err: messageOf(err) }, 'event not recorded');
          return;
        }
      }
    }
    const { group, version, kind } = this.#o;
    const name = `${ref.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
    try {
      await this.#k.core.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          metadata: { name, namespace: ref.namespace },
          involvedObject: {
            apiVersion: `${group}/${version}`,
            kind,
            name: ref.name,
            namespace: ref.namespace,
            ...(ref.uid ? { uid: ref.uid } : {}),
          },
          type: e.type,
          reason: e.reason,
          message,
          source: { component: 'headroom-controller' },
          reportingComponent: 'headroom.dev/controller',
          reportingInstance: this.#o.identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
      this.#remember(key, { name, count: 1, firstMs: nowMs }, nowMs);
    } catch (err) {
      this.#o.log?.debug({ err: messageOf(err) }, 'event not recorded');
    }
  }

  /** Keep an Event for aggregation; forget the expired ones when the map grows (bounded memory). */
  #remember(key: string, v: { name: string; count: number; firstMs: number }, nowMs: number): void {
    this.#recent.delete(key);
    this.#recent.set(key, v);
    if (this.#recent.size <= EVENT_CACHE_MAX) return;
    for (const [k, x] of this.#recent) {
      if (nowMs - x.firstMs >= EVENT_AGGREGATE_MS || this.#recent.size > EVENT_CACHE_MAX) this.#recent.delete(k);
      else break;
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
