// `headroom plan FILE [--json]`: how many instances each service needs, and why.
import type { Command } from 'commander';
import { renderTable } from './table.ts';
import { graphAtCounts } from '../core/graph-at.ts';
import { planGraph, type GraphPlan } from '../core/graph.ts';
import { planServices, formatNumber as fmt, type PlanContext, type ServicePlan } from '../core/plan.ts';
import { HOURS_PER_MONTH, formatMoney, instanceHourCost, roundMoney } from '../core/cost.ts';
import { count } from '../core/plan-explain.ts';
import { formatCpu, formatMemory } from '../core/quantity.ts';
import { verticalAdvice, type VerticalAdvice } from '../core/vertical.ts';
import { parseNumberFlag } from './flags.ts';
import { loadSpecFile, loadSpecStdin, type LoadedSpec } from '../input/load.ts';
import { writeFileSync } from 'node:fs';
import { HeadroomError } from '../core/errors.ts';
import { graphView } from '../server/graph-view.ts';
import { renderGraphReport } from '../server/dashboard/graph-report.ts';

/** What a service's planned count costs (with pricing): one instance-hour, and a 730-h month. */
export interface PlanCost {
  perMonth: number;
  currency: string;
  perInstanceHour: number;
}

export interface PlanOutput {
  services: Array<ServicePlan & { demandRps: number; vertical?: VerticalAdvice; cost?: PlanCost }>;
  /** The priced services together (absent when none is priced). */
  cost?: { perMonth: number; currency: string; services: number };
  /** The call graph below an end-to-end SLO, when the spec has one (docs/graph.md). */
  graph?: GraphPlan;
}

export const NO_DEMAND_WARNING = 'no demand given: sized for 0 rps (give demand.rps, or --demand)';

/** Plans every service of a loaded spec. `now` (seconds) dates the vertical advice. */
export function planSpec(spec: LoadedSpec, now: number, demandOverride?: number): PlanOutput {
  // A call graph: --demand is the entry's, and reaches the others along the calls; each member is
  // planned with its share of the end-to-end SLO (money when every member is priced, else instances).
  const entry = spec.services.find((m) => m.endToEndSlo);
  const graph = entry
    ? planGraph(spec.services, {
        entry: entry.name,
        ...(demandOverride !== undefined ? { entryDemandRps: demandOverride } : {}),
        objective: graphMembersPriced(spec, entry.name) ? 'money' : 'instances',
        equalSplit: true,
      })
    : undefined;
  const members = new Map(graph?.services.map((s) => [s.name, s]));
  const called = new Set(spec.services.flatMap((m) => (m.calls ?? []).map((c) => c.service)));
  const plans = planServices(spec.services, spec.cluster, (m): PlanContext => {
    const g = members.get(m.name);
    if (g) return { demandRps: g.demandRps, ...(g.budget ? { budget: g.budget } : {}) };
    return demandOverride !== undefined && !called.has(m.name) ? { demandRps: demandOverride } : {};
  });
  const out: PlanOutput = {
    services: plans.map((p, i) => {
      const model = spec.services[i];
      const usage = model ? spec.usage.get(model.name) : undefined;
      // Only `plan` sizes for the spec's demand (live modes measure it): a missing one is 0 rps.
      const noDemand =
        demandOverride === undefined &&
        model !== undefined &&
        spec.raw.services[i]?.demand === undefined &&
        !called.has(model.name);
      return {
        // A plan renders its text on first read (getters): a spread copies only the counts.
        ...p,
        details: p.details,
        warnings: noDemand ? [NO_DEMAND_WARNING, ...p.warnings] : p.warnings,
        demandRps: (model && members.get(model.name)?.demandRps) ?? demandOverride ?? model?.demandRps ?? 0,
        ...(usage && usage.length > 0 ? { vertical: verticalAdvice(usage, now) } : {}),
        ...(model?.pricing ? { cost: planCost(model.pricing, model.instance, p.replicas) } : {}),
      };
    }),
  };
  if (graph) {
    // What the cluster fits may cap a member below its share: then the split no longer holds.
    const capped = out.services.find(
      (s) => s.binding === 'capacity' && members.has(s.name) && s.replicas < (members.get(s.name)?.replicas ?? 0),
    );
    // The graph shows the counts the services get (the cluster may cap one, availability may raise
    // one) and predicts at them; the budgets stay the split's.
    const at = graphAtCounts(
      spec.services,
      graph,
      Object.fromEntries(out.services.filter((s) => members.has(s.name)).map((s) => [s.name, s.replicas])),
      demandOverride !== undefined ? { entryDemandRps: demandOverride } : {},
    );
    out.graph = capped
      ? {
          ...at,
          feasible: false,
          binding: {
            service: capped.name,
            detail: `${capped.name} is capped at ${capped.replicas} (${capped.binding})`,
          },
        }
      : at;
  }
  const priced = out.services.filter((s) => s.cost !== undefined);
  const first = priced[0]?.cost;
  if (first) {
    let perMonth = 0;
    for (const s of priced) perMonth += s.cost?.perMonth ?? 0;
    out.cost = { perMonth, currency: first.currency, services: priced.length };
  }
  return out;
}

