// Ground truth for call-graph plans: a seeded discrete-event simulation of a whole application. Like
// mgc-sim.ts (whose samplers and RNG it uses) it imports nothing from src/core.
//
// Requests arrive at the entry as a Poisson stream. At each service a request waits FIFO for one of
// the pool's servers (leastRequests: one queue over instances × concurrency servers; random: a
// uniformly chosen instance's own queue), does its own work, releases the server, then makes its
// calls: the sequential ones one after another (⌊p⌋ or ⌈p⌉ calls, p on average), then all parallel
// ones together, and completes when the last returns. The entry's end-to-end times are recorded.
// One global event heap keeps every service's arrivals in time order, so FIFO with the earliest-free
// server is one heap of free times per queue (as in mgc-sim.ts).
import { createRng, replaceTop, type Rng, type ServiceDistribution } from './mgc-sim.ts';

export interface SimCall {
  service: string;
  perRequest: number;
  mode: 'sequential' | 'parallel';
}

export interface SimService {
  name: string;
  instances: number;
  concurrency: number;
  balancing: 'leastRequests' | 'random';
  sampler: ServiceDistribution;
  calls?: SimCall[];
}

export interface GraphSimOptions {
  services: SimService[];
  entry: string;
  arrivalRps: number;
  /** Entry requests measured after the warm-up. */
  requests: number;
  /** Entry requests simulated first and not measured; default requests/20. */
  warmup?: number;
  seed: number;
}

interface Pool {
  svc: SimService;
  /** Free times; queue g is free[g·width, (g+1)·width). */
  free: Float64Array;
  width: number;
  groups: number;
  calls: SimCall[];
}

interface Req {
  pool: number;
  parent: number; // −1 for an entry request
  arrived: number;
  /** Entry request number (measured when ≥ warm-up). */
  id: number;
  /** Sequential calls still to make, as pool indices. */
  seq: number[];
  par: number[];
  waiting: number;
}

const ARRIVE = 0;
const WORK_DONE = 1;
const CALL_DONE = 2;
const EXTERNAL = 3;

/** Simulate the graph; returns the entry's end-to-end response times (ms) in completion order. */
export function simulateGraph(opts: GraphSimOptions): Float64Array {
  const index = new Map(opts.services.map((s, i) => [s.name, i]));
  const pools: Pool[] = opts.services.map((svc) => {
    const random = svc.balancing === 'random';
    const width = random ? svc.concurrency : svc.instances * svc.concurrency;
    const groups = random ? svc.instances : 1;
    return { svc, free: new Float64Array(width * groups), width, groups, calls: svc.calls ?? [] };
  });
  const seeds = createRng(opts.seed);
  const stream = (): Rng => createRng(Math.floor(seeds() * 2 ** 31));
  const arrivals = stream();
  const work = stream();
  const route = stream();
  const fanout = stream();
  const warmup = opts.warmup ?? Math.ceil(opts.requests / 20);
  const total = warmup + opts.requests;
  const gapMs = 1000 / opts.arrivalRps;
  const entry = index.get(opts.entry) as number;

  // Event heap: parallel arrays of time, kind, request; a sequence number breaks ties in FIFO order.
  let time = new Float64Array(1024);
  let kind = new Int32Array(1024);
  let who = new Int32Array(1024);
  let order = new Float64Array(1024);
  let size = 0;
  let counter = 0;
  const less = (a: number, b: number): boolean =>
    (time[a] as number) < (time[b] as number) ||
    ((time[a] as number) === (time[b] as number) && (order[a] as number) < (order[b] as number));
  const swap = (a: number, b: number): void => {
    [time[a], time[b]] = [time[b] as number, time[a] as number];
    [kind[a], kind[b]] = [kind[b] as number, kind[a] as number];
    [who[a], who[b]] = [who[b] as number, who[a] as number];
    [order[a], order[b]] = [order[b] as number, order[a] as number];
  };
  const push = (t: number, k: number, r: number): void => {
    if (size === time.length) {
      const grow = <T extends Float64Array | Int32Array>(x: T, make: (n: number) => T): T => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      time = grow(time, (n) => new Float64Array(n));
      kind = grow(kind, (n) => new Int32Array(n));
      who = grow(who, (n) => new Int32Array(n));
      order = grow(order, (n) => new Float64Array(n));
    }
    let i = size++;
    time[i] = t;
    kind[i] = k;
    who[i] = r;
    order[i] = counter++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(i, p)) break;
      swap(i, p);
      i = p;
    }
  };
  const pop = (): void => {
    size--;
    swap(0, size);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const m = l + 1 < size && less(l + 1, l) ? l + 1 : l;
      if (!less(m, i)) break;
      swap(i, m);
      i = m;
    }
  };

  const reqs: Req[] = [];
  const freeIds: number[] = [];
  const newReq = (pool: number, parent: number, at: number, id: number): number => {
    const r: Req = { pool, parent, arrived: at, id, seq: [], par: [], waiting: 0 };
    const slot = freeIds.pop();
    if (slot !== undefined) {
      reqs[slot] = r;
      return slot;
    }
    reqs.push(r);
    return reqs.length - 1;
  };
  const copies = (p: number): number => Math.floor(p) + (fanout() < p - Math.floor(p) ? 1 : 0);
  const out: number[] = [];
  let started = 0;
  push(gapMs * -Math.log(1 - arrivals()), EXTERNAL, -1);

  const complete = (r: number, now: number): void => {
    const q = reqs[r] as Req;
    freeIds.push(r);
    if (q.parent < 0) {
      if (q.id >= warmup) out.push(now - q.arrived);
      return;
    }
    push(now, CALL_DONE, q.parent);
  };
  const next = (r: number, now: number): void => {
    const q = reqs[r] as Req;
    const s = q.seq.shift();
    if (s !== undefined) {
      q.waiting = 1;
      push(now, ARRIVE, newReq(s, r, now, q.id));
      return;
    }
    if (q.par.length > 0) {
      q.waiting = q.par.length;
      for (const p of q.par) push(now, ARRIVE, newReq(p, r, now, q.id));
      q.par = [];
      return;
    }
    complete(r, now);
  };

  while (size > 0) {
    const now = time[0] as number;
    const k = kind[0] as number;
    const r = who[0] as number;
    pop();
    if (k === EXTERNAL) {
      if (started < total) {
        push(now, ARRIVE, newReq(entry, -1, now, started++));
        if (started < total) push(now + gapMs * -Math.log(1 - arrivals()), EXTERNAL, -1);
      }
    } else if (k === ARRIVE) {
      const q = reqs[r] as Req;
      const pool = pools[q.pool] as Pool;
      const off = pool.groups > 1 ? Math.floor(route() * pool.groups) * pool.width : 0;
      const top = pool.free[off] as number;
      const start = top > now ? top : now;
      const done = start + pool.svc.sampler.sample(work);
      replaceTop(pool.free, off, pool.width, done);
      push(done, WORK_DONE, r);
    } else if (k === WORK_DONE) {
      const q = reqs[r] as Req;
      for (const c of (pools[q.pool] as Pool).calls) {
        const n = copies(c.perRequest);
        const target = index.get(c.service) as number;
        for (let i = 0; i < n; i++) (c.mode === 'parallel' ? q.par : q.seq).push(target);
      }
      next(r, now);
    } else {
      const q = reqs[r] as Req;
      if (--q.waiting === 0) next(r, now);
    }
  }
  return Float64Array.from(out);
}
