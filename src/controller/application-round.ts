// One HeadroomApplication's round: the entry's measured demand ─▶ planGraph (src/core/graph.ts, the
// same split as `headroom plan`) ─▶ each member's share (GraphShare), which its own reconcile takes
// into the observation (Observation.budget) and sizes through the one step() path. Then the
// application's status. No second decider: this only says what budget each member sizes for.
//
// E.g. examples/k8s/application.yaml at 100 rps at the gateway: gateway 1, cart 2, db 1 instances,
// cart's budget its own p99 at 2 instances; each member's decide() then gives that count (binding
// endToEnd) when it measures the demand its callers send it.
import type { ProblemDetail } from '../core/errors.ts';
import { formatProblem } from '../core/errors.ts';
import { planGraph, type GraphPlan } from '../core/graph.ts';
import type { EndToEndBudget } from '../core/plan.ts';
import type { MetricsSource } from '../ports/metrics.ts';
import type { ApplicationGraph, ApplicationStatus, HeadroomApplication } from './application.ts';
import { demandQueries, type HeadroomPolicy, type PolicyCondition, type PolicyStatus } from './policy.ts';
import { round } from './status.ts';

/** A member's part of this round's plan, handed to its reconcile (reconcile.ts ReconcileInput.graph). */
export interface GraphShare {
  application: string;
  entry: string;
  /** Own response time at the SLO percentile at its planned count, ms; null: overloaded or no plan. */
  budgetMs: number | null;
  /** planService's endToEnd constraint; absent when the plan gives none (overloaded). */
  budget?: EndToEndBudget;
  /** No plan this round (the entry's demand is missing): the member holds as on missing metrics. */
  missing?: string;
}

export type ApplicationRound =
  | { kind: 'planned'; entryDemandRps: number; plan: GraphPlan }
  | { kind: 'missing'; reason: string }
  | { kind: 'invalid'; problems: ProblemDetail[] };

/** The entry's demand (its own policy's demand query) and the graph plan at that demand. */
export async function planApplication(
  metrics: Pick<MetricsSource, 'sample'>,
  graph: ApplicationGraph,
  entry: HeadroomPolicy,
): Promise<ApplicationRound> {
  const s = await metrics.sample(demandQueries(entry.spec, graph.spec.slo.percentile).demand);
  if (s.kind !== 'ok' || !Number.isFinite(s.value) || s.value < 0) {
    const why = s.kind === 'ok' ? `not a rate: ${s.value}` : s.reason;
    return { kind: 'missing', reason: `no demand at the entry ${entry.metadata.name}: ${why}` };
  }
  const plan = planGraph(graph.models, {
    entry: graph.spec.entry,
    entryDemandRps: s.value,
    ...(graph.spec.objective ? { objective: graph.spec.objective } : {}),
  });
  return { kind: 'planned', entryDemandRps: s.value, plan };
}

/** Each member's share of the round (none for an invalid application: members run as plain policies). */
export function sharesOf(
  app: HeadroomApplication,
  graph: ApplicationGraph,
  r: ApplicationRound,
): Map<string, GraphShare> {
  const out = new Map<string, GraphShare>();
  if (r.kind === 'invalid') return out;
  const base = { application: app.metadata.name, entry: graph.spec.entry };
  for (const name of graph.members) {
    if (r.kind === 'missing') {
      out.set(name, { ...base, budgetMs: null, missing: r.reason });
      continue;
    }
    const s = r.plan.services.find((x) => x.name === name);
    out.set(name, { ...base, budgetMs: s?.budgetMs ?? null, ...(s?.budget ? { budget: s.budget } : {}) });
  }
  return out;
}

const fmt = (x: number): string => String(round(x));

/** Why a member's last reconcile did not apply its share to its target; undefined when it did. */
export function notApplying(p: HeadroomPolicy, st: PolicyStatus | undefined): string | undefined {
  const name = p.metadata.name;
  if (p.spec.mode === 'shadow') return `${name} is in shadow mode (decides, writes nothing)`;
  const active = st?.conditions?.find((c) => c.type === 'ScalingActive');
  if (
    active?.status === 'False' &&
    ['InvalidPolicy', 'Conflict', 'TargetOwned', 'FailedGetScale', 'FailedReconcile'].includes(active.reason ?? '')
  ) {
    const ready = st?.conditions?.find((c) => c.type === 'Ready');
    return `${name}: ${active.reason}: ${ready?.message ?? active.message ?? ''}`;
  }
  if (st?.paused) return `${name} is paused (headroom.dev/paused: "${st.paused}")`;
  const able = st?.conditions?.find((c) => c.type === 'AbleToScale');
  if (able?.status === 'False' && able.reason === 'ScalingDisabled')
    return `${name}: ScalingDisabled: ${able.message ?? ''}`;
  return undefined;
}

