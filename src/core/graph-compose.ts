// Composing a call graph's distributions (src/core/graph.ts has the semantics and the split): each
// service's own response time per (service, count), cached, composed with its callees' end-to-end
// times, callees first; a change at one service recomposes only the services above it.
import { calleesFirst, propagateDemand } from './call-graph.ts';
import {
  cdfAt,
  cdfOf,
  convolve,
  multiplyParallel,
  pmfFromTail,
  pmfOfCdf,
  sequentialCalls,
  type Grid,
} from './distribution.ts';
import type { CallModel, ServiceModel } from './model.ts';
import { poolShape } from './plan.ts';
import { poolDistribution, responseTailMs, type PoolShape } from './pool.ts';
import { serviceTail } from './service-time.ts';

/** A grid of distributions for one graph: own response times per (service, count), then compositions. */
export class Composer {
  readonly order: string[];
  readonly pos: Map<string, number>;
  /** Services that (transitively) call each service, callers last. */
  readonly #above = new Map<string, string[]>();
  readonly #own = new Map<string, Float64Array>();
  comp = new Map<string, Float64Array>();
  readonly models: Map<string, ServiceModel>;
  readonly entry: string;
  readonly shapes: Map<string, PoolShape>;
  readonly grid: Grid;
  constructor(models: Map<string, ServiceModel>, entry: string, shapes: Map<string, PoolShape>, grid: Grid) {
    this.models = models;
    this.entry = entry;
    this.shapes = shapes;
    this.grid = grid;
    this.order = calleesFirst((n) => this.calls(n), entry);
    this.pos = new Map(this.order.map((n, i) => [n, i]));
    const callers = new Map<string, string[]>();
    for (const n of this.order)
      for (const c of this.calls(n)) callers.set(c.service, [...(callers.get(c.service) ?? []), n]);
    for (const n of this.order) {
      const seen = new Set<string>();
      const todo = [...(callers.get(n) ?? [])];
      while (todo.length > 0) {
        const m = todo.pop() as string;
        if (seen.has(m)) continue;
        seen.add(m);
        todo.push(...(callers.get(m) ?? []));
      }
      this.#above.set(
        n,
        [...seen].sort((a, b) => (this.pos.get(a) ?? 0) - (this.pos.get(b) ?? 0)),
      );
    }
  }
  calls(name: string): readonly CallModel[] {
    return this.models.get(name)?.calls ?? [];
  }
  /** Own response time of `name` with n instances (Infinity: no queueing, the service time alone). */
  own(name: string, n: number): Float64Array {
    const key = `${name}|${n}`;
    let p = this.#own.get(key);
    if (!p) {
      const shape = this.shapes.get(name) as PoolShape;
      const d = poolDistribution(shape);
      const tail = n === Infinity ? (t: number) => serviceTail(d, t / 1000) : responseTailMs(shape, n);
      p = tail ? pmfFromTail(tail, this.grid) : new Float64Array(this.grid.k);
      this.#own.set(key, p);
    }
    return p;
  }
  #compose(name: string, own: Float64Array, comp: (n: string) => Float64Array): Float64Array {
    let acc = own;
    let group: Float64Array | undefined;
    for (const c of this.calls(name)) {
      if (c.mode === 'parallel') {
        group ??= new Float64Array(this.grid.k).fill(1);
        multiplyParallel(group, cdfOf(comp(c.service)), c.perRequest);
      } else {
        acc = convolve(acc, sequentialCalls(comp(c.service), c.perRequest));
      }
    }
    return group ? convolve(acc, pmfOfCdf(group)) : acc;
  }
  /** Compose every service at `counts` (replaces the current compositions). */
  composeAll(counts: Map<string, number>): void {
    this.comp = new Map();
    for (const n of this.order) {
      this.comp.set(
        n,
        this.#compose(n, this.own(n, counts.get(n) ?? 0), (c) => this.comp.get(c) as Float64Array),
      );
    }
  }
  /** The entry's composition with `name` at n instances, the rest as composed; only the callers above change. */
  withCount(name: string, n: number): Map<string, Float64Array> {
    const changed = new Map<string, Float64Array>();
    const get = (c: string): Float64Array => changed.get(c) ?? (this.comp.get(c) as Float64Array);
    changed.set(name, this.#compose(name, this.own(name, n), get));
    for (const m of this.#above.get(name) ?? []) changed.set(m, this.#compose(m, this.own(m, this.count(m)), get));
    return changed;
  }
  counts = new Map<string, number>();
  count(name: string): number {
    return this.counts.get(name) ?? 0;
  }
  attainment(comp: Map<string, Float64Array>, sloMs: number): number {
    return cdfAt(comp.get(this.entry) ?? (this.comp.get(this.entry) as Float64Array), this.grid, sloMs);
  }
}

/** Each graph member's demand and queue shape, with the entry's demand as given. */
export function shapesOf(
  models: readonly ServiceModel[],
  entry: string,
  entryDemandRps?: number,
): Map<string, PoolShape> {
  const demand = propagateDemand(models, (n) =>
    n === entry && entryDemandRps !== undefined ? entryDemandRps : (models.find((m) => m.name === n)?.demandRps ?? 0),
  );
  return new Map(models.map((m) => [m.name, poolShape(m, { demandRps: demand.get(m.name) ?? 0 })]));
}

export function entryOf(models: readonly ServiceModel[], entry?: string): ServiceModel {
  const m = entry !== undefined ? models.find((s) => s.name === entry) : models.find((s) => s.endToEndSlo);
  if (!m?.endToEndSlo)
    throw new Error(`planGraph: no entry service with an end-to-end SLO${entry ? ` named ${entry}` : ''}`);
  return m;
}
