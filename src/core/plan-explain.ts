// The text of a plan: each constraint's detail and the plan's warnings, rendered on first read
// (PlanResult). plan.ts computes the counts; this module explains them.
import { survivors } from './availability.ts';
import type { ServiceModel } from './model.ts';
import {
  minInstancesForSlo,
  queueLabel,
  serviceTimeFloorMs,
  sloAttainment,
  type PoolShape,
  type SloSearch,
} from './pool.ts';
import type { ConstraintName, ConstraintResult, EndToEndBudget, PlanContext, ServicePlan } from './plan.ts';

/** `digits` significant digits, no trailing zeros: 25.714 → "25.7", 1800 → "1800". Cheap: no toPrecision. */
export function fmt(x: number, digits = 3): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  const k = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  const m = 10 ** k;
  return String(Math.round(x * m) / m);
}
/**
 * A limit as "≤ x": 4 significant digits rounded down, never shown looser than the limit sized for
 * (a 148.5-ms budget read "p99 ≤ 149 ms" at fmt's 3 digits).
 */
export function fmtLimit(x: number): string {
  if (Number.isInteger(x) || !Number.isFinite(x) || x <= 0) return String(x);
  const m = 10 ** Math.max(0, 3 - Math.floor(Math.log10(x)));
  return String(Math.floor(x * m + 1e-9) / m);
}

/** "1 instance", "3 instances": a count and its noun (the reasons are read as sentences). */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** A percentile as written: 99.99999 stays p99.99999 (at 6 digits it read p100, which no SLO can be). */
export const pct = (p: number): string => `p${fmt(p, 10)}`;

/** What the explanations need: kept per plan instead of one closure per line (see PlanResult). */
export interface Why {
  model: ServiceModel;
  shape: PoolShape;
  lambda: number;
  perInstance: number;
  /** The SLO search (when the model has an SLO). */
  search: SloSearch | undefined;
  /** The search for the end-to-end budget (ctx.budget). */
  budget: { slo: EndToEndBudget; search: SloSearch } | undefined;
  availability: { count: number; base: number } | undefined;
  fit: PlanContext['fit'];
  /** The capacity came from a loadtest profile (not the spec, nor learned live). */
  fromProfile: boolean;
  measured: ServiceModel['instance']['profile'];
}