/**
 * The application's status after a round; the Ready condition's transition time only moves on a
 * flip. `idle`: the members that did not apply their share (notApplying), which makes a plan
 * Ready=False `MembersNotApplying`: the prediction holds only for counts the targets really run.
 */
export function applicationStatus(
  app: HeadroomApplication,
  r: ApplicationRound,
  nowIso: string,
  idle: readonly string[] = [],
): ApplicationStatus {
  const generation = app.metadata.generation ?? 0;
  const prev = app.status;
  const slo = app.spec.slo;
  const ready = (status: boolean, reason: string, message: string): PolicyCondition[] => {
    const old = prev?.conditions?.find((c) => c.type === 'Ready');
    const s = status ? 'True' : 'False';
    return [
      {
        type: 'Ready',
        status: s,
        reason,
        message: message.slice(0, 2000),
        lastTransitionTime: old?.status === s && old.lastTransitionTime ? old.lastTransitionTime : nowIso,
        observedGeneration: generation,
      },
    ];
  };
  const head = {
    observedGeneration: generation,
    ...(slo && typeof slo.latencyMs === 'number' ? { slo: `${slo.latencyMs} ms p${slo.percentile}` } : {}),
  };
  if (r.kind === 'invalid') {
    return { ...head, conditions: ready(false, 'InvalidApplication', r.problems.map(formatProblem).join('; ')) };
  }
  if (r.kind === 'missing') {
    // The last plan stays visible; the members hold their counts (never scaled down blind).
    return {
      ...prev,
      ...head,
      entryDemandRps: null,
      conditions: ready(false, 'EntryDemandMissing', `${r.reason}: members hold their counts`),
    };
  }
  const p = r.plan;
  const predicted = p.predictedMs === null ? null : round(p.predictedMs);
  return {
    ...head,
    entryDemandRps: round(r.entryDemandRps),
    predictedMs: predicted,
    predicted: predicted === null ? `> ${2 * p.slo.latencyMs} ms` : `${predicted} ms`,
    feasible: p.feasible,
    ...(p.binding ? { binding: p.binding.detail } : {}),
    members: p.services.map((s) => ({
      name: s.name,
      demandRps: round(s.demandRps),
      budgetMs: s.budgetMs === null ? null : round(s.budgetMs),
      replicas: s.replicas,
    })),
    lastPlanTime: nowIso,
    conditions: idle.length
      ? ready(
          false,
          'MembersNotApplying',
          `planned ${p.services.map((s) => `${s.name} ${s.replicas}`).join(', ')} for ${fmt(r.entryDemandRps)} rps at ${p.entry}${p.feasible ? ` (predicted p${p.slo.percentile} ${predicted} ms)` : ' (infeasible)'}, not applied: ${idle.join('; ')}`,
        )
      : p.feasible
        ? ready(
            true,
            'Planned',
            `${fmt(r.entryDemandRps)} rps at ${p.entry}: predicted p${p.slo.percentile} ${predicted} ms ≤ ${p.slo.latencyMs} ms with ${p.services.map((s) => `${s.name} ${s.replicas}`).join(', ')}`,
          )
        : ready(false, 'Infeasible', p.binding?.detail ?? `no counts within replicas.max meet ${p.slo.latencyMs} ms`),
  };
}

/** How stale lastPlanTime may get while the plan stays the same: one write a minute, not every round. */
export const PLAN_TIME_REFRESH_MS = 60_000;

/** Status equal apart from a lastPlanTime less than a minute newer: no write needed. */
export function sameApplicationStatus(a: ApplicationStatus | undefined, b: ApplicationStatus): boolean {
  if (!a) return false;
  const strip = (s: ApplicationStatus): string => JSON.stringify({ ...s, lastPlanTime: undefined });
  const age = Date.parse(b.lastPlanTime ?? '') - Date.parse(a.lastPlanTime ?? '');
  if (age >= PLAN_TIME_REFRESH_MS) return false;
  return strip(a) === strip(b);
}