function graphMembersPriced(spec: LoadedSpec, entry: string): boolean {
  const byName = new Map(spec.services.map((m) => [m.name, m]));
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const m = byName.get(todo.pop() as string);
    if (!m || seen.has(m.name)) continue;
    seen.add(m.name);
    if (!m.pricing) return false;
    todo.push(...(m.calls ?? []).map((c) => c.service));
  }
  return true;
}

function planCost(
  pricing: Parameters<typeof instanceHourCost>[0],
  size: Parameters<typeof instanceHourCost>[1],
  replicas: number,
): PlanCost {
  const perInstanceHour = instanceHourCost(pricing, size);
  return { perMonth: replicas * perInstanceHour * HOURS_PER_MONTH, currency: pricing.currency, perInstanceHour };
}

/** The `--json` shape: stable, documented in the README. */
export function planJson(out: PlanOutput): unknown {
  return {
    services: out.services.map((s) => ({
      name: s.name,
      replicas: s.replicas,
      needed: s.needed,
      binding: s.binding,
      feasible: s.feasible,
      constraints: s.constraints,
      predicted: {
        utilization: round(s.predicted.utilization, 4),
        latencyMs: s.predicted.latencyMs === null ? null : round(s.predicted.latencyMs, 2),
        percentile: s.predicted.percentile,
        attainment: s.predicted.attainment === null ? null : round(s.predicted.attainment, 6),
      },
      reasons: s.details.map((d) => ({ constraint: d.name, bound: d.bound, replicas: d.replicas, detail: d.detail })),
      warnings: s.warnings,
      ...(s.vertical ? { vertical: verticalJson(s.vertical) } : {}),
      ...(s.cost
        ? {
            cost: {
              perMonth: roundMoney(s.cost.perMonth),
              currency: s.cost.currency,
              perInstanceHour: round(s.cost.perInstanceHour, 6),
            },
          }
        : {}),
    })),
    ...(out.cost
      ? {
          cost: {
            perMonth: roundMoney(out.cost.perMonth),
            currency: out.cost.currency,
            hoursPerMonth: HOURS_PER_MONTH,
            services: out.cost.services,
          },
        }
      : {}),
    ...(out.graph ? { graph: graphJson(out) } : {}),
  };
}

function graphJson(out: PlanOutput): unknown {
  const g = out.graph as GraphPlan;
  const plan = new Map(out.services.map((s) => [s.name, s]));
  return {
    entry: g.entry,
    sloMs: g.slo.latencyMs,
    percentile: g.slo.percentile,
    predictedMs: g.predictedMs === null ? null : round(g.predictedMs, 2),
    feasible: g.feasible,
    ...(g.binding ? { binding: g.binding } : {}),
    objective: g.objective,
    total: round(g.total, 6),
    services: g.services.map((s) => ({
      name: s.name,
      budgetMs: s.budgetMs === null ? null : round(s.budgetMs, 2),
      demandRps: round(s.demandRps, 4),
      replicas: plan.get(s.name)?.replicas ?? s.replicas,
      ownReplicas: s.ownReplicas,
      binding: plan.get(s.name)?.binding,
    })),
    equalSplit: g.equalSplit
      ? {
          budgetMs: round(g.equalSplit.budgetMs, 2),
          total: round(g.equalSplit.total, 6),
          predictedMs: round(g.equalSplit.predictedMs, 2),
          replicas: g.equalSplit.replicas,
        }
      : null,
  };
}

