// Each policy's ServiceModel, built by policy.ts buildModel from its spec and, when it names one, a
// capacity profile in a ConfigMap; cached per generation and profile text, so an unchanged policy
// is validated once. An invalid policy caches its error (the same problems until it changes).
import { HeadroomError, formatProblem } from '../core/errors.ts';
import type { ServiceModel } from '../core/model.ts';
import { messageOf } from '../adapters/kubernetes/client.ts';
import { buildModel, type HeadroomPolicy } from './policy.ts';

/** A ConfigMap's key; undefined when the ConfigMap is missing. */
export type ReadConfigMapKey = (namespace: string, name: string, key: string) => Promise<string | undefined>;

export class ModelCache {
  readonly #models = new Map<string, { key: string; model?: ServiceModel; error?: string }>();
  readonly #read: ReadConfigMapKey;

  constructor(read: ReadConfigMapKey) {
    this.#read = read;
  }

  async get(p: HeadroomPolicy, uid: string): Promise<{ model: ServiceModel } | { error: string }> {
    let profile: string | undefined;
    const ref = p.spec.capacity?.profile?.configMapKeyRef;
    if (ref) {
      try {
        profile = await this.#read(p.metadata.namespace, ref.name, ref.key);
      } catch (err) {
        return { error: `reading ConfigMap ${ref.name}: ${messageOf(err)}` };
      }
    }
    const key = `${p.metadata.generation ?? 0}|${profile ?? ''}`;
    const cached = this.#models.get(uid);
    if (cached?.key === key) return cached.model ? { model: cached.model } : { error: cached.error ?? 'invalid' };
    try {
      const model = buildModel(p, profile);
      this.#models.set(uid, { key, model });
      return { model };
    } catch (err) {
      const msg =
        err instanceof HeadroomError
          ? err.problems.map(formatProblem).join('; ')
          : err instanceof Error
            ? err.message
            : String(err);
      this.#models.set(uid, { key, error: msg });
      return { error: msg };
    }
  }

  /** The last model built for a policy, if it was valid. */
  peek(uid: string): ServiceModel | undefined {
    return this.#models.get(uid)?.model;
  }

  delete(uid: string): void {
    this.#models.delete(uid);
  }
}
