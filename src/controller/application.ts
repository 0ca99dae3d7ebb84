// A HeadroomApplication links HeadroomPolicies into a call graph with one end-to-end SLO
// (docs/controller.md, "Applications"; the graph itself: docs/graph.md). Each member keeps its own
// policy (target, capacity, metrics, own SLO as an extra constraint); the application adds only
// the entry, the SLO and the calls. This file checks an application against the policies of its
// namespace with the same checks as a plan spec (src/core/call-graph.ts, the floor of
// src/core/graph.ts) and builds the members' graph models. Pure: no I/O.
//
//   entry: gateway, slo: { latencyMs: 200, percentile: 99 },
//   calls: [{ from: gateway, to: cart, perRequest: 1.5 }, { from: cart, to: db, perRequest: 3 }]
//   → models gateway (endToEndSlo 200 ms p99, calls cart ×1.5), cart (calls db ×3), db
import { z } from 'zod';
import { graphProblems, type GraphNode } from '../core/call-graph.ts';
import type { ProblemDetail } from '../core/errors.ts';
import { graphFloor } from '../core/graph.ts';
import type { CallModel, ServiceModel } from '../core/model.ts';
import { zodProblems } from '../input/validate.ts';
import { percentileSchema } from '../input/schema.ts';
import type { HeadroomPolicy, PolicyCondition } from './policy.ts';

export const applicationSpecSchema = z.strictObject({
  entry: z.string().min(1).max(253).describe('The HeadroomPolicy (same namespace) the requests arrive at'),
  slo: z
    .strictObject({
      latencyMs: z.number().positive().max(3_600_000).describe('End-to-end response-time bound at the entry, ms'),
      percentile: percentileSchema,
    })
    .describe('The end-to-end SLO: P(response time at the entry ≤ latencyMs) ≥ percentile %'),
  calls: z
    .array(
      z.strictObject({
        from: z.string().min(1).max(253).describe('The calling HeadroomPolicy'),
        to: z.string().min(1).max(253).describe('The called HeadroomPolicy'),
        perRequest: z
          .number()
          .max(1000)
          .describe('Mean calls per request of `from`, > 0; 1.5 means 1 or 2 calls, 1.5 on average'),
        mode: z
          .enum(['sequential', 'parallel'])
          .optional()
          .describe('sequential (default): one after another; parallel: all together, the slowest counts'),
      }),
    )
    .max(1000)
    .describe('The calls between member policies (a DAG below the entry)'),
  objective: z.enum(['instances', 'cpu', 'money']).optional().describe('What the split minimizes (default instances)'),
});

export type ApplicationSpec = z.infer<typeof applicationSpecSchema>;

export interface ApplicationMemberStatus {
  name: string;
  demandRps: number;
  /** Own response time (queue + work) at the SLO percentile at `replicas`; null: overloaded. */
  budgetMs: number | null;
  replicas: number;
}

export interface ApplicationStatus {
  observedGeneration?: number;
  /** `200 ms p99`: the printer column. */
  slo?: string;
  entryDemandRps?: number | null;
  predictedMs?: number | null;
  /** `187 ms`: the printer column. */
  predicted?: string;
  feasible?: boolean;
  /** When infeasible: the member at replicas.max that still queues the most, and why. */
  binding?: string;
  members?: ApplicationMemberStatus[];
  lastPlanTime?: string;
  conditions?: PolicyCondition[];
}

export interface HeadroomApplication {
  apiVersion?: string;
  kind?: string;
  metadata: HeadroomPolicy['metadata'];
  spec: ApplicationSpec;
  status?: ApplicationStatus;
}

/** A member as the application sees it: its policy and the model the controller built for it. */
export interface Member {
  policy: HeadroomPolicy;
  model: { model: ServiceModel } | { error: string };
}

export interface ApplicationGraph {
  spec: ApplicationSpec;
  /** Member names (policy names), the entry first. */
  members: string[];
  /** The members' models as the graph sizes them: named after the policy, with calls, the entry's SLO. */
  models: ServiceModel[];
}

/** Member policy names an application names, the entry first (for lookups before the check). */
export function memberNames(spec: unknown): string[] {
  const s = spec as Partial<ApplicationSpec> | undefined;
  const names = [s?.entry, ...(Array.isArray(s?.calls) ? s.calls.flatMap((c) => [c?.from, c?.to]) : [])];
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n !== ''))];
}

/**
 * The application's graph, or every problem with it together (nothing is half-applied): schema,
 * a member that names no HeadroomPolicy or an invalid one, a member in another application, a
 * cycle, perRequest ≤ 0, calls into the entry, a member the entry never reaches, an SLO below the
 * floor. Paths name the application's keys (`spec.calls[1].to`).
 */
