// planGraph off the event loop: a graph plan costs ~100 ms of CPU on a busy 2-core machine, and the
// process that plans also runs every member's balancer, so planning inline would stall every request
// in flight once a round. A worker thread plans; one plan at a time (a round that finds the worker
// busy is skipped: the next one plans at the newer demand).
import { Worker } from 'node:worker_threads';
import type { GraphPlan } from '../core/graph.ts';
import type { ServiceModel } from '../core/model.ts';

export interface PlanRequest {
  models: readonly ServiceModel[];
  entry: string;
  entryDemandRps: number;
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
let planGraph;
parentPort.on('message', async ({ url, models, entry, entryDemandRps }) => {
  try {
    planGraph ??= (await import(url)).planGraph;
    parentPort.postMessage({ plan: planGraph(models, { entry, entryDemandRps }) });
  } catch (err) {
    parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});`;

export class GraphPlanner {
  readonly #worker = new Worker(WORKER_SOURCE, { eval: true });
  #busy = false;
  constructor() {
    this.#worker.unref();
  }

  /** The plan, or undefined when a plan is still being made; rejects with planGraph's error. */
  plan(req: PlanRequest): Promise<GraphPlan | undefined> {
    if (this.#busy) return Promise.resolve(undefined);
    this.#busy = true;
    return new Promise<GraphPlan | undefined>((resolve, reject) => {
      this.#worker.once('message', (m: { plan?: GraphPlan; error?: string }) => {
        this.#busy = false;
        if (m.error !== undefined) reject(new Error(m.error));
        else resolve(m.plan);
      });
      this.#worker.postMessage({ url: new URL('../core/graph.ts', import.meta.url).href, ...req });
    });
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}
