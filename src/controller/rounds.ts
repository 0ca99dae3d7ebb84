// Scheduling: which policies are due, one round over them with bounded concurrency, and the tick
// loop that runs rounds (woken early by a spec change or by winning the lease).
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeadroomPolicy } from './policy.ts';
import type { PolicyMemory } from './reconcile.ts';

export interface RoundStats {
  policies: number;
  scaled: number;
  statusWrites: number;
  errors: number;
  apiRequests: number;
  ms: number;
}

/** Policies whose interval has passed, or whose spec changed (new generation), and not in flight. */
export function duePolicies(
  policies: readonly HeadroomPolicy[],
  memory: ReadonlyMap<string, PolicyMemory>,
  inflight: ReadonlySet<string>,
  nowMs: number,
): HeadroomPolicy[] {
  return policies.filter((p) => {
    const uid = p.metadata.uid ?? '';
    if (inflight.has(uid)) return false;
    const mem = memory.get(uid);
    return !mem || mem.generation !== (p.metadata.generation ?? 0) || mem.nextDue <= nowMs;
  });
}

/** Reconcile `policies`, `concurrency` at a time (at least 1), until done or `stopping()`. */
export async function runRound(
  policies: readonly HeadroomPolicy[],
  concurrency: number,
  reconcile: (p: HeadroomPolicy) => Promise<{ scaled: boolean; statusWritten: boolean; error?: string }>,
  stopping: () => boolean,
): Promise<Pick<RoundStats, 'policies' | 'scaled' | 'statusWrites' | 'errors'>> {
  const stats = { policies: policies.length, scaled: 0, statusWrites: 0, errors: 0 };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < policies.length && !stopping()) {
      const p = policies[next++];
      if (!p) break;
      const r = await reconcile(p);
      if (r.scaled) stats.scaled++;
      if (r.statusWritten) stats.statusWrites++;
      if (r.error) stats.errors++;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, policies.length)) }, worker));
  return stats;
}

/** Runs `body` every `tickMs` until stopped; `wake()` starts the next tick at once. */
export class Ticker {
  #wake = new AbortController();
  #stopping = false;
  /** ms, by the clock given to run(). */
  lastTick = 0;

  wake(): void {
    this.#wake.abort();
  }

  stop(): void {
    this.#stopping = true;
    this.#wake.abort();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  async run(tickMs: number, now: () => number, body: () => Promise<void>): Promise<void> {
    while (!this.#stopping) {
      this.lastTick = now();
      await body();
      this.#wake = new AbortController();
      await sleep(tickMs, undefined, { signal: this.#wake.signal }).catch(() => undefined);
    }
  }
}
