// Sizing: each constraint gives its own instance count; the largest lower bound wins, then the upper
// bounds cap it. The result names the binding constraint and explains every count with its numbers.
//
// Worked example (examples/plan.yaml, `checkout`): 900 rps, 20 ms, concurrency 1, leastRequests,
// p99 ≤ 100 ms, target utilization 0.7, min 2, 3 zones surviving 1 zone:
//   utilization  900 ÷ (50 rps × 0.7) = 25.7 → 26
//   latency      M/M/(N·1): 20 instances give P(T ≤ 100 ms) = 98.96 %, 21 give 99.19 % → 21
//   availability 39 spread 13/13/13 keeps 26 after losing a zone → 39
//   → needed 39, binding availability.
import { fitPerZone, maxEvenSpread, place, type ClusterModel } from './cluster.ts';
import type { ServiceModel, ServiceTimeModel } from './model.ts';
import {
  instanceCapacityRps,
  minInstancesForSlo,
  poolPrediction,
  queueLabel,
  serviceTimeFloorMs,
  sloAttainment,
  type LatencySlo,
  type PoolShape,
  type SloSearch,
} from './pool.ts';

export type ConstraintName =
  'latency' | 'endToEnd' | 'utilization' | 'availability' | 'minReplicas' | 'capacity' | 'maxReplicas';

/**
 * Tie-break order among lower bounds: demand-driven constraints explain a count best; a call graph's
 * share of an end-to-end SLO binds only when it asks for more than the service's own constraints.
 */
const LOWER_ORDER: readonly ConstraintName[] = ['latency', 'utilization', 'availability', 'minReplicas', 'endToEnd'];

export interface ConstraintResult {
  name: ConstraintName;
  bound: 'lower' | 'upper';
  /** The count this constraint asks for (lower) or allows (upper). */
  replicas: number;
  /** One line with the numbers behind the count (rendered on first read). */
  readonly detail: string;
}

export interface ServicePlan {
  name: string;
  /** What to apply: `needed` capped by the upper bounds. */
  replicas: number;
  /** The largest lower bound, before upper bounds. */
  needed: number;
  binding: ConstraintName;
  /** needed fits the cluster/host and is within replicas.max, and the SLO is reachable. */
  feasible: boolean;
  constraints: Partial<Record<ConstraintName, number>>;
  details: ConstraintResult[];
  predicted: {
    utilization: number;
    /** Response time at the SLO percentile (p99 without an SLO); null when overloaded. */
    latencyMs: number | null;
    percentile: number;
    /** P(response time ≤ SLO latency); null without an SLO. */
    attainment: number | null;
  };
  /** Rendered on first read. */
  readonly warnings: string[];
}

export interface PlanContext {
  /** Demand to size for, overriding model.demandRps (live modes, forecasts, what-if). */
  demandRps?: number;
  /** Per-instance capacity overriding the model's (learned from observation). */
  capacity?: { serviceTimeMs: number; concurrency: number; serviceTime?: ServiceTimeModel };
  /** Upper bound from what the cluster or host can fit, with its explanation. */
  fit?: { replicas: number; detail: string };
  /**
   * This service's share of a call graph's end-to-end SLO (src/core/graph.ts): its own response time
   * (queue + work, not its calls) at the entry's percentile must stay within latencyMs.
   */
  budget?: EndToEndBudget;
}

export interface EndToEndBudget extends LatencySlo {
  /** The entry service whose end-to-end SLO this is a share of, and that SLO. */
  entry: string;
  endToEnd: LatencySlo;
}

export function poolShape(model: ServiceModel, ctx: PlanContext = {}): PoolShape {
  const serviceTimeMs = ctx.capacity?.serviceTimeMs ?? model.instance.serviceTimeMs;
  return {
    demandRps: ctx.demandRps ?? model.demandRps,
    serviceTimeMs,
    concurrency: ctx.capacity?.concurrency ?? model.instance.concurrency,
    loadBalancing: model.loadBalancing,
    serviceTime:
      ctx.capacity?.serviceTime ?? scaled(model.instance.serviceTime, serviceTimeMs / model.instance.serviceTimeMs),
  };
}