function verticalJson(v: VerticalAdvice): unknown {
  const res = (r: VerticalAdvice['cpu'], f: (x: number) => string): unknown =>
    r && {
      request: f(r.request),
      limit: f(r.limit),
      lowerBound: f(r.lowerBound),
      upperBound: f(r.upperBound),
      samples: r.samples,
    };
  return {
    ...(v.cpu ? { cpu: res(v.cpu, (x) => formatCpu(Math.ceil(x))) } : {}),
    ...(v.memory ? { memory: res(v.memory, formatMemory) } : {}),
    historyDays: round(v.historyDays, 3),
    notes: v.notes,
  };
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

/** The human table, then one explanation block per service. */
export function planText(out: PlanOutput): string {
  const head = ['service', 'replicas', 'needed', 'binding', 'feasible', 'utilization', 'latency', 'demand'];
  const rows: string[][] = [];
  for (const s of out.services) {
    rows.push([
      s.name,
      String(s.replicas),
      String(s.needed),
      s.binding,
      s.feasible ? 'yes' : 'NO',
      // No instance for a positive demand: JSON says null, the table says so in words, not "Infinity %".
      Number.isFinite(s.predicted.utilization) ? `${fmt(s.predicted.utilization * 100)} %` : 'no instance',
      s.predicted.latencyMs === null ? 'overloaded' : `p${s.predicted.percentile} ${fmt(s.predicted.latencyMs)} ms`,
      `${fmt(s.demandRps, 4)} rps`,
    ]);
  }
  const lines = [renderTable(head, rows), ''];
  for (const s of out.services) {
    lines.push(`${s.name}: ${s.replicas} instance${s.replicas === 1 ? '' : 's'} (binding: ${s.binding})`);
    for (const d of s.details) {
      const mark = d.name === s.binding ? '*' : ' ';
      lines.push(
        `  ${mark} ${d.name.padEnd(12)} ${d.bound === 'lower' ? '≥' : '≤'} ${String(d.replicas).padStart(6)}  ${d.detail}`,
      );
    }
    if (s.vertical) {
      const v = s.vertical;
      if (v.cpu) {
        lines.push(
          `    vertical cpu    request ${formatCpu(Math.ceil(v.cpu.request))}, limit ${formatCpu(Math.ceil(v.cpu.limit))} (p50 ${formatCpu(Math.ceil(v.cpu.lowerBound))}, ${count(v.cpu.samples, 'sample')})`,
        );
      }
      if (v.memory) {
        lines.push(
          `    vertical memory request ${formatMemory(v.memory.request)}, limit ${formatMemory(v.memory.limit)} (${count(v.memory.samples, 'daily peak')})`,
        );
      }
      for (const n of v.notes) lines.push(`    note: ${n}`);
    }
    if (s.cost) {
      const c = s.cost;
      lines.push(
        `    cost            ${formatMoney(c.perMonth, c.currency)}/month = ${s.replicas} × ${fmt(c.perInstanceHour, 4)} ${c.currency} per instance-hour × ${HOURS_PER_MONTH} h`,
      );
    }
    for (const w of s.warnings) lines.push(`    warning: ${w}`);
    lines.push('');
  }
  if (out.cost) {
    const n = out.cost.services;
    const all = n === out.services.length;
    lines.push(
      `total cost: ${formatMoney(out.cost.perMonth, out.cost.currency)}/month (${HOURS_PER_MONTH} h) for ${all ? (n === 1 ? 'the service' : `all ${n} services`) : `the ${n} priced service${n === 1 ? '' : 's'} of ${out.services.length}`} at ${n === 1 ? 'its planned count' : 'their planned counts'}`,
      '',
    );
  }
  if (out.graph) lines.push(...graphText(out), '');
  return lines.join('\n');
}

/** The graph section: each member's demand, budget, count and binding; the prediction; the equal split. */
function graphText(out: PlanOutput): string[] {
  const g = out.graph as GraphPlan;
  const plan = new Map(out.services.map((s) => [s.name, s]));
  const p = `p${g.slo.percentile}`;
  const rows = [...g.services].reverse().map((s) => {
    const sp = plan.get(s.name);
    return [
      s.name,
      `${fmt(s.demandRps, 4)} rps`,
      s.budgetMs === null ? 'overloaded' : `${p} ${fmt(s.budgetMs)} ms`,
      String(sp?.replicas ?? s.replicas),
      sp?.binding ?? '',
    ];
  });
  const unit = g.objective === 'instances' ? 'instances' : g.objective === 'cpu' ? 'CPU cores' : 'per hour';
  const lines = [
    `call graph from ${g.entry}: end-to-end ${p} ≤ ${fmt(g.slo.latencyMs)} ms, predicted ${g.predictedMs === null ? `> ${fmt(2 * g.slo.latencyMs)}` : fmt(g.predictedMs)} ms (${g.feasible ? 'meets it' : 'NOT met'})`,
    renderTable(['service', 'demand', 'budget (queue + own work)', 'replicas', 'binding'], rows),
  ];
  if (g.binding) lines.push(`  infeasible: ${g.binding.detail}`);
  const total = `${fmt(g.total, 6)} ${unit}`;
  const eq = g.equalSplit;
  lines.push(
    eq
      ? `total ${total}; an equal split (every service ${p} ≤ ${fmt(eq.budgetMs)} ms) would need ${fmt(eq.total, 6)} ${unit}${eq.total > g.total ? ` (${fmt((1 - g.total / eq.total) * 100)} % saved)` : ''}`
      : `total ${total}; no equal split (one ${p} target for every service) meets the SLO within replicas.max`,
    `budgets are each service's own response time at ${p}; they need not add up to the SLO (docs/graph.md)`,
  );
  return lines;
}

interface PlanFlags {
  json?: boolean;
  demand?: string;
  now?: string;
  failInfeasible?: boolean;
  html?: string;
}

/** `--html FILE`: the graph as the dashboard draws it, with each member's count and binding from the plan. */
function writeGraphHtml(file: string, spec: LoadedSpec, out: PlanOutput): void {
  const g = out.graph;
  if (!g) {
    throw new HeadroomError({
      code: 'HR_USAGE',
      path: '--html',
      value: file,
      message: '--html draws a call graph: the spec has none (no service has `slo.scope: endToEnd`)',
    });
  }
  const planned = new Map(out.services.map((s) => [s.name, s]));
  const pick = <T>(f: (s: PlanOutput['services'][number]) => T): Record<string, T> =>
    Object.fromEntries(g.services.flatMap((s) => (planned.has(s.name) ? [[s.name, f(planned.get(s.name)!)]] : [])));
  const view = graphView(spec.services, g, { replicas: pick((s) => s.replicas), binding: pick((s) => s.binding) });
  try {
    writeFileSync(file, renderGraphReport([view], `Call graph from ${g.entry}`));
  } catch (err) {
    throw new HeadroomError({
      code: 'HR_USAGE',
      path: '--html',
      value: file,
      message: `cannot write the HTML file: ${(err as Error).message}`,
    });
  }
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('size each service in a spec file and explain which constraint binds')
    .argument('<file>', 'spec file (YAML or JSON) with `services:` and optional `cluster:`; - reads stdin')
    .option('--json', 'print JSON instead of a table')
    .option('--fail-infeasible', 'exit 3 when any service is not feasible (for CI checks)')
    .option('--demand <rps>', 'size every service for this demand instead of demand.rps (what-if)')
    .option('--now <seconds>', 'unix time the vertical advice is computed at (default: now)')
    .option('--html <file>', 'also write the call graph as a picture, one self-contained HTML file (docs/graph.md)')
    .action((file: string, opts: PlanFlags) => {
      // The same cap as the spec's demand.rps: a what-if cannot ask for more than a spec could.
      const demand = parseNumberFlag('--demand', opts.demand, { min: 0, max: 1e9, unit: 'rps' });
      const now = parseNumberFlag('--now', opts.now, { min: 0, max: 1e10, unit: 'unix seconds' }) ?? Date.now() / 1000;
      const spec = file === '-' ? loadSpecStdin() : loadSpecFile(file);
      const out = planSpec(spec, now, demand);
      if (opts.html !== undefined) writeGraphHtml(opts.html, spec, out);
      process.stdout.write(opts.json ? `${JSON.stringify(planJson(out), null, 2)}\n` : `${planText(out)}`);
      if (opts.failInfeasible && out.services.some((s) => !s.feasible)) process.exitCode = 3;
    });
}