// Explanations are rendered on first read: sizing 10,000 services computes counts; only the plans
// someone prints or serializes pay for their text. A plan keeps one `Why` record for that, not a
// closure per line: closures and their contexts were ~20 objects per plan, which the garbage
// collector then copied and swept (41 % of bench/plan.ts; docs/benchmarks.md has the numbers).
export class PlanResult implements ServicePlan {
  readonly name: string;
  readonly replicas: number;
  readonly needed: number;
  readonly binding: ConstraintName;
  readonly feasible: boolean;
  readonly constraints: Partial<Record<ConstraintName, number>>;
  readonly predicted: ServicePlan['predicted'];
  readonly #why: Why;
  #details: ConstraintResult[] | undefined;
  #warnings: string[] | undefined;
  constructor(
    why: Why,
    replicas: number,
    needed: number,
    binding: ConstraintName,
    feasible: boolean,
    constraints: Partial<Record<ConstraintName, number>>,
    predicted: ServicePlan['predicted'],
  ) {
    this.name = why.model.name;
    this.replicas = replicas;
    this.needed = needed;
    this.binding = binding;
    this.feasible = feasible;
    this.constraints = constraints;
    this.predicted = predicted;
    this.#why = why;
  }
  get details(): ConstraintResult[] {
    if (this.#details) return this.#details;
    const c = this.constraints;
    const list: ConstraintResult[] = [];
    for (const name of DETAIL_ORDER) {
      const n = c[name];
      if (n !== undefined) list.push(new LazyConstraint(name, UPPER.has(name) ? 'upper' : 'lower', n, this.#why));
    }
    return (this.#details = list);
  }
  get warnings(): string[] {
    return (this.#warnings ??= planWarnings(this, this.#why));
  }
  /** JSON and object spread see only own fields: the rendered text is added here (and by copiers). */
  toJSON(): ServicePlan {
    return { ...this, details: this.details, warnings: this.warnings };
  }
}

/** The order constraints are listed in (and the upper bounds: ties go to the first). */
const DETAIL_ORDER: readonly ConstraintName[] = [
  'utilization',
  'latency',
  'endToEnd',
  'availability',
  'minReplicas',
  'capacity',
  'maxReplicas',
];
const UPPER: ReadonlySet<ConstraintName> = new Set(['capacity', 'maxReplicas']);

class LazyConstraint implements ConstraintResult {
  #text: string | undefined;
  readonly name: ConstraintName;
  readonly bound: 'lower' | 'upper';
  readonly replicas: number;
  readonly #why: Why;
  constructor(name: ConstraintName, bound: 'lower' | 'upper', replicas: number, why: Why) {
    this.name = name;
    this.bound = bound;
    this.replicas = replicas;
    this.#why = why;
  }
  get detail(): string {
    return (this.#text ??= constraintDetail(this.name, this.replicas, this.#why));
  }
  toJSON(): { name: ConstraintName; bound: 'lower' | 'upper'; replicas: number; detail: string } {
    return { name: this.name, bound: this.bound, replicas: this.replicas, detail: this.detail };
  }
}

function constraintDetail(name: ConstraintName, n: number, w: Why): string {
  switch (name) {
    case 'utilization': {
      const u = w.model.targetUtilization;
      return `${fmt(w.lambda, 4)} rps ÷ (${fmt(w.perInstance, 4)} rps per instance × ${fmt(u)}) = ${fmt(w.lambda / (w.perInstance * u), 4)} → ${n}`;
    }
    case 'latency':
      return w.model.slo && w.search ? latencyDetail(w.shape, w.model.slo, w.search) : '';
    case 'endToEnd': {
      if (!w.budget) return '';
      const b = w.budget.slo;
      return `share of ${b.entry}'s end-to-end ${pct(b.endToEnd.percentile)} ≤ ${fmt(b.endToEnd.latencyMs)} ms (queue + own work): ${latencyDetail(w.shape, b, w.budget.search)}`;
    }
    case 'availability':
      return w.availability ? availabilityDetail(n, w.availability.base, w.model.availability) : '';
    case 'minReplicas':
      return `replicas.min = ${n}`;
    case 'capacity':
      return w.fit?.detail ?? '';
    case 'maxReplicas':
      return `replicas.max = ${n}`;
  }
}

/** Everything worth a person's attention about one plan, in a stable order. */
function planWarnings(plan: PlanResult, w: Why): string[] {
  const out: string[] = [];
  const { model, shape, lambda, search, measured, fromProfile } = w;
  if (measured?.kneeIsLowerBound) {
    const knee = measured.kneeRps;
    out.push(
      measured.partial
        ? `the knee ${fmt(knee, 6)} rps is a lower bound: the load test stopped early, before any rate broke the SLO; rerun it to completion (the fitted capacity is extrapolated from latencies that never rose)`
        : `the knee ${fmt(knee, 6)} rps is a lower bound: the load test hit --max-rps; rerun with a higher ceiling (the fitted capacity is extrapolated from latencies that never rose)`,
    );
  }
  const slo = model.slo;
  if (measured && slo && (measured.slo.latencyMs !== slo.latencyMs || measured.slo.percentile !== slo.percentile)) {
    const was = measured.slo;
    out.push(
      `the profile was measured for ${pct(was.percentile)} ≤ ${fmt(was.latencyMs)} ms; this spec's SLO is ${pct(slo.percentile)} ≤ ${fmt(slo.latencyMs)} ms: the knee does not apply, the fitted service time does`,
    );
  }
  if (slo && search?.ok) {
    const floorMs = serviceTimeFloorMs(shape, slo.percentile);
    if (slo.latencyMs < 1.25 * floorMs) {
      out.push(
        `the SLO ${pct(slo.percentile)} ≤ ${fmt(slo.latencyMs)} ms is within ${fmt(slo.latencyMs / floorMs)}× of the ${fmt(floorMs)} ms the service time alone takes at that percentile: small service-time increases need many more instances`,
      );
    }
    if (shape.loadBalancing === 'random' && lambda > 0) {
      const lr = minInstancesForSlo({ ...shape, loadBalancing: 'leastRequests' }, slo);
      if (lr.ok && lr.instances < search.instances) {
        out.push(
          `random load balancing needs ${count(search.instances, 'instance')} for the SLO; leastRequests would need ${lr.instances}`,
        );
      }
    } else if (model.loadBalancingAssumed && lambda > 0) {
      // The default is the optimistic one: say what it takes if requests are spread at random.
      const rnd = minInstancesForSlo({ ...shape, loadBalancing: 'random' }, slo);
      if (rnd.ok && rnd.instances > search.instances) {
        out.push(
          `load balancing not given: leastRequests (one queue for every instance's slots, as behind a balancer that holds requests for a free slot) needs ${count(search.instances, 'instance')} for the SLO; behind a kube-proxy Service (random) it would need ${rnd.instances}: set service.loadBalancing`,
        );
      }
    }
    if (shape.serviceTime === undefined) {
      out.push(
        fromProfile
          ? `service times assumed exponential (CV 1): the profile has no service-time distribution (written before it had one, or its probe was too short or unstable); rerun \`headroom loadtest\` with --probe-requests ≥ 200, or set instance.serviceTimeCv (a steady service needs fewer instances, a heavy-tailed one more)`
          : `service times assumed exponential (CV 1): set instance.serviceTimeCv or serviceTimeQuantilesMs, or use a \`headroom loadtest\` profile (a steady service needs fewer instances, a heavy-tailed one more)`,
      );
    }
  } else if (slo && search && !search.ok) {
    out.push(
      search.reason === 'unreachable'
        ? `SLO unreachable: the service time alone takes ${fmt(search.minLatencyMs)} ms at ${pct(slo.percentile)}, above ${fmt(slo.latencyMs)} ms; no instance count meets it`
        : `the SLO needs more than ${count(search.limit, 'instance')} (the most the latency search tries): the latency count is left out, the others stand`,
    );
  }
  const { replicas, needed } = plan;
  if (replicas < needed) {
    const capped = plan.binding;
    const upper = plan.details.find((d) => d.name === capped);
    out.push(
      `${capped === 'capacity' ? 'the cluster fits only' : 'replicas.max caps the count at'} ${replicas}, below the ${needed} needed${upper ? ` (${upper.detail})` : ''}`,
    );
  }
  const utilization = plan.predicted.utilization;
  if (utilization >= 1) {
    out.push(
      replicas === 0
        ? `overloaded: no instance to serve ${fmt(lambda)} rps`
        : `overloaded: ${count(replicas, 'instance')} at ${fmt(lambda)} rps would be ${fmt(utilization * 100)} % busy`,
    );
  }
  const cpuCores = model.instance.cpuMillis !== undefined ? model.instance.cpuMillis / 1000 : undefined;
  if (cpuCores !== undefined && shape.concurrency > Math.max(1, Math.ceil(cpuCores))) {
    out.push(
      fromProfile
        ? `concurrency ${shape.concurrency} on ${fmt(cpuCores)} CPU: if requests are CPU-bound an instance serves fewer at once than modelled; check that the load test ran the instance with the same CPU (${fmt(cpuCores)})`
        : `concurrency ${shape.concurrency} on ${fmt(cpuCores)} CPU: if requests are CPU-bound an instance serves fewer at once than modelled; measure it with \`headroom loadtest\``,
    );
  }
  return out;
}

function availabilityDetail(count: number, base: number, av: ServiceModel['availability']): string {
  const z = Math.max(1, av.zones);
  const q = Math.floor(count / z);
  const r = count % z;
  const spread = z > 1 ? ` spread ${Array.from({ length: z }, (_, i) => q + (i < r ? 1 : 0)).join('/')}` : '';
  const lose = [
    av.zoneFailures > 0 ? `${av.zoneFailures} zone${av.zoneFailures > 1 ? 's' : ''}` : '',
    av.instanceFailures > 0 ? `${av.instanceFailures} instance${av.instanceFailures > 1 ? 's' : ''}` : '',
  ]
    .filter(Boolean)
    .join(' then ');
  return `${count}${spread} keeps ${survivors(count, z, av.zoneFailures, av.instanceFailures)} ≥ ${base} after losing ${lose || 'nothing'}`;
}

function latencyDetail(shape: PoolShape, slo: { latencyMs: number; percentile: number }, search: SloSearch): string {
  if (!search.ok) return '';
  const n = search.instances;
  if (shape.demandRps <= 0) return `${pct(slo.percentile)} ≤ ${fmtLimit(slo.latencyMs)} ms: no demand → 0`;
  const queue = queueLabel(shape);
  const below = search.attainmentBelow ?? sloAttainment(shape, n - 1, slo.latencyMs);
  // Enough decimals to tell the attainment from the target: p99.9 → 99.87 % vs 99.91 %; and more
  // when one instance fewer misses it by less (98.997 % must not print as 99.00 %).
  let decimals = Math.max(2, (String(slo.percentile).split('.')[1] ?? '').length + 2);
  while (decimals < 8 && n > 1 && Number((below * 100).toFixed(decimals)) >= slo.percentile) decimals++;
  // Never certainty that is not: 1 − e^−10 is 99.995 %, not 100.00 %.
  const pc = (x: number): string => {
    let d = decimals;
    while (d < 8 && x < 1 && Number((x * 100).toFixed(d)) >= 100) d++;
    return x < 1 && Number((x * 100).toFixed(d)) >= 100
      ? `> ${(100 - 10 ** -d).toFixed(d)} %`
      : `${(x * 100).toFixed(d)} %`;
  };
  const before = n > 1 ? `${n - 1} give ${pc(below)}, ` : '';
  return `${pct(slo.percentile)} ≤ ${fmtLimit(slo.latencyMs)} ms, ${shape.loadBalancing} as ${queue}: P(T ≤ ${fmtLimit(slo.latencyMs)} ms) with ${before}${n} give ${pc(search.attainment)} ≥ ${slo.percentile} % → ${n}`;
}