/** The spec's shape at another mean (calibrated or learned capacity): its quantiles scale with it. */
function scaled(st: ServiceTimeModel | undefined, k: number): ServiceTimeModel | undefined {
  if (!st?.quantilesMs || Math.abs(k - 1) < 1e-12) return st;
  const q = st.quantilesMs;
  return { ...st, quantilesMs: { p50: q.p50 * k, p90: q.p90 * k, p99: q.p99 * k, p999: q.p999 * k } };
}

/** ceil that ignores floating-point dust: 900 / (50 × 0.72) = 25.000000000000004 → 25. */
function ceilClean(x: number): number {
  return Math.ceil(x - 1e-9);
}

/** `digits` significant digits, no trailing zeros: 25.714 → "25.7", 1800 → "1800". Cheap: no toPrecision. */
function fmt(x: number, digits = 3): string {
  if (Number.isInteger(x) || !Number.isFinite(x)) return String(x);
  const k = Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  const m = 10 ** k;
  return String(Math.round(x * m) / m);
}
const pct = (p: number): string => `p${fmt(p, 6)}`;

/** Instances surviving the loss of the f fullest zones and then k more instances. */
export function survivors(n: number, zones: number, zoneFailures: number, instanceFailures: number): number {
  const q = Math.floor(n / zones);
  const r = n % zones;
  const lost = Math.min(zoneFailures, r) * (q + 1) + Math.max(0, zoneFailures - r) * q;
  return n - lost - instanceFailures;
}

