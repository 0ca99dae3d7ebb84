// The rules of a call graph (`calls`, an end-to-end SLO) over the services of one spec, once each
// service is a ServiceModel, and the refusal of a graph by the modes that size one service alone.
import { calleesFirst, graphProblems, propagateDemand } from '../core/call-graph.ts';
import type { ProblemDetail } from '../core/errors.ts';
import { graphFloor } from '../core/graph.ts';
import type { ServiceModel } from '../core/model.ts';
import type { SpecFile } from './schema.ts';
import { round, type Where } from './service.ts';

/** Relative gap between a called service's own demand.rps and what its callers send before it is an error. */
const DEMAND_TOLERANCE = 0.001;

/**
 * A call graph's checks (src/core/call-graph.ts), then what the graph gives its members: the demand
 * its callers send (a called service's demand.rps is optional and must agree when given), a target
 * utilization of 0.9 below an end-to-end SLO (as under a service SLO: latency is checked by the
 * queueing model), and the end-to-end floor no count can beat (HR_GRAPH_SLO_FLOOR).
 */
export function graphChecks(spec: SpecFile, services: ServiceModel[], file: string, problems: ProblemDetail[]): void {
  if (!spec.services.some((s) => s.calls !== undefined || s.slo?.scope === 'endToEnd')) return;
  const structural = graphProblems(
    spec.services.map((s) => ({
      name: s.name,
      calls: s.calls?.map((c) => ({ service: c.service, perRequest: c.perRequest, mode: c.mode ?? 'sequential' })),
      endToEnd: s.slo?.scope === 'endToEnd',
    })),
    file,
  );
  problems.push(...structural);
  // The rest needs every service normalized and a sound graph.
  if (problems.length > 0 || services.length !== spec.services.length) return;
  const called = new Set(services.flatMap((m) => (m.calls ?? []).map((c) => c.service)));
  const demand = propagateDemand(services, (n) => services.find((m) => m.name === n)?.demandRps ?? 0);
  spec.services.forEach((raw, i) => {
    const m = services[i] as ServiceModel;
    if (!called.has(m.name)) return;
    const rps = demand.get(m.name) ?? 0;
    if (raw.demand !== undefined && Math.abs(raw.demand.rps - rps) > DEMAND_TOLERANCE * Math.max(rps, 1e-9)) {
      problems.push({
        code: 'HR_GRAPH_DEMAND',
        file,
        path: `services[${i}].demand.rps`,
        value: raw.demand.rps,
        message: `${m.name} is called by other services, which send it ${round(rps)} rps`,
        allowed: `${round(rps)} (or leave demand out: the graph gives it)`,
      });
    }
    m.demandRps = rps;
  });
  const entry = services.find((m) => m.endToEndSlo);
  if (!entry?.endToEndSlo) return;
  const members = new Set(calleesFirst((n) => services.find((m) => m.name === n)?.calls ?? [], entry.name));
  spec.services.forEach((raw, i) => {
    const m = services[i] as ServiceModel;
    if (members.has(m.name) && raw.targetUtilization === undefined) m.targetUtilization = 0.9;
  });
  const floor = graphFloor(services, entry.name);
  const slo = entry.endToEndSlo;
  if (floor.floorMs >= slo.latencyMs) {
    problems.push({
      code: 'HR_GRAPH_SLO_FLOOR',
      file,
      path: `services[${services.indexOf(entry)}].slo.latencyMs`,
      value: slo.latencyMs,
      message: `the call graph takes ${round(floor.floorMs)} ms at p${slo.percentile} with no queueing anywhere (slowest path ${floor.path.join(' → ')}): no instance count meets ${slo.latencyMs} ms`,
      allowed: `> ${round(floor.floorMs)} ms (or faster services / fewer calls on that path)`,
    });
  }
}

/**
 * A service that is part of a call graph (`calls`, or an SLO with `scope: endToEnd`) where one
 * service is sized on its own (`run.service`, a HeadroomPolicy): refused, not sized without its
 * SLO. `where the graph goes` says where such a graph is planned instead.
 */
export function graphUnsupported(
  model: ServiceModel,
  where: Where,
  mode: string,
  graphGoes = 'by `headroom plan` and `headroom run` (docs/graph.md)',
): ProblemDetail | undefined {
  const field = model.endToEndSlo ? 'slo.scope' : model.calls?.length ? 'calls' : undefined;
  if (!field) return undefined;
  const base = where.path ? `${where.path}.` : '';
  return {
    code: 'HR_SPEC_INVALID',
    ...(where.file ? { file: where.file } : {}),
    path: `${base}${field}`,
    message: `${mode} sizes one service on its own SLO; call graphs (calls, scope: endToEnd) are planned ${graphGoes}`,
    allowed: 'a service without calls and with a service-scope slo',
  };
}
