// One list+watch cache (client-node's informer) that survives apiserver restarts: the first list
// is retried with back-off until it succeeds; a failed watch lists and watches again with back-off
// until a start goes through without a new error. The controller keeps two: its HeadroomPolicies
// and the HorizontalPodAutoscalers (conflict.ts).
import { makeInformer, type Informer, type KubeConfig, type ObjectCache } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../adapters/kubernetes/client.ts';

interface Named {
  metadata?: { name?: string; namespace?: string; uid?: string } | undefined;
}

export interface WatchOptions<T> {
  kc: KubeConfig;
  /** API path of the collection, e.g. /apis/headroom.dev/v1alpha1/namespaces/shop/headroompolicies. */
  path: string;
  list: () => Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  /** What is watched, for log lines: "HeadroomPolicy". */
  what: string;
  log: { warn(obj: object, msg: string): void };
  onAdd?: (o: T) => void;
  onUpdate?: (o: T) => void;
  onDelete?: (o: T) => void;
}

export class Watch<T extends Named> {
  readonly #o: WatchOptions<T>;
  readonly #informer: Informer<T> & ObjectCache<T>;
  #synced = false;
  #stopping = false;
  #restarting = false;
  #errors = 0;

  constructor(o: WatchOptions<T>) {
    this.#o = o;
    const informer = makeInformer<T>(o.kc, o.path, o.list);
    this.#informer = informer;
    if (o.onAdd) informer.on('add', o.onAdd);
    if (o.onUpdate) informer.on('update', o.onUpdate);
    if (o.onDelete) informer.on('delete', o.onDelete);
    informer.on('error', (err) => {
      // stop() aborts the watch, and the informer reports that abort as an error: not a failure.
      if (this.#stopping) return;
      this.#errors++;
      // e.g. the apiserver restarted: the watch ends with an error; list+watch again with back-off.
      o.log.warn({ err: messageOf(err) }, `${o.what} watch failed; restarting`);
      void this.#restart();
    });
  }

  /** Listed at least once. */
  get synced(): boolean {
    return this.#synced;
  }

  list(namespace?: string): T[] {
    return [...this.#informer.list(namespace)];
  }

  /** Resolves once the first list succeeded (retrying with back-off), or on stop(). */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#informer.start();
        this.#synced = true;
        return;
      } catch (err) {
        if (this.#stopping) return;
        this.#o.log.warn({ err: messageOf(err) }, `listing ${this.#o.what} failed; retrying`);
        await sleep(Math.min(5000, 250 * 2 ** attempt));
      }
    }
  }

  /**
   * A failed restart reports its error synchronously inside start(): counting errors catches
   * those too.
   */
  async #restart(): Promise<void> {
    if (this.#restarting || this.#stopping) return;
    this.#restarting = true;
    try {
      for (let attempt = 0; !this.#stopping; attempt++) {
        const seen = this.#errors;
        await sleep(Math.min(5000, 250 * 2 ** attempt));
        try {
          await this.#informer.start();
        } catch (err) {
          this.#o.log.warn({ err: messageOf(err) }, `${this.#o.what} watch restart failed`);
          continue;
        }
        if (this.#errors === seen) return;
      }
    } finally {
      this.#restarting = false;
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#informer.stop();
  }
}
