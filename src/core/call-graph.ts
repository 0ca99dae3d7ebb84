// The shape of a call graph: which services call which, the checks a graph must pass, and how demand
// flows along the edges. The distributions and the split are in src/core/graph.ts.
//
// Demand propagates: a callee's rps = Σ over its callers of (caller rps × perRequest). E.g. gateway
// 200 rps → cart ×1.5 and search ×1; cart → db ×3, search → db ×1: cart 300, search 200, db 1100.
import type { ProblemDetail } from './errors.ts';
import type { CallModel } from './model.ts';

/** What the checks need of one service, in file order (indices name `services[i]`). */
export interface GraphNode {
  name: string;
  calls?: readonly CallModel[] | undefined;
  /** The service carries an end-to-end SLO. */
  endToEnd?: boolean;
}

/**
 * Every problem of a graph, together: an unknown callee, perRequest ≤ 0 or not finite, a cycle, an
 * end-to-end SLO on a service something calls, or a second one in the file. Each names the edge.
 */
export function graphProblems(nodes: readonly GraphNode[], file?: string): ProblemDetail[] {
  const out: ProblemDetail[] = [];
  const at = (p: Omit<ProblemDetail, 'file'>): void => void out.push(file !== undefined ? { ...p, file } : p);
  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (!index.has(n.name)) index.set(n.name, i);
  });
  const known = (c: CallModel): boolean => index.has(c.service);
  nodes.forEach((n, i) => {
    n.calls?.forEach((c, j) => {
      const edge = `${n.name} → ${c.service}`;
      if (!known(c)) {
        at({
          code: 'HR_GRAPH_UNKNOWN_SERVICE',
          path: `services[${i}].calls[${j}].service`,
          value: c.service,
          message: `${edge}: no service is named ${c.service}`,
          allowed: `a service of this file: ${[...index.keys()].slice(0, 10).join(', ')}`,
        });
      }
      if (!(Number.isFinite(c.perRequest) && c.perRequest > 0)) {
        at({
          code: 'HR_GRAPH_PER_REQUEST',
          path: `services[${i}].calls[${j}].perRequest`,
          value: c.perRequest,
          message: `${edge}: calls per request must be a finite number above 0`,
          allowed: '> 0 (e.g. 1, 1.5, 3); remove the call instead of 0',
        });
      }
    });
  });
  out.push(...cycles(nodes, index, file));
  const callers = callersOf(nodes, index);
  const entries = nodes.map((n, i) => ({ n, i })).filter(({ n }) => n.endToEnd);
  const first = entries[0];
  for (const { n, i } of entries) {
    const by = callers.get(n.name) ?? [];
    if (by.length > 0) {
      at({
        code: 'HR_GRAPH_ENTRY',
        path: `services[${i}].slo.scope`,
        value: 'endToEnd',
        message: `${n.name} is called by ${by.join(', ')}: an end-to-end SLO belongs on the entry, a service nothing calls`,
        allowed: 'scope: endToEnd on an entry; scope: service (the default) here',
      });
    } else if (first && i !== first.i) {
      at({
        code: 'HR_GRAPH_ENTRY',
        path: `services[${i}].slo.scope`,
        value: 'endToEnd',
        message: `a second end-to-end SLO (services[${first.i}] ${first.n.name} has one): one entry per file`,
        allowed: 'one service with scope: endToEnd (split other applications into their own files)',
      });
    }
  }
  return out;
}

function callersOf(nodes: readonly GraphNode[], index: Map<string, number>): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const n of nodes) {
    for (const c of n.calls ?? []) {
      if (!index.has(c.service)) continue;
      const list = by.get(c.service) ?? [];
      if (!list.includes(n.name)) list.push(n.name);
      by.set(c.service, list);
    }
  }
  return by;
}

/** Each edge that closes a cycle, with the cycle: `db → cart closes a cycle gateway → cart → db → cart`. */
function cycles(nodes: readonly GraphNode[], index: Map<string, number>, file?: string): ProblemDetail[] {
  const out: ProblemDetail[] = [];
  const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  // Iterative DFS (a 100,000-service chain would overflow the call stack): frames of (node, next edge).
  for (let root = 0; root < nodes.length; root++) {
    if (state[root] !== 0) continue;
    const frames: Array<[number, number]> = [[root, 0]];
    state[root] = 1;
    stack.push(root);
    while (frames.length > 0) {
      const top = frames[frames.length - 1] as [number, number];
      const [u, j] = top;
      const calls = nodes[u]?.calls ?? [];
      if (j >= calls.length) {
        state[u] = 2;
        stack.pop();
        frames.pop();
        continue;
      }
      top[1] = j + 1;
      const v = index.get((calls[j] as CallModel).service);
      if (v === undefined) continue;
      if (state[v] === 1) {
        // The path from the DFS root, so the message shows how a request gets into the loop.
        const loop = [...stack, v].map((k) => nodes[k]?.name);
        const names = nodes.map((n) => n.name);
        out.push({
          code: 'HR_GRAPH_CYCLE',
          ...(file !== undefined ? { file } : {}),
          path: `services[${u}].calls[${j}]`,
          value: names[v],
          message: `${names[u]} → ${names[v]} closes a cycle ${loop.join(' → ')}`,
          allowed: 'calls that never lead back to the caller (a DAG)',
        });
      } else if (state[v] === 0) {
        state[v] = 1;
        stack.push(v);
        frames.push([v, 0]);
      }
    }
  }
  return out;
}

/** The services reachable from `entry`, callees before callers (the order to compose distributions). */
export function calleesFirst(calls: (name: string) => readonly CallModel[], entry: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>([entry]);
  const frames: Array<[string, number]> = [[entry, 0]];
  while (frames.length > 0) {
    const top = frames[frames.length - 1] as [string, number];
    const list = calls(top[0]);
    if (top[1] >= list.length) {
      order.push(top[0]);
      frames.pop();
      continue;
    }
    const next = (list[top[1]++] as CallModel).service;
    if (!seen.has(next)) {
      seen.add(next);
      frames.push([next, 0]);
    }
  }
  return order;
}

/**
 * Each service's demand: its own demandRps where nothing calls it, plus Σ caller rps × perRequest.
 * `roots` gives the demand of the services nothing calls (an acyclic graph, checked before).
 */
export function propagateDemand(
  services: ReadonlyArray<{ name: string; calls?: readonly CallModel[] | undefined }>,
  rootDemand: (name: string) => number,
): Map<string, number> {
  const byName = new Map(services.map((s) => [s.name, s]));
  const incoming = new Map<string, number>();
  for (const s of services) for (const c of s.calls ?? []) incoming.set(c.service, (incoming.get(c.service) ?? 0) + 1);
  const demand = new Map<string, number>();
  const ready: string[] = [];
  for (const s of services) {
    if (!incoming.has(s.name)) {
      demand.set(s.name, rootDemand(s.name));
      ready.push(s.name);
    }
  }
  // Kahn's order: a service's demand is complete once every caller has added to it.
  while (ready.length > 0) {
    const name = ready.pop() as string;
    const rps = demand.get(name) ?? 0;
    for (const c of byName.get(name)?.calls ?? []) {
      demand.set(c.service, (demand.get(c.service) ?? 0) + rps * c.perRequest);
      const left = (incoming.get(c.service) ?? 1) - 1;
      incoming.set(c.service, left);
      if (left === 0) ready.push(c.service);
    }
  }
  return demand;
}