/** Smallest N ≥ base whose survivors still cover base (survivors is non-decreasing in N). */
export function availabilityCount(base: number, zones: number, zoneFailures: number, instanceFailures: number): number {
  if (base <= 0 && instanceFailures === 0) return base;
  const z = Math.max(1, zones);
  let lo = base;
  let hi = Math.max(base, 1);
  while (survivors(hi, z, zoneFailures, instanceFailures) < base) hi *= 2;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (survivors(mid, z, zoneFailures, instanceFailures) >= base) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** What the explanations need: kept per plan instead of one closure per line (see PlanResult). */
interface Why {
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
class PlanResult implements ServicePlan {
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
          `random load balancing needs ${search.instances} instances for the SLO; leastRequests would need ${lr.instances}`,
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
        : `SLO not met within ${search.limit} instances`,
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
    out.push(`overloaded: ${replicas} instances at ${fmt(lambda)} rps would be ${fmt(utilization * 100)} % busy`);
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

export function planService(model: ServiceModel, ctx: PlanContext = {}): ServicePlan {
  const shape = poolShape(model, ctx);
  const lambda = shape.demandRps;
  const perInstance = instanceCapacityRps(shape);
  const constraints: Partial<Record<ConstraintName, number>> = {};

  // Utilization: demand ÷ (capacity per instance × target).
  const u = model.targetUtilization;
  const utilCount = lambda > 0 ? ceilClean(lambda / (perInstance * u)) : 0;
  constraints.utilization = utilCount;

  // Latency SLO through the queueing model.
  let latencyCount = 0;
  let search: SloSearch | undefined;
  if (model.slo) {
    search = minInstancesForSlo(shape, model.slo);
    if (search.ok) {
      latencyCount = search.instances;
      constraints.latency = latencyCount;
    }
  }

  let budget: Why['budget'];
  let budgetCount = 0;
  if (ctx.budget) {
    budget = { slo: ctx.budget, search: minInstancesForSlo(shape, ctx.budget) };
    if (budget.search.ok) {
      budgetCount = budget.search.instances;
      constraints.endToEnd = budgetCount;
    }
  }

  const base = Math.max(utilCount, latencyCount, budgetCount);
  const av = model.availability;
  let availability: Why['availability'];
  if (av.zones > 1 || av.zoneFailures > 0 || av.instanceFailures > 0) {
    const count = availabilityCount(base, av.zones, av.zoneFailures, av.instanceFailures);
    availability = { count, base };
    constraints.availability = count;
  }
  const { min, max } = model.replicas;
  constraints.minReplicas = min;
  const fit = ctx.fit;
  if (fit) constraints.capacity = fit.replicas;
  constraints.maxReplicas = max;

  // Largest lower bound (ties go to the earlier name in LOWER_ORDER), then the smallest upper bound.
  let needed = 0;
  let binding: ConstraintName = 'minReplicas';
  for (const name of LOWER_ORDER) {
    const c = constraints[name];
    if (c !== undefined && c > needed) {
      needed = c;
      binding = name;
    }
  }
  let replicas = needed;
  if (fit && fit.replicas < replicas) {
    replicas = fit.replicas;
    binding = 'capacity';
  }
  if (max < replicas) {
    replicas = max;
    binding = 'maxReplicas';
  }

  const sloReachable = (search === undefined || search.ok) && (budget === undefined || budget.search.ok);
  const feasible = (fit === undefined || needed <= fit.replicas) && needed <= max && sloReachable;
  const percentile = model.slo?.percentile ?? 99;
  const reuse = search?.ok === true && search.instances === replicas;
  const prediction = poolPrediction(shape, replicas, percentile, model.slo && !reuse ? model.slo.latencyMs : undefined);
  const latency = prediction.latencyMs;
  const utilization = replicas > 0 ? lambda / (replicas * perInstance) : lambda > 0 ? Infinity : 0;
  const measured = ctx.capacity === undefined ? model.instance.profile : undefined;
  const why: Why = {
    model,
    shape,
    lambda,
    perInstance,
    search,
    budget,
    availability,
    fit,
    fromProfile: ctx.capacity === undefined && model.instance.capacitySource === 'profile',
    measured,
  };
  return new PlanResult(why, replicas, needed, binding, feasible, constraints, {
    utilization,
    latencyMs: Number.isFinite(latency) ? latency : null,
    percentile,
    attainment: !model.slo
      ? null
      : search?.ok && search.instances === replicas
        ? search.attainment
        : prediction.attainment,
  });
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
  const queue = queueLabel(shape);
  // Enough decimals to tell the attainment from the target: p99.9 → 99.87 % vs 99.91 %.
  const decimals = Math.max(2, (String(slo.percentile).split('.')[1] ?? '').length + 2);
  const pc = (x: number): string => `${(x * 100).toFixed(decimals)} %`;
  const below = search.attainmentBelow ?? sloAttainment(shape, n - 1, slo.latencyMs);
  const before = n > 1 ? `${n - 1} give ${pc(below)}, ` : '';
  return `${pct(slo.percentile)} ≤ ${fmt(slo.latencyMs)} ms, ${shape.loadBalancing} as ${queue}: P(T ≤ ${fmt(slo.latencyMs)} ms) with ${before}${n} give ${pc(search.attainment)} ≥ ${slo.percentile} % → ${n}`;
}

export interface ClusterFit {
  replicas: number;
  detail: string;
}

/** What the free room of `nodes` can hold for one service, spread over its zones. */
export function clusterFit(
  nodes: ReadonlyArray<{ name: string; zone?: string; cpuMillis: number; memoryBytes: number }>,
  model: ServiceModel,
  perZone: Map<string, number>,
): ClusterFit {
  const zones = Math.max(1, model.availability.zones);
  const caps = [...perZone.values()];
  const total = caps.reduce((a, b) => a + b, 0);
  // Nodes without zone labels: the zone rule is not checked against the nodes.
  const labelled = [...perZone.keys()].some((z) => z !== '');
  if (zones <= 1 || !labelled)
    return { replicas: total, detail: `${nodes.length} node${nodes.length === 1 ? '' : 's'} fit ${total}` };
  const replicas = maxEvenSpread(caps, zones);
  const list = [...perZone.entries()].map(([z, c]) => `${z || '(no zone)'}: ${c}`).join(', ');
  return { replicas, detail: `${zones}-zone even spread fits ${replicas} (per zone ${list})` };
}

/**
 * Plans several services that share one cluster: each in turn (file order) is capped by what the
 * room left by the earlier ones can hold, then its instances are placed to consume that room.
 */
export function planServices(
  models: readonly ServiceModel[],
  cluster?: ClusterModel,
  ctxFor: (model: ServiceModel) => PlanContext = () => ({}),
): ServicePlan[] {
  const free = cluster?.nodes.map((n) => ({ ...n }));
  return models.map((model, i) => {
    const ctx = ctxFor(model);
    if (!free) return planService(model, ctx);
    const fit = clusterFit(free, model, fitPerZone(free, model.instance));
    if (i > 0) fit.detail += ' in the room left by the services above';
    const plan = planService(model, { ...ctx, fit: ctx.fit && ctx.fit.replicas < fit.replicas ? ctx.fit : fit });
    const labelled = free.some((n) => n.zone !== undefined);
    place(free, model.instance, plan.replicas, labelled ? Math.max(1, model.availability.zones) : 1);
    return plan;
  });
}

export { fmt as formatNumber };