export function applicationGraph(
  app: Pick<HeadroomApplication, 'spec'>,
  member: (name: string) => Member | undefined,
  /** A member already linked by another application: that application's name. */
  taken: (name: string) => string | undefined = () => undefined,
): { graph: ApplicationGraph } | { problems: ProblemDetail[] } {
  const parsed = applicationSpecSchema.safeParse(app.spec);
  if (!parsed.success) return { problems: zodProblems(parsed.error, app.spec, { path: 'spec' }) };
  const spec = parsed.data;
  const names = memberNames(spec);
  const problems: ProblemDetail[] = [];
  const where = (name: string): string => {
    if (name === spec.entry) return 'spec.entry';
    const j = spec.calls.findIndex((c) => c.from === name || c.to === name);
    return `spec.calls[${j}].${spec.calls[j]?.from === name ? 'from' : 'to'}`;
  };
  const models = new Map<string, ServiceModel>();
  for (const name of names) {
    const m = member(name);
    const other = taken(name);
    if (!m) {
      problems.push({
        code: 'HR_GRAPH_UNKNOWN_SERVICE',
        path: where(name),
        value: name,
        message: `no HeadroomPolicy named ${name} in this namespace`,
        allowed: 'the name of a HeadroomPolicy in the application’s namespace',
      });
    } else if ('error' in m.model) {
      problems.push({
        code: 'HR_SPEC_INVALID',
        path: where(name),
        value: name,
        message: `member ${name} is an invalid HeadroomPolicy: ${m.model.error}`,
      });
    } else if (other !== undefined) {
      problems.push({
        code: 'HR_GRAPH_ENTRY',
        path: where(name),
        value: name,
        message: `${name} is already a member of application ${other}: a policy sizes for one graph`,
        allowed: 'a policy no other HeadroomApplication names',
      });
    } else {
      // Below an end-to-end SLO the utilization target defaults to 0.9, as `headroom plan` does.
      const ownTarget = (m.policy.spec.service as { targetUtilization?: unknown }).targetUtilization;
      models.set(name, { ...m.model.model, name, ...(ownTarget === undefined ? { targetUtilization: 0.9 } : {}) });
    }
  }
  // The structural checks over the members, in name order; each call keeps its index in spec.calls.
  const edges = new Map<string, Array<{ call: CallModel; k: number }>>();
  spec.calls.forEach((c, k) => {
    const list = edges.get(c.from) ?? [];
    list.push({ call: { service: c.to, perRequest: c.perRequest, mode: c.mode ?? 'sequential' }, k });
    edges.set(c.from, list);
  });
  const nodes: GraphNode[] = names.map((n) => ({
    name: n,
    calls: (edges.get(n) ?? []).map((e) => e.call),
    endToEnd: n === spec.entry,
  }));
  for (const p of graphProblems(nodes)) {
    // A plan spec's "endToEnd on a called service" is, here, a call into the entry: say it in the
    // application's words (it has no scope key), at each such call.
    if (p.code === 'HR_GRAPH_ENTRY' && p.path?.endsWith('.slo.scope')) {
      spec.calls.forEach((c, k) => {
        if (c.to === spec.entry)
          problems.push({
            code: 'HR_GRAPH_ENTRY',
            path: `spec.calls[${k}].to`,
            value: c.to,
            message: `${c.from} → ${c.to}: a call into the entry; requests arrive at the entry, no member calls it`,
            allowed: `a member other than the entry ${spec.entry}`,
          });
      });
      continue;
    }
    problems.push({ ...p, path: pathOf(p.path, names, edges) });
  }
  const reached = new Set([spec.entry]);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of spec.calls) {
      if (reached.has(c.from) && !reached.has(c.to)) {
        reached.add(c.to);
        grew = true;
      }
    }
  }
  spec.calls.forEach((c, k) => {
    if (!reached.has(c.from)) {
      problems.push({
        code: 'HR_GRAPH_ENTRY',
        path: `spec.calls[${k}].from`,
        value: c.from,
        message: `${c.from} → ${c.to}: ${spec.entry} never reaches ${c.from}, so no request of the entry makes this call`,
        allowed: `a member that ${spec.entry} calls, directly or through others`,
      });
    }
  });
  if (problems.length > 0) return { problems };
  const graphModels = names.map((n) => {
    const m = models.get(n) as ServiceModel;
    const calls = (edges.get(n) ?? []).map((e) => e.call);
    return {
      ...m,
      ...(calls.length > 0 ? { calls } : {}),
      ...(n === spec.entry ? { endToEndSlo: { ...spec.slo } } : {}),
    };
  });
  const floor = graphFloor(graphModels, spec.entry);
  if (floor.floorMs >= spec.slo.latencyMs) {
    return {
      problems: [
        {
          code: 'HR_GRAPH_SLO_FLOOR',
          path: 'spec.slo.latencyMs',
          value: spec.slo.latencyMs,
          message: `the call graph takes ${round(floor.floorMs)} ms at p${spec.slo.percentile} with no queueing anywhere (slowest path ${floor.path.join(' → ')}): no instance count meets ${spec.slo.latencyMs} ms`,
          allowed: `> ${round(floor.floorMs)} ms (or faster services / fewer calls on that path)`,
        },
      ],
    };
  }
  return { graph: { spec, members: names, models: graphModels } };
}

const round = (x: number): number => Math.round(x * 10) / 10;

/** graphProblems' `services[i].calls[j]…` / `services[i].slo.scope` → the application's own keys. */
function pathOf(
  path: string | undefined,
  names: readonly string[],
  edges: Map<string, Array<{ k: number }>>,
): string | undefined {
  const m = /^services\[(\d+)\]\.(?:calls\[(\d+)\](.*)|slo\.scope)$/.exec(path ?? '');
  if (!m) return path;
  const name = names[Number(m[1])] ?? '';
  if (m[2] === undefined) return 'spec.entry';
  const k = edges.get(name)?.[Number(m[2])]?.k ?? 0;
  const rest = m[3] === '.service' ? '.to' : (m[3] ?? '');
  return `spec.calls[${k}]${rest}`;
}
